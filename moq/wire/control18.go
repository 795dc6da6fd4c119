package wire

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Control messages of draft-18 (draft-18 §10, Table 5). Every integer is a
// vi64 (§1.4.1); framing is Type (vi64), Length (16), Body. SETUP opens each
// peer's unidirectional control stream (see AppendSetup18); every request
// opens its own bidirectional stream, and "only request messages include a
// Request ID; response messages do not" (§10.1): the session learns which
// request a response answers from its stream and sets RequestID itself.
//
// Message parameters (§10.2) are a count and (Type Delta, Value) pairs,
// ascending by type, where the value's encoding is fixed by the type
// (uint8, varint, Location, or length-prefixed): an unknown parameter
// cannot be skipped and closes the session. Track Properties (§2.5) are
// delta-typed Key-Value-Pairs filling the rest of the message.

// Draft-18 message types that differ from draft-16's.
const (
	typeSubscribeNamespace18 = 0x50
	typeSubscribeTracks18    = 0x51
	typePublishBlocked18     = 0x0f
)

// Draft-18 message parameter types (§10.2, Table 13).
const (
	param18ObjectDeliveryTimeout   = 0x02
	param18AuthorizationToken      = 0x03
	param18RendezvousTimeout       = 0x04
	param18SubgroupDeliveryTimeout = 0x06
	param18Expires                 = 0x08
	param18LargestObject           = 0x09
	param18FillTimeout             = 0x0a
	param18Forward                 = 0x10
	param18SubscriberPriority      = 0x20
	param18SubscriptionFilter      = 0x21
	param18GroupOrder              = 0x22
	param18NewGroupRequest         = 0x32
	param18TrackNamespacePrefix    = 0x34
)

// paramKind is how a draft-18 parameter's value is encoded (§10.2).
type paramKind uint8

const (
	kindUnknown paramKind = iota
	kindUint8
	kindVarint
	kindLocation
	kindBytes
	kindNamespace
)

func paramKind18(t uint64) paramKind {
	switch t {
	case param18Forward, param18SubscriberPriority, param18GroupOrder:
		return kindUint8
	case param18ObjectDeliveryTimeout, param18RendezvousTimeout, param18SubgroupDeliveryTimeout,
		param18Expires, param18FillTimeout, param18NewGroupRequest:
		return kindVarint
	case param18LargestObject:
		return kindLocation
	case param18AuthorizationToken, param18SubscriptionFilter:
		return kindBytes
	case param18TrackNamespacePrefix:
		return kindNamespace
	}
	return kindUnknown
}

// param18 is one draft-18 message parameter; which field holds the value
// depends on the type's kind.
type param18 struct {
	typ   uint64
	value uint64 // uint8 and varint
	loc   Location
	bytes []byte
	ns    Namespace
}

// params18 writes Number of Parameters and ps, which must be ascending by
// type (the deltas cannot be negative).
func (e *encoder) params18(ps []param18) {
	e.varint(uint64(len(ps)))
	var prev uint64
	for _, p := range ps {
		if p.typ < prev {
			e.fail("parameter 0x%x after 0x%x", p.typ, prev)
			return
		}
		e.varint(p.typ - prev)
		prev = p.typ
		switch paramKind18(p.typ) {
		case kindUint8:
			if p.value > 255 {
				e.fail("parameter 0x%x is %d, an 8-bit field", p.typ, p.value)
			}
			e.u8(uint8(p.value))
		case kindVarint:
			e.varint(p.value)
		case kindLocation:
			e.location(p.loc)
		case kindBytes:
			e.bytes(p.bytes, MaxKeyValueLength, "parameter")
		case kindNamespace:
			e.namespace(p.ns, Draft16, namespacePart16)
		default:
			e.fail("parameter 0x%x is not defined in draft-18", p.typ)
		}
	}
}

