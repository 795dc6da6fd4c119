package wire

// Publish is PUBLISH (type 0x1D; draft-14 §9.13, draft-16 §9.13): a
// publisher-initiated subscription.
//
// Draft-14 §9.13 shows "Length (i)" for PUBLISH, PUBLISH_OK and
// PUBLISH_ERROR, unlike every other message; that is an editorial slip (the
// control message framing of §9 is 16-bit for all messages, and draft-16
// fixed the figures), so AppendControl frames them like the rest.
type Publish struct {
	RequestID  uint64
	Namespace  Namespace
	TrackName  string
	TrackAlias uint64
	// GroupOrder is the delivery order: a draft-14 field (1 or 2), the
	// draft-16 DEFAULT_PUBLISHER_GROUP_ORDER track extension
	// (GroupOrderPublisher = absent).
	GroupOrder GroupOrder
	// Largest is the Largest Location: draft-14 Content Exists and Largest
	// Location, draft-16 LARGEST_OBJECT. Nil means no content yet.
	Largest *Location
	// Forward is the initial Forward State: a draft-14 field, the draft-16
	// FORWARD parameter (always written; true when absent).
	Forward bool
	// Expires is the draft-16 EXPIRES parameter in milliseconds (0 =
	// absent); draft-14 ignores it.
	Expires uint64
	Params  Params
	// Extensions are the draft-16 Track Extensions other than the mapped
	// ones; draft-14 ignores them.
	Extensions []KeyValue
	// Draft14Layout is set by the draft-16 parser when the message came in
	// its draft-14 layout (Eyevinn v0.9.0 sends it so, see parseDraft14Layout);
	// answer such a peer with AppendControl(b, Draft14, response). Encoders
	// ignore it.
	Draft14Layout bool
}

func (m *Publish) controlType(Version) (uint64, error) { return typePublish, nil }

func (m *Publish) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	e.namespace(m.Namespace, v, trackNamespace)
	e.trackName(m.TrackName, m.Namespace)
	e.varint(m.TrackAlias)
	if v == Draft14 {
		e.groupOrder(m.GroupOrder, false)
		e.bool8(m.Largest != nil)
		if m.Largest != nil {
			e.location(*m.Largest)
		}
		e.bool8(m.Forward)
		e.params(m.Params.appendTo(nil, v, false), v)
		return
	}
	kvs := []KeyValue{{Type: paramForward, Value: b2u(m.Forward)}}
	if m.Expires != 0 {
		kvs = append(kvs, KeyValue{Type: paramExpires, Value: m.Expires})
	}
	if m.Largest != nil {
		kvs = append(kvs, largestParam(*m.Largest))
	}
	e.params(m.Params.appendTo(kvs, v, true), v)
	if m.GroupOrder > GroupOrderDescending {
		e.fail("group order %d", m.GroupOrder)
	}
	e.keyValues(trackExtensions(m.GroupOrder, &m.Params, m.Extensions), v)
}

func (m *Publish) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	m.Namespace = d.namespace(v, trackNamespace)
	m.TrackName = d.trackName(m.Namespace)
	m.TrackAlias = d.varint()
	if v == Draft14 {
		m.GroupOrder = d.groupOrder(false)
		if d.bool8("content exists") {
			l := d.location()
			m.Largest = &l
		}
		m.Forward = d.bool8("forward")
		d.params(v, func(kv KeyValue) { m.Params.take(d, v, kv) })
		return
	}
	m.Forward = true
	d.params(v, func(kv KeyValue) {
		switch kv.Type {
		case paramForward:
			m.Forward = d.forwardValue(kv.Value)
		case paramExpires:
			m.Expires = kv.Value
		case paramLargestObject:
			m.Largest = d.largestValue(kv.Bytes)
		default:
			m.Params.take(d, v, kv)
		}
	})
	m.Extensions = d.trackExtensions(&m.GroupOrder, &m.Params)
}

