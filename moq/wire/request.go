package wire

import (
	"fmt"

	"github.com/quic-go/quic-go/quicvarint"
)

// RequestKind names the request a response or update refers to. Draft-14
// has a response message per request; draft-16 merged them into REQUEST_OK
// and REQUEST_ERROR (draft-16 §9.7, §9.8), which identify the request only
// by Request ID.
type RequestKind uint8

// Request kinds.
const (
	// KindUnknown is what the draft-16 parser returns: the session looks the
	// Request ID up.
	KindUnknown RequestKind = iota
	KindSubscribe
	KindPublish
	KindFetch
	KindTrackStatus
	KindPublishNamespace
	KindSubscribeNamespace
	KindRequestUpdate
)

// String returns the name of the request message.
func (k RequestKind) String() string {
	switch k {
	case KindSubscribe:
		return "SUBSCRIBE"
	case KindPublish:
		return "PUBLISH"
	case KindFetch:
		return "FETCH"
	case KindTrackStatus:
		return "TRACK_STATUS"
	case KindPublishNamespace:
		return "PUBLISH_NAMESPACE"
	case KindSubscribeNamespace:
		return "SUBSCRIBE_NAMESPACE"
	case KindRequestUpdate:
		return "REQUEST_UPDATE"
	}
	return "unknown request"
}

// RequestOK is a successful response that has no dedicated message in
// draft-16: REQUEST_OK (type 0x07; draft-16 §9.7) to PUBLISH_NAMESPACE,
// SUBSCRIBE_NAMESPACE, TRACK_STATUS and REQUEST_UPDATE. Draft-14 sends
// PUBLISH_NAMESPACE_OK (0x07; §9.24), SUBSCRIBE_NAMESPACE_OK (0x12; §9.29) or
// TRACK_STATUS_OK (0x0E; §9.21) according to Kind, and has no response to
// SUBSCRIBE_UPDATE. SUBSCRIBE_OK, PUBLISH_OK and FETCH_OK stay separate
// messages in both drafts.
type RequestOK struct {
	// Kind selects the draft-14 message and is set by the draft-14 parser;
	// draft-16 ignores it.
	Kind      RequestKind
	RequestID uint64
	// Expires and Largest answer TRACK_STATUS (and, in draft-16,
	// REQUEST_UPDATE): draft-14 TRACK_STATUS_OK fields, draft-16 EXPIRES and
	// LARGEST_OBJECT parameters. Expires is in milliseconds, 0 for none;
	// Largest nil means no content.
	Expires uint64
	Largest *Location
	// GroupOrder is the draft-14 TRACK_STATUS_OK Group Order (1 or 2);
	// draft-16 REQUEST_OK cannot carry it and ignores it.
	GroupOrder GroupOrder
	// Params are draft-14 TRACK_STATUS_OK parameters or draft-16 REQUEST_OK
	// parameters; draft-14 PUBLISH_NAMESPACE_OK and SUBSCRIBE_NAMESPACE_OK
	// have none and ignore them.
	Params Params
}

func (m *RequestOK) controlType(v Version) (uint64, error) {
	if v == Draft16 {
		return typeRequestOK, nil
	}
	switch m.Kind {
	case KindPublishNamespace:
		return typePublishNamespaceOK, nil
	case KindSubscribeNamespace:
		return typeSubscribeNamespaceOK, nil
	case KindTrackStatus:
		return typeTrackStatusOK, nil
	}
	return 0, fmt.Errorf("wire: no draft-14 OK message for %v", m.Kind)
}

func (m *RequestOK) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	if v == Draft16 {
		var kvs []KeyValue
		if m.Expires != 0 {
			kvs = append(kvs, KeyValue{Type: paramExpires, Value: m.Expires})
		}
		if m.Largest != nil {
			kvs = append(kvs, largestParam(*m.Largest))
		}
		e.params(m.Params.appendTo(kvs, v, false), v)
		return
	}
	if m.Kind != KindTrackStatus {
		return
	}
	// TRACK_STATUS_OK has the SUBSCRIBE_OK layout with Track Alias 0
	// (draft-14 §9.21).
	e.varint(0)
	e.varint(m.Expires)
	e.groupOrder(m.GroupOrder, false)
	e.bool8(m.Largest != nil)
	if m.Largest != nil {
		e.location(*m.Largest)
	}
	e.params(m.Params.appendTo(nil, v, false), v)
}