// params18 reads Number of Parameters and the parameters, each handed to
// handle; an unknown type or a repeat of a single-instance type is a
// PROTOCOL_VIOLATION (§10.2). The count allocates nothing.
func (d *decoder) params18(handle func(param18)) {
	n := d.varint()
	var prev uint64
	var seen dupCheck
	for i := uint64(0); i < n && d.err == nil; i++ {
		delta := d.varint()
		if d.err != nil {
			return
		}
		if delta > ^uint64(0)-prev {
			d.violation("parameter type delta overflows (draft-18 §10.2)")
			return
		}
		p := param18{typ: prev + delta}
		prev = p.typ
		switch paramKind18(p.typ) {
		case kindUint8:
			p.value = uint64(d.u8())
		case kindVarint:
			p.value = d.varint()
		case kindLocation:
			p.loc = d.location()
		case kindBytes:
			p.bytes = d.bytes(MaxKeyValueLength, "parameter")
		case kindNamespace:
			p.ns = d.namespace(Draft16, namespacePart16)
		default:
			d.violation("unknown message parameter 0x%x (draft-18 §10.2)", p.typ)
			return
		}
		if d.err != nil {
			return
		}
		if p.typ != param18AuthorizationToken && !seen.add(p.typ) {
			d.violation("parameter 0x%x repeated", p.typ)
			return
		}
		handle(p)
	}
}

// common18 returns the Params fields every request may carry, as
// parameters: DELIVERY_TIMEOUT becomes OBJECT_DELIVERY_TIMEOUT, the
// authorization tokens follow, NEW_GROUP_REQUEST when set. Parameters
// are single-hop (§10.2), so Params.Unknown, carried from another
// draft, is not sent.
func common18(p *Params, withTimeout, withNewGroup bool) []param18 {
	var ps []param18
	if withTimeout && p.DeliveryTimeout != 0 {
		ps = append(ps, param18{typ: param18ObjectDeliveryTimeout, value: p.DeliveryTimeout})
	}
	for _, t := range p.AuthorizationTokens {
		ps = append(ps, param18{typ: param18AuthorizationToken, bytes: t})
	}
	if withNewGroup && p.NewGroupRequest != nil {
		ps = append(ps, param18{typ: param18NewGroupRequest, value: *p.NewGroupRequest})
	}
	return ps
}

// take18 stores a parameter the message did not claim.
func (p *Params) take18(d *decoder, q param18) {
	switch q.typ {
	case param18ObjectDeliveryTimeout:
		p.DeliveryTimeout = q.value
	case param18AuthorizationToken:
		p.AuthorizationTokens = append(p.AuthorizationTokens, q.bytes)
	case param18NewGroupRequest:
		n := q.value
		p.NewGroupRequest = &n
	case param18SubgroupDeliveryTimeout, param18RendezvousTimeout, param18FillTimeout:
		// Defined, allowed, and not acted on: the gateway delivers every
		// object of a live group and has no rendezvous.
	default:
		d.violation("parameter 0x%x not allowed here (draft-18 §10.2)", q.typ)
	}
}

// takeToken18 stores a parameter of a message that carries no delivery
// parameters (PUBLISH_NAMESPACE, SUBSCRIBE_NAMESPACE, FETCH, REQUEST_OK):
// tokens are kept, the timeouts that do not apply to the gateway are
// dropped, anything else is not allowed there (§10.2).
func (p *Params) takeToken18(d *decoder, q param18) {
	switch q.typ {
	case param18AuthorizationToken:
		p.AuthorizationTokens = append(p.AuthorizationTokens, q.bytes)
	case param18FillTimeout, param18RendezvousTimeout, param18SubgroupDeliveryTimeout:
	default:
		d.violation("parameter 0x%x not allowed here (draft-18 §10.2)", q.typ)
	}
}