// PublishOK is PUBLISH_OK (type 0x1E; draft-14 §9.14, draft-16 §9.14). The
// draft-16 codec maps the fields to parameters as Subscribe does.
type PublishOK struct {
	RequestID          uint64
	Forward            bool
	SubscriberPriority uint8
	// GroupOrder is 1 or 2 in draft-14; in draft-16 GroupOrderPublisher
	// means GROUP_ORDER is absent.
	GroupOrder GroupOrder
	Filter     Filter
	// Expires is the draft-16 EXPIRES parameter in milliseconds (0 =
	// absent); draft-14 ignores it.
	Expires uint64
	Params  Params
	// Draft14Layout is set by the draft-16 parser when the message came in
	// its draft-14 layout (Eyevinn v0.9.0 sends it so, see parseDraft14Layout);
	// answer such a peer with AppendControl(b, Draft14, response). Encoders
	// ignore it.
	Draft14Layout bool
}

func (m *PublishOK) controlType(Version) (uint64, error) { return typePublishOK, nil }

func (m *PublishOK) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	if v == Draft14 {
		e.bool8(m.Forward)
		e.u8(m.SubscriberPriority)
		e.groupOrder(m.GroupOrder, false)
		e.filter(m.Filter)
		e.params(m.Params.appendTo(nil, v, false), v)
		return
	}
	kvs := []KeyValue{
		{Type: paramSubscriberPriority, Value: uint64(m.SubscriberPriority)},
		{Type: paramForward, Value: b2u(m.Forward)},
	}
	if m.GroupOrder != GroupOrderPublisher {
		if m.GroupOrder > GroupOrderDescending {
			e.fail("group order %d", m.GroupOrder)
		}
		kvs = append(kvs, KeyValue{Type: paramGroupOrder, Value: uint64(m.GroupOrder)})
	}
	if m.Filter.Type != FilterNone {
		kvs = append(kvs, filterParam(m.Filter, e))
	}
	if m.Expires != 0 {
		kvs = append(kvs, KeyValue{Type: paramExpires, Value: m.Expires})
	}
	e.params(m.Params.appendTo(kvs, v, false), v)
}

func (m *PublishOK) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	if v == Draft14 {
		m.Forward = d.bool8("forward")
		m.SubscriberPriority = d.u8()
		m.GroupOrder = d.groupOrder(false)
		m.Filter = d.filter()
		// Eyevinn v0.9.0 writes PUBLISH_OK parameters without their count;
		// with no parameters the message simply ends here.
		if d.err == nil && len(d.b) == 0 {
			return
		}
		d.params(v, func(kv KeyValue) { m.Params.take(d, v, kv) })
		return
	}
	m.SubscriberPriority = DefaultSubscriberPriority
	m.Forward = true
	d.params(v, func(kv KeyValue) {
		switch kv.Type {
		case paramSubscriberPriority:
			m.SubscriberPriority = d.priorityValue(kv.Value)
		case paramForward:
			m.Forward = d.forwardValue(kv.Value)
		case paramGroupOrder:
			m.GroupOrder = d.groupOrderValue(kv.Value)
		case paramSubscriptionFilter:
			m.Filter = d.filterValue(kv.Bytes)
		case paramExpires:
			m.Expires = kv.Value
		default:
			m.Params.take(d, v, kv)
		}
	})
}

// StreamCountUnknown is the PUBLISH_DONE Stream Count a publisher sends when
// it cannot count the streams it opened (draft-14 §9.12, draft-16 §9.15).
const StreamCountUnknown = 1<<62 - 1

// PublishDone is PUBLISH_DONE (type 0x0B; draft-14 §9.12, draft-16 §9.15).
// It must not be sent before every stream of the subscription is closed.
type PublishDone struct {
	RequestID uint64
	// StatusCode is translated by the draft-14 codec, see PublishDoneCode.
	StatusCode PublishDoneCode
	// StreamCount is the number of data streams opened for the
	// subscription: 0 for datagram-only tracks, StreamCountUnknown if unknown.
	StreamCount uint64
	Reason      string
}

func (m *PublishDone) controlType(Version) (uint64, error) { return typePublishDone, nil }

func (m *PublishDone) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	if v == Draft14 {
		e.varint(publishDone14.toWire(uint64(m.StatusCode)))
	} else {
		e.varint(uint64(m.StatusCode))
	}
	e.varint(m.StreamCount)
	e.reason(m.Reason)
}

func (m *PublishDone) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	m.StatusCode = PublishDoneCode(d.varint())
	if v == Draft14 {
		m.StatusCode = PublishDoneCode(publishDone14.fromWire(uint64(m.StatusCode)))
	}
	m.StreamCount = d.varint()
	m.Reason = d.reason()
}