func (m *RequestOK) decode(d *decoder, v Version, typ uint64) {
	m.RequestID = d.varint()
	if v == Draft16 {
		// Eyevinn v0.9.0 answers PUBLISH_NAMESPACE with a REQUEST_OK that
		// ends after the Request ID; a missing parameter count reads as 0.
		if d.err == nil && len(d.b) == 0 {
			return
		}
		d.params(v, func(kv KeyValue) {
			switch kv.Type {
			case paramExpires:
				m.Expires = kv.Value
			case paramLargestObject:
				m.Largest = d.largestValue(kv.Bytes)
			default:
				m.Params.take(d, v, kv)
			}
		})
		return
	}
	switch typ {
	case typePublishNamespaceOK:
		m.Kind = KindPublishNamespace
	case typeSubscribeNamespaceOK:
		m.Kind = KindSubscribeNamespace
	case typeTrackStatusOK:
		m.Kind = KindTrackStatus
		d.varint() // Track Alias, always 0 and meaningless (draft-14 §9.21)
		m.Expires = d.varint()
		m.GroupOrder = d.groupOrder(false)
		if d.bool8("content exists") {
			l := d.location()
			m.Largest = &l
		}
		d.params(v, func(kv KeyValue) { m.Params.take(d, v, kv) })
	}
}

// RequestError is a failed response: REQUEST_ERROR (type 0x05; draft-16
// §9.8) in draft-16, and in draft-14 the error message of the request named
// by Kind: SUBSCRIBE_ERROR (0x05; §9.9), PUBLISH_ERROR (0x1F; §9.15),
// FETCH_ERROR (0x19; §9.18), TRACK_STATUS_ERROR (0x0F; §9.22),
// PUBLISH_NAMESPACE_ERROR (0x08; §9.25) or SUBSCRIBE_NAMESPACE_ERROR (0x13;
// §9.30).
//
// Eyevinn v0.9.0 sends PUBLISH_ERROR with type 0x05 in draft-14, so a
// draft-14 RequestError of KindSubscribe may answer a PUBLISH: sessions
// should resolve responses by Request ID, not by Kind alone.
type RequestError struct {
	// Kind selects the draft-14 message and is set by the draft-14 parser;
	// draft-16 ignores it.
	Kind      RequestKind
	RequestID uint64
	// Code is translated per Kind by the draft-14 codec, see
	// RequestErrorCode.
	Code RequestErrorCode
	// RetryInterval is the draft-16 Retry Interval: the minimum delay before
	// retrying in milliseconds plus one, 0 for "do not retry". Draft-14
	// ignores it.
	RetryInterval uint64
	Reason        string
}

func (m *RequestError) controlType(v Version) (uint64, error) {
	if v == Draft16 {
		return typeRequestError, nil
	}
	switch m.Kind {
	case KindSubscribe:
		return typeSubscribeError, nil
	case KindPublish:
		return typePublishError, nil
	case KindFetch:
		return typeFetchError, nil
	case KindTrackStatus:
		return typeTrackStatusErr, nil
	case KindPublishNamespace:
		return typePublishNamespaceError, nil
	case KindSubscribeNamespace:
		return typeSubscribeNamespaceErr, nil
	}
	return 0, fmt.Errorf("wire: no draft-14 error message for %v", m.Kind)
}

func (m *RequestError) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	if v == Draft16 {
		e.varint(uint64(m.Code))
		e.varint(m.RetryInterval)
	} else {
		e.varint(request14Codes(m.Kind).toWire(uint64(m.Code)))
	}
	e.reason(m.Reason)
}

func (m *RequestError) decode(d *decoder, v Version, typ uint64) {
	m.RequestID = d.varint()
	if v == Draft16 {
		m.Code = RequestErrorCode(d.varint())
		m.RetryInterval = d.varint()
		m.Reason = d.reason()
		return
	}
	switch typ {
	case typeSubscribeError:
		m.Kind = KindSubscribe
	case typePublishError:
		m.Kind = KindPublish
	case typeFetchError:
		m.Kind = KindFetch
	case typeTrackStatusErr:
		m.Kind = KindTrackStatus
	case typePublishNamespaceError:
		m.Kind = KindPublishNamespace
	case typeSubscribeNamespaceErr:
		m.Kind = KindSubscribeNamespace
	}
	m.Code = RequestErrorCode(request14Codes(m.Kind).fromWire(d.varint()))
	m.Reason = d.reason()
}