// insert18 adds q to ps keeping the type order.
func insert18(ps []param18, q param18) []param18 {
	i := len(ps)
	for i > 0 && ps[i-1].typ > q.typ {
		i--
	}
	ps = append(ps, param18{})
	copy(ps[i+1:], ps[i:])
	ps[i] = q
	return ps
}

// filter18 encodes a Subscription Filter (§5.1.2): Filter Type, [Start
// Location], [End Group Delta], where the end is Start.Group + delta.
func filter18(f Filter, e *encoder) []byte {
	fe := encoder{vi: true}
	if f.Type == FilterNone || f.Type > FilterAbsoluteRange {
		e.fail("filter type %d", f.Type)
		return nil
	}
	fe.varint(uint64(f.Type))
	if f.Type >= FilterAbsoluteStart {
		fe.location(f.Start)
	}
	if f.Type == FilterAbsoluteRange {
		if f.EndGroup < f.Start.Group {
			e.fail("filter end group %d before start %d", f.EndGroup, f.Start.Group)
			return nil
		}
		fe.varint(f.EndGroup - f.Start.Group)
	}
	return fe.b
}

func (d *decoder) filter18(b []byte) Filter {
	fd := decoder{b: b, vi: true}
	f := fd.filter()
	if f.Type == FilterAbsoluteRange {
		if f.EndGroup > ^uint64(0)-f.Start.Group {
			d.violation("SUBSCRIPTION_FILTER end group overflows")
			return Filter{}
		}
		f.EndGroup += f.Start.Group
	}
	if err := fd.finish(); err != nil {
		d.violation("SUBSCRIPTION_FILTER: %v", err)
		return Filter{}
	}
	return f
}

// subscribeParams18 are the delivery parameters SUBSCRIBE and TRACK_STATUS
// share (§10.7).
func subscribeParams18(e *encoder, prio uint8, order GroupOrder, forward bool, f Filter, p *Params) []param18 {
	ps := common18(p, true, true)
	ps = insert18(ps, param18{typ: param18Forward, value: b2u(forward)})
	ps = insert18(ps, param18{typ: param18SubscriberPriority, value: uint64(prio)})
	if f.Type != FilterNone {
		ps = insert18(ps, param18{typ: param18SubscriptionFilter, bytes: filter18(f, e)})
	}
	if order != GroupOrderPublisher {
		if order > GroupOrderDescending {
			e.fail("group order %d", order)
		}
		ps = insert18(ps, param18{typ: param18GroupOrder, value: uint64(order)})
	}
	return ps
}

// readSubscribeParams18 reads what subscribeParams18 writes, with the
// draft's defaults: priority 128, forward 1, the publisher's order, no
// filter.
func (d *decoder) readSubscribeParams18(prio *uint8, order *GroupOrder, forward *bool, f *Filter, p *Params) {
	*prio, *forward = DefaultSubscriberPriority, true
	d.params18(func(q param18) {
		switch q.typ {
		case param18SubscriberPriority:
			*prio = uint8(q.value)
		case param18Forward:
			*forward = d.forwardValue(q.value)
		case param18GroupOrder:
			if q.value == 0 {
				d.violation("GROUP_ORDER 0")
			}
			*order = d.groupOrderValue(q.value)
		case param18SubscriptionFilter:
			*f = d.filter18(q.bytes)
		default:
			p.take18(d, q)
		}
	})
}

