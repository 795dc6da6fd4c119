package wire

// TrackStatus is TRACK_STATUS (type 0x0D; draft-14 §9.20, draft-16 §9.19): a
// SUBSCRIBE that creates no subscription, answered by RequestOK or
// RequestError of KindTrackStatus.
//
// Draft-14 gives it the SUBSCRIBE layout. Draft-16 keeps only the namespace,
// name and parameters and says delivery parameters are not included: its
// encoder ignores SubscriberPriority, GroupOrder, Forward and Filter, and its
// parser leaves them zero: such parameters, if a peer sends them, land in
// Params.Unknown, and a draft-14-layout TRACK_STATUS on a draft-16 session
// (Eyevinn v0.9.0) has these fields dropped.
type TrackStatus struct {
	RequestID          uint64
	Namespace          Namespace
	TrackName          string
	SubscriberPriority uint8
	GroupOrder         GroupOrder
	Forward            bool
	Filter             Filter
	Params             Params
	// Draft14Layout is set by the draft-16 parser when the message came in
	// its draft-14 layout (Eyevinn v0.9.0 sends it so, see parseDraft14Layout);
	// answer such a peer with AppendControl(b, Draft14, response). Encoders
	// ignore it.
	Draft14Layout bool
}

func (m *TrackStatus) controlType(Version) (uint64, error) { return typeTrackStatus, nil }

func (m *TrackStatus) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	e.namespace(m.Namespace, v, trackNamespace)
	e.trackName(m.TrackName, m.Namespace)
	if v == Draft14 {
		e.delivery14(m.SubscriberPriority, m.GroupOrder, m.Forward, m.Filter)
	}
	e.params(m.Params.appendTo(nil, v, false), v)
}

func (m *TrackStatus) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	m.Namespace = d.namespace(v, trackNamespace)
	m.TrackName = d.trackName(m.Namespace)
	if v == Draft14 {
		m.SubscriberPriority, m.GroupOrder, m.Forward, m.Filter = d.delivery14()
	}
	d.params(v, func(kv KeyValue) { m.Params.take(d, v, kv) })
}