// RequestUpdate changes an existing request: draft-16 REQUEST_UPDATE (type
// 0x02; draft-16 §9.11), answered by REQUEST_OK or REQUEST_ERROR, and
// draft-14 SUBSCRIBE_UPDATE (type 0x02; draft-14 §9.10), which only narrows a
// subscription and has no response.
//
// Draft-16 sends only what is set (nil means unchanged). Draft-14 requires
// all three: SubscriberPriority, Forward, and a Filter of type
// FilterAbsoluteStart (no end) or FilterAbsoluteRange.
type RequestUpdate struct {
	RequestID uint64
	// ExistingRequestID is the request to update (draft-14: Subscription
	// Request ID).
	ExistingRequestID  uint64
	SubscriberPriority *uint8
	Forward            *bool
	// Filter is the new range. Draft-14 writes Start Location and End Group
	// plus one (0 for open-ended); the parser returns FilterAbsoluteStart or
	// FilterAbsoluteRange with an inclusive EndGroup.
	Filter *Filter
	Params Params
	// Draft14Layout is set by the draft-16 parser when the message came in
	// its draft-14 layout (Eyevinn v0.9.0 sends it so, see parseDraft14Layout);
	// answer such a peer with AppendControl(b, Draft14, response). Encoders
	// ignore it.
	Draft14Layout bool
}

func (m *RequestUpdate) controlType(Version) (uint64, error) { return typeRequestUpdate, nil }

func (m *RequestUpdate) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	e.varint(m.ExistingRequestID)
	if v == Draft14 {
		if m.SubscriberPriority == nil || m.Forward == nil || m.Filter == nil {
			e.fail("SUBSCRIBE_UPDATE needs subscriber priority, forward and filter")
			return
		}
		switch m.Filter.Type {
		case FilterAbsoluteStart:
			e.location(m.Filter.Start)
			e.varint(0)
		case FilterAbsoluteRange:
			if m.Filter.EndGroup >= quicvarint.Max { // EndGroup+1 must fit a varint
				e.fail("end group %d does not fit SUBSCRIBE_UPDATE", m.Filter.EndGroup)
			}
			e.location(m.Filter.Start)
			e.varint(m.Filter.EndGroup + 1)
		default:
			e.fail("SUBSCRIBE_UPDATE cannot express filter type %d", m.Filter.Type)
		}
		e.u8(*m.SubscriberPriority)
		e.bool8(*m.Forward)
		e.params(m.Params.appendTo(nil, v, false), v)
		return
	}
	var kvs []KeyValue
	if m.SubscriberPriority != nil {
		kvs = append(kvs, KeyValue{Type: paramSubscriberPriority, Value: uint64(*m.SubscriberPriority)})
	}
	if m.Forward != nil {
		kvs = append(kvs, KeyValue{Type: paramForward, Value: b2u(*m.Forward)})
	}
	if m.Filter != nil {
		kvs = append(kvs, filterParam(*m.Filter, e))
	}
	e.params(m.Params.appendTo(kvs, v, false), v)
}

func (m *RequestUpdate) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	m.ExistingRequestID = d.varint()
	if v == Draft14 {
		f := Filter{Type: FilterAbsoluteStart, Start: d.location()}
		if end := d.varint(); end != 0 {
			f.Type = FilterAbsoluteRange
			f.EndGroup = end - 1
		}
		p := d.u8()
		fwd := d.bool8("forward")
		m.Filter, m.SubscriberPriority, m.Forward = &f, &p, &fwd
		d.params(v, func(kv KeyValue) { m.Params.take(d, v, kv) })
		return
	}
	d.params(v, func(kv KeyValue) {
		switch kv.Type {
		case paramSubscriberPriority:
			p := d.priorityValue(kv.Value)
			m.SubscriberPriority = &p
		case paramForward:
			f := d.forwardValue(kv.Value)
			m.Forward = &f
		case paramSubscriptionFilter:
			f := d.filterValue(kv.Bytes)
			m.Filter = &f
		default:
			m.Params.take(d, v, kv)
		}
	})
}