// encode18 writes m's draft-18 body and returns its type.
func encode18(e *encoder, v Version, m Message) uint64 {
	switch m := m.(type) {
	case *GoAway:
		// §10.4: a Timeout, and on the control stream the smallest peer
		// Request ID not processed; the gateway processes every request
		// it answered, so it names the next one it would get.
		e.string(m.NewSessionURI, MaxGoAwayURILength, "new session URI")
		e.varint(m.Timeout)
		if m.RequestID != nil && v == Draft18 {
			e.varint(*m.RequestID) // draft-19 removed it again (#1623)
		}
		return typeGoAway
	case *Subscribe:
		e.varint(m.RequestID)
		e.namespace(m.Namespace, Draft16, namespacePart16)
		e.trackName(m.TrackName, m.Namespace)
		e.params18(subscribeParams18(e, m.SubscriberPriority, m.GroupOrder, m.Forward, m.Filter, &m.Params))
		return typeSubscribe
	case *TrackStatus:
		// Of the delivery parameters none may appear in a draft-18
		// TRACK_STATUS (§10.2's allowed-in lists); only tokens go.
		e.varint(m.RequestID)
		e.namespace(m.Namespace, Draft16, namespacePart16)
		e.trackName(m.TrackName, m.Namespace)
		e.params18(common18(&m.Params, false, false))
		return typeTrackStatus
	case *SubscribeOK:
		e.varint(m.TrackAlias)
		var ps []param18
		if m.Expires != 0 {
			ps = append(ps, param18{typ: param18Expires, value: m.Expires})
		}
		if m.Largest != nil {
			ps = append(ps, param18{typ: param18LargestObject, loc: *m.Largest})
		}
		e.params18(ps)
		if m.GroupOrder > GroupOrderDescending {
			e.fail("group order %d", m.GroupOrder)
		}
		e.keyValues(trackExtensions(m.GroupOrder, &m.Params, m.Extensions), Draft18)
		return typeSubscribeOK
	case *RequestOK:
		// REQUEST_OK (§10.5) answers PUBLISH_NAMESPACE, SUBSCRIBE_NAMESPACE,
		// REQUEST_UPDATE and (as TRACK_STATUS_OK) TRACK_STATUS.
		var ps []param18
		if m.Expires != 0 {
			ps = append(ps, param18{typ: param18Expires, value: m.Expires})
		}
		if m.Largest != nil {
			ps = append(ps, param18{typ: param18LargestObject, loc: *m.Largest})
		}
		e.params18(ps)
		if m.GroupOrder != GroupOrderPublisher {
			e.keyValues([]KeyValue{{Type: ExtensionDefaultGroupOrder, Value: uint64(m.GroupOrder)}}, Draft18)
		}
		return typeRequestOK
	case *RequestError:
		e.varint(uint64(m.Code)) // §15 Table 18 keeps the draft-16 values
		e.varint(m.RetryInterval)
		e.reason(m.Reason)
		return typeRequestError
	case *PublishDone:
		e.varint(uint64(doneCode18(m.StatusCode)))
		e.varint(m.StreamCount)
		e.reason(m.Reason)
		return typePublishDone
	case *PublishNamespace:
		e.varint(m.RequestID)
		e.namespace(m.Namespace, Draft16, namespacePart16)
		e.params18(common18(&m.Params, false, false))
		return typePublishNamespace
	case *SubscribeNamespace:
		e.varint(m.RequestID)
		e.namespace(m.Prefix, Draft16, namespacePart16)
		e.params18(common18(&m.Params, false, false))
		return typeSubscribeNamespace18
	case *Fetch:
		// §10.12: Fetch Type, then the standalone or joining fields.
		e.varint(m.RequestID)
		e.varint(uint64(m.Type))
		switch m.Type {
		case FetchStandalone:
			e.namespace(m.Namespace, Draft16, namespacePart16)
			e.trackName(m.TrackName, m.Namespace)
			e.location(m.Start)
			e.location(m.End)
		case FetchRelativeJoining, FetchAbsoluteJoining:
			e.varint(m.JoiningRequestID)
			e.varint(m.JoiningStart)
		default:
			e.fail("fetch type %d", m.Type)
		}
		ps := common18(&m.Params, false, false)
		ps = insert18(ps, param18{typ: param18SubscriberPriority, value: uint64(m.SubscriberPriority)})
		if m.GroupOrder != GroupOrderPublisher {
			ps = insert18(ps, param18{typ: param18GroupOrder, value: uint64(m.GroupOrder)})
		}
		e.params18(ps)
		return typeFetch
	case *FetchOK:
		// §10.13: End Of Track (8), End Location, parameters, Track
		// Properties.
		e.bool8(m.EndOfTrack)
		e.location(m.End)
		e.params18(nil)
		e.keyValues(trackExtensions(GroupOrderPublisher, &m.Params, m.Extensions), Draft18)
		return typeFetchOK
	case *NamespaceMessage:
		e.namespace(m.Suffix, Draft16, namespacePart16)
		return typeNamespace
	case *NamespaceDone:
		e.namespace(m.Suffix, Draft16, namespacePart16)
		return typeNamespaceDone
	}
	e.fail("%T does not exist in draft-18", m)
	return 0
}

