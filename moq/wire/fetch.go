package wire

// FetchType selects how a FETCH names its range (draft-14 §9.16, draft-16
// §9.16).
type FetchType uint64

// Fetch types.
const (
	FetchStandalone      FetchType = 0x1
	FetchRelativeJoining FetchType = 0x2
	FetchAbsoluteJoining FetchType = 0x3
)

// Fetch is FETCH (type 0x16; draft-14 §9.16, draft-16 §9.16).
//
// Draft-16 moved Subscriber Priority and Group Order into the
// SUBSCRIBER_PRIORITY and GROUP_ORDER parameters; its encoder always writes
// the priority and writes GROUP_ORDER unless GroupOrderPublisher, and its
// parser fills in priority 128 and GroupOrderPublisher (which draft-16 reads
// as ascending) when they are absent.
type Fetch struct {
	RequestID          uint64
	SubscriberPriority uint8
	GroupOrder         GroupOrder
	Type               FetchType
	// Namespace, TrackName, Start and End describe a standalone fetch. End
	// is as on the wire: the end Location plus one object, where Object 0
	// asks for the whole End.Group.
	Namespace Namespace
	TrackName string
	Start     Location
	End       Location
	// JoiningRequestID and JoiningStart describe a joining fetch: the
	// subscription to join and the start group (relative: groups before the
	// subscription's largest; absolute: a Group ID).
	JoiningRequestID uint64
	JoiningStart     uint64
	Params           Params
	// Draft14Layout is set by the draft-16 parser when the message came in
	// its draft-14 layout (Eyevinn v0.9.0 sends it so, see parseDraft14Layout);
	// answer such a peer with AppendControl(b, Draft14, response). Encoders
	// ignore it.
	Draft14Layout bool
}

func (m *Fetch) controlType(Version) (uint64, error) { return typeFetch, nil }

func (m *Fetch) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	if v == Draft14 {
		e.u8(m.SubscriberPriority)
		e.groupOrder(m.GroupOrder, true)
	}
	e.varint(uint64(m.Type))
	switch m.Type {
	case FetchStandalone:
		e.namespace(m.Namespace, v, trackNamespace)
		e.trackName(m.TrackName, m.Namespace)
		e.location(m.Start)
		e.location(m.End)
	case FetchRelativeJoining, FetchAbsoluteJoining:
		e.varint(m.JoiningRequestID)
		e.varint(m.JoiningStart)
	default:
		e.fail("fetch type %d", m.Type)
	}
	if v == Draft14 {
		e.params(m.Params.appendTo(nil, v, false), v)
		return
	}
	kvs := []KeyValue{{Type: paramSubscriberPriority, Value: uint64(m.SubscriberPriority)}}
	if m.GroupOrder != GroupOrderPublisher {
		if m.GroupOrder > GroupOrderDescending {
			e.fail("group order %d", m.GroupOrder)
		}
		kvs = append(kvs, KeyValue{Type: paramGroupOrder, Value: uint64(m.GroupOrder)})
	}
	e.params(m.Params.appendTo(kvs, v, false), v)
}

func (m *Fetch) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	if v == Draft14 {
		m.SubscriberPriority = d.u8()
		m.GroupOrder = d.groupOrder(true)
	}
	m.Type = FetchType(d.varint())
	switch m.Type {
	case FetchStandalone:
		m.Namespace = d.namespace(v, trackNamespace)
		m.TrackName = d.trackName(m.Namespace)
		m.Start = d.location()
		m.End = d.location()
	case FetchRelativeJoining, FetchAbsoluteJoining:
		m.JoiningRequestID = d.varint()
		m.JoiningStart = d.varint()
	default:
		d.violation("fetch type %d", m.Type)
		return
	}
	if v == Draft14 {
		d.params(v, func(kv KeyValue) { m.Params.take(d, v, kv) })
		return
	}
	m.SubscriberPriority = DefaultSubscriberPriority
	d.params(v, func(kv KeyValue) {
		switch kv.Type {
		case paramSubscriberPriority:
			m.SubscriberPriority = d.priorityValue(kv.Value)
		case paramGroupOrder:
			m.GroupOrder = d.groupOrderValue(kv.Value)
		default:
			m.Params.take(d, v, kv)
		}
	})
}

// FetchOK is FETCH_OK (type 0x18; draft-14 §9.17, draft-16 §9.17).
type FetchOK struct {
	RequestID uint64
	// GroupOrder is the draft-14 Group Order (1 or 2); draft-16 FETCH_OK
	// has none (the FETCH's order applies) and ignores it.
	GroupOrder GroupOrder
	EndOfTrack bool
	// End is the End Location as on the wire (see draft-14 §9.17).
	End    Location
	Params Params
	// Extensions are the draft-16 Track Extensions other than
	// DELIVERY_TIMEOUT and MAX_CACHE_DURATION, which map to Params; draft-14
	// ignores them.
	Extensions []KeyValue
	// Draft14Layout is set by the draft-16 parser when the message came in
	// its draft-14 layout (Eyevinn v0.9.0 sends it so, see parseDraft14Layout);
	// answer such a peer with AppendControl(b, Draft14, response). Encoders
	// ignore it.
	Draft14Layout bool
}

func (m *FetchOK) controlType(Version) (uint64, error) { return typeFetchOK, nil }

func (m *FetchOK) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	if v == Draft14 {
		e.groupOrder(m.GroupOrder, false)
	}
	e.bool8(m.EndOfTrack)
	e.location(m.End)
	if v == Draft14 {
		e.params(m.Params.appendTo(nil, v, false), v)
		return
	}
	e.params(m.Params.appendTo(nil, v, true), v)
	e.keyValues(trackExtensions(GroupOrderPublisher, &m.Params, m.Extensions), v)
}

func (m *FetchOK) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	if v == Draft14 {
		m.GroupOrder = d.groupOrder(false)
	}
	m.EndOfTrack = d.bool8("end of track")
	m.End = d.location()
	d.params(v, func(kv KeyValue) { m.Params.take(d, v, kv) })
	if v == Draft16 {
		m.Extensions = d.trackExtensions(nil, &m.Params)
	}
}

// FetchCancel is FETCH_CANCEL (type 0x17; draft-14 §9.19, draft-16 §9.18).
type FetchCancel struct {
	RequestID uint64
}

func (m *FetchCancel) controlType(Version) (uint64, error) { return typeFetchCancel, nil }
func (m *FetchCancel) encode(e *encoder, _ Version)        { e.varint(m.RequestID) }
func (m *FetchCancel) decode(d *decoder, _ Version, _ uint64) {
	m.RequestID = d.varint()
}