// parseControl18 parses a draft-18 message body of type typ.
func parseControl18(v Version, typ uint64, payload []byte) (Message, error) {
	d := decoder{b: payload, vi: true}
	var m Message
	switch typ {
	case typeGoAway:
		g := &GoAway{}
		g.NewSessionURI = d.string(MaxGoAwayURILength, "new session URI")
		g.Timeout = d.varint()
		if len(d.b) > 0 && v == Draft18 {
			id := d.varint()
			g.RequestID = &id
		}
		m = g
	case typeSubscribe, typeTrackStatus:
		var (
			id    = d.varint()
			ns    = d.namespace(Draft16, namespacePart16)
			name  = d.trackName(ns)
			prio  uint8
			order GroupOrder
			fwd   bool
			f     Filter
			p     Params
		)
		d.readSubscribeParams18(&prio, &order, &fwd, &f, &p)
		if typ == typeSubscribe {
			m = &Subscribe{RequestID: id, Namespace: ns, TrackName: name, SubscriberPriority: prio, GroupOrder: order, Forward: fwd, Filter: f, Params: p}
		} else {
			// Delivery parameters a peer copies from SUBSCRIBE are read
			// and dropped: they mean nothing to a status query, and only
			// tokens may be sent here (§10.2).
			m = &TrackStatus{
				RequestID: id, Namespace: ns, TrackName: name, SubscriberPriority: DefaultSubscriberPriority, Forward: true,
				Params: Params{AuthorizationTokens: p.AuthorizationTokens},
			}
		}
	case typeSubscribeOK:
		ok := &SubscribeOK{TrackAlias: d.varint()}
		d.params18(func(q param18) {
			switch q.typ {
			case param18Expires:
				ok.Expires = q.value
			case param18LargestObject:
				l := q.loc
				ok.Largest = &l
			default:
				d.violation("parameter 0x%x in SUBSCRIBE_OK", q.typ)
			}
		})
		ok.Extensions = d.trackExtensions(&ok.GroupOrder, &ok.Params)
		m = ok
	case typeRequestOK:
		ok := &RequestOK{}
		d.params18(func(q param18) {
			switch q.typ {
			case param18Expires:
				ok.Expires = q.value
			case param18LargestObject:
				l := q.loc
				ok.Largest = &l
			default:
				ok.Params.takeToken18(&d, q)
			}
		})
		// Track Properties of a TRACK_STATUS_OK: only the group order is
		// kept.
		var props Params
		_ = d.trackExtensions(&ok.GroupOrder, &props)
		m = ok
	case typeRequestError:
		re := &RequestError{Code: RequestErrorCode(d.varint())}
		re.RetryInterval = d.varint()
		re.Reason = d.reason()
		if re.Code == requestRedirect18 {
			// Redirect (§10.6.1): Connect URI, Track Namespace, Track Name.
			_ = d.string(MaxGoAwayURILength, "redirect URI")
			ns := d.namespace(Draft16, namespacePart16)
			_ = d.trackName(ns)
		}
		m = re
	case typePublishDone:
		pd := &PublishDone{StatusCode: doneCodeFrom18(d.varint())}
		pd.StreamCount = d.varint()
		pd.Reason = d.reason()
		m = pd
	case typePublishNamespace:
		pn := &PublishNamespace{RequestID: d.varint()}
		pn.Namespace = d.namespace(Draft16, namespacePart16)
		d.params18(func(q param18) { pn.Params.takeToken18(&d, q) })
		m = pn
	case typeSubscribeNamespace18, typeSubscribeTracks18:
		sn := &SubscribeNamespace{RequestID: d.varint(), Options: NamespaceOptionsNamespace, Forward: true}
		sn.Prefix = d.namespace(Draft16, namespacePart16)
		d.params18(func(q param18) {
			switch q.typ {
			case param18Forward:
				sn.Forward = d.forwardValue(q.value)
			case param18GroupOrder:
				_ = d.groupOrderValue(q.value)
			default:
				sn.Params.takeToken18(&d, q)
			}
		})
		if typ == typeSubscribeTracks18 {
			sn.Options = NamespaceOptionsPublish
		}
		m = sn
	case typeNamespace:
		m = &NamespaceMessage{Suffix: d.namespace(Draft16, namespacePart16)}
	case typeNamespaceDone:
		m = &NamespaceDone{Suffix: d.namespace(Draft16, namespacePart16)}
	case typePublish:
		pb := &Publish{RequestID: d.varint()}
		pb.Namespace = d.namespace(Draft16, namespacePart16)
		pb.TrackName = d.trackName(pb.Namespace)
		pb.TrackAlias = d.varint()
		d.params18(func(q param18) {
			switch q.typ {
			case param18Forward:
				pb.Forward = d.forwardValue(q.value)
			case param18Expires:
				pb.Expires = q.value
			case param18LargestObject:
				l := q.loc
				pb.Largest = &l
			default:
				pb.Params.take18(&d, q)
			}
		})
		pb.Extensions = d.trackExtensions(&pb.GroupOrder, &pb.Params)
		m = pb
	case typeFetch:
		f := &Fetch{RequestID: d.varint(), Type: FetchType(d.varint())}
		switch f.Type {
		case FetchStandalone:
			f.Namespace = d.namespace(Draft16, namespacePart16)
			f.TrackName = d.trackName(f.Namespace)
			f.Start, f.End = d.location(), d.location()
		case FetchRelativeJoining, FetchAbsoluteJoining:
			f.JoiningRequestID, f.JoiningStart = d.varint(), d.varint()
		default:
			d.violation("fetch type %d", f.Type)
		}
		f.SubscriberPriority = DefaultSubscriberPriority
		d.params18(func(q param18) {
			switch q.typ {
			case param18SubscriberPriority:
				f.SubscriberPriority = uint8(q.value)
			case param18GroupOrder:
				f.GroupOrder = d.groupOrderValue(q.value)
			default:
				f.Params.takeToken18(&d, q)
			}
		})
		m = f
	case typeFetchOK:
		ok := &FetchOK{EndOfTrack: d.bool8("end of track"), End: d.location()}
		d.params18(func(q param18) {
			// No parameter lists FETCH_OK among its messages (§10.2).
			d.violation("parameter 0x%x in FETCH_OK", q.typ)
		})
		ok.Extensions = d.trackExtensions(nil, &ok.Params)
		m = ok
	case typeRequestUpdate:
		u := &RequestUpdate{RequestID: d.varint()}
		d.params18(func(q param18) {
			switch q.typ {
			case param18SubscriberPriority:
				p := uint8(q.value)
				u.SubscriberPriority = &p
			case param18Forward:
				fwd := d.forwardValue(q.value)
				u.Forward = &fwd
			case param18SubscriptionFilter:
				f := d.filter18(q.bytes)
				u.Filter = &f
			default:
				u.Params.take18(&d, q)
			}
		})
		m = u
	default:
		return nil, fmt.Errorf("%w: control message 0x%x in %v", ErrUnknownType, typ, v)
	}
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("parse %s: %w", messageName18(typ), err)
	}
	return m, nil
}

// appendControl18 frames m for draft-18.
func appendControl18(b []byte, v Version, m Message) ([]byte, error) {
	e := encoder{vi: true}
	typ := encode18(&e, v, m)
	if e.err != nil {
		return b, fmt.Errorf("encode %T for %v: %w", m, v, e.err)
	}
	if len(e.b) > MaxControlPayload {
		return b, fmt.Errorf("encode %s: payload %d bytes: %w", messageName18(typ), len(e.b), ErrTooLarge)
	}
	b = AppendVI64(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.b)))
	return append(b, e.b...), nil
}

// readControl18 reads one framed draft-18 message.
func readControl18(v Version, r io.Reader, br io.ByteReader) (Message, error) {
	typ, err := readInt(br, v)
	if err != nil {
		return nil, err
	}
	if typ == TypeSetup18 {
		return nil, fmt.Errorf("%w: a second SETUP", ErrProtocolViolation)
	}
	hi, err := readByte(br)
	if err != nil {
		return nil, err
	}
	lo, err := readByte(br)
	if err != nil {
		return nil, err
	}
	payload := make([]byte, int(hi)<<8|int(lo))
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, noEOF(err)
	}
	return parseControl18(v, typ, payload)
}

// ReadSetup18 reads the SETUP that starts a draft-18 control stream.
func ReadSetup18(r io.Reader) (SetupParams, error) {
	br, ok := r.(io.ByteReader)
	if !ok {
		br = &oneByteReader{r: r}
	}
	typ, err := readInt(br, Draft18)
	if err != nil {
		return SetupParams{}, err
	}
	if typ != TypeSetup18 {
		return SetupParams{}, fmt.Errorf("wire: control stream starts with message 0x%x, not SETUP: %w", typ, ErrProtocolViolation)
	}
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return SetupParams{}, noEOF(err)
	}
	b := AppendVI64(nil, TypeSetup18)
	b = append(b, n[:]...)
	body := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(r, body); err != nil {
		return SetupParams{}, noEOF(err)
	}
	p, _, err := ParseSetup18(append(b, body...))
	return p, err
}

// messageName18 names a draft-18 message type.
func messageName18(typ uint64) string {
	switch typ {
	case typeRequestOK:
		return "REQUEST_OK"
	case typeRequestError:
		return "REQUEST_ERROR"
	case typeRequestUpdate:
		return "REQUEST_UPDATE"
	case typeNamespace:
		return "NAMESPACE"
	case typeNamespaceDone:
		return "NAMESPACE_DONE"
	case typeSubscribeNamespace18:
		return "SUBSCRIBE_NAMESPACE"
	case typeSubscribeTracks18:
		return "SUBSCRIBE_TRACKS"
	case typePublishBlocked18:
		return "PUBLISH_BLOCKED"
	case TypeSetup18:
		return "SETUP"
	}
	return messageName(Draft16, typ)
}

// Draft-18 renumbered codes (§15 Tables 18–19).
const (
	requestRedirect18  = 0x34
	doneTooFarBehind18 = 0x5
	doneExpired18      = 0x6
)

// doneCode18 maps a PUBLISH_DONE code: draft-18 swapped EXPIRED and
// TOO_FAR_BEHIND relative to draft-16.
func doneCode18(c PublishDoneCode) PublishDoneCode {
	switch c {
	case DoneTooFarBehind:
		return doneTooFarBehind18
	case DoneExpired:
		return doneExpired18
	}
	return c
}

func doneCodeFrom18(c uint64) PublishDoneCode {
	switch c {
	case doneTooFarBehind18:
		return DoneTooFarBehind
	case doneExpired18:
		return DoneExpired
	}
	return PublishDoneCode(c)
}
