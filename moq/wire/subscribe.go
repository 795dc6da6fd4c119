package wire

// DefaultSubscriberPriority is the subscriber priority draft-16 assumes when
// SUBSCRIBE, FETCH or PUBLISH_OK omits SUBSCRIBER_PRIORITY (draft-16
// §9.2.2.3), the middle of the range as draft-14 §7.3 recommends.
const DefaultSubscriberPriority = 128

// GroupOrder is the order in which groups are delivered (draft-14 §7,
// draft-16 §7).
type GroupOrder uint8

// Group orders.
const (
	// GroupOrderPublisher asks for the publisher's order; it is only valid
	// in requests (SUBSCRIBE, FETCH, TRACK_STATUS). In draft-16 messages it
	// stands for an absent GROUP_ORDER parameter or track extension.
	GroupOrderPublisher  GroupOrder = 0x0
	GroupOrderAscending  GroupOrder = 0x1
	GroupOrderDescending GroupOrder = 0x2
)

// groupOrder writes an 8-bit Group Order; responses must say 1 or 2.
func (e *encoder) groupOrder(g GroupOrder, request bool) {
	if g > GroupOrderDescending || (g == GroupOrderPublisher && !request) {
		e.fail("group order %d not allowed here", g)
		return
	}
	e.u8(uint8(g))
}

func (d *decoder) groupOrder(request bool) GroupOrder {
	g := GroupOrder(d.u8())
	if g > GroupOrderDescending || (g == GroupOrderPublisher && !request) {
		d.violation("group order %d", g)
	}
	return g
}

// groupOrderValue validates a GROUP_ORDER parameter or track extension.
// Draft-16 allows only 1 and 2; 0 is accepted as "absent" because Eyevinn
// v0.9.0 sends GROUP_ORDER 0 in SUBSCRIBE when the application asks for the
// publisher's order.
func (d *decoder) groupOrderValue(v uint64) GroupOrder {
	if v > uint64(GroupOrderDescending) {
		d.violation("group order %d", v)
		return 0
	}
	return GroupOrder(v)
}

// FilterType selects which objects a subscription delivers (draft-14 §9.7,
// draft-16 §5.1.2).
type FilterType uint64

// Filter types.
const (
	// FilterNone is the draft-16 unfiltered subscription (no
	// SUBSCRIPTION_FILTER parameter). Draft-14 has no such filter: encoding
	// it for draft-14 fails.
	FilterNone           FilterType = 0x0
	FilterNextGroupStart FilterType = 0x1
	FilterLargestObject  FilterType = 0x2
	FilterAbsoluteStart  FilterType = 0x3
	FilterAbsoluteRange  FilterType = 0x4
)

// Filter is a subscription filter (draft-14 §9.7, draft-16 §5.1.2).
type Filter struct {
	Type FilterType
	// Start is the first Location of FilterAbsoluteStart and
	// FilterAbsoluteRange; ignored otherwise.
	Start Location
	// EndGroup is the last Group (inclusive) of FilterAbsoluteRange; ignored
	// otherwise.
	EndGroup uint64
}

func (e *encoder) filter(f Filter) {
	if f.Type == FilterNone || f.Type > FilterAbsoluteRange {
		e.fail("filter type %d", f.Type)
		return
	}
	e.varint(uint64(f.Type))
	if f.Type >= FilterAbsoluteStart {
		e.location(f.Start)
	}
	if f.Type == FilterAbsoluteRange {
		e.varint(f.EndGroup)
	}
}

func (d *decoder) filter() Filter {
	f := Filter{Type: FilterType(d.varint())}
	if d.err != nil {
		return Filter{}
	}
	if f.Type == FilterNone || f.Type > FilterAbsoluteRange {
		d.violation("filter type %d", f.Type)
		return Filter{}
	}
	if f.Type >= FilterAbsoluteStart {
		f.Start = d.location()
	}
	if f.Type == FilterAbsoluteRange {
		f.EndGroup = d.varint()
	}
	return f
}

// filterParam encodes a filter as the draft-16 SUBSCRIPTION_FILTER value.
func filterParam(f Filter, e *encoder) KeyValue {
	fe := encoder{}
	fe.filter(f)
	if fe.err != nil {
		e.fail("%w", fe.err)
	}
	return KeyValue{Type: paramSubscriptionFilter, Bytes: fe.b}
}

// filterValue parses a SUBSCRIPTION_FILTER value, which must hold exactly one
// filter (draft-16 §9.2.2.5).
func (d *decoder) filterValue(b []byte) Filter {
	fd := decoder{b: b}
	f := fd.filter()
	if err := fd.finish(); err != nil {
		d.violation("SUBSCRIPTION_FILTER: %v", err)
		return Filter{}
	}
	return f
}

// trackExtensions builds the draft-16 Track Extensions of SUBSCRIBE_OK,
// PUBLISH and FETCH_OK (draft-16 §2.5, §11.1): the publisher's group order,
// delivery timeout and cache duration, which draft-14 sent as fields and
// parameters, followed by the opaque extensions.
func trackExtensions(g GroupOrder, p *Params, ext []KeyValue) []KeyValue {
	var kvs []KeyValue
	if p.DeliveryTimeout != 0 {
		kvs = append(kvs, KeyValue{Type: ExtensionDeliveryTimeout, Value: p.DeliveryTimeout})
	}
	if p.MaxCacheDuration != 0 {
		kvs = append(kvs, KeyValue{Type: ExtensionMaxCacheDuration, Value: p.MaxCacheDuration})
	}
	if g != GroupOrderPublisher {
		kvs = append(kvs, KeyValue{Type: ExtensionDefaultGroupOrder, Value: uint64(g)})
	}
	return append(kvs, ext...)
}

// trackExtensions reads the rest of the payload as Track Extensions (they
// end the message and have neither count nor length), moving the mapped ones
// into g and p. g is nil for FETCH_OK, which has no group order.
func (d *decoder) trackExtensions(g *GroupOrder, p *Params) []KeyValue {
	var ext []KeyValue
	var prev uint64
	var seen dupCheck
	for len(d.b) > 0 && d.err == nil {
		kv := d.keyValue(Draft16, &prev)
		if d.err != nil {
			return nil
		}
		mapped := kv.Type == ExtensionDeliveryTimeout || kv.Type == ExtensionMaxCacheDuration ||
			(kv.Type == ExtensionDefaultGroupOrder && g != nil)
		if mapped && !seen.add(kv.Type) {
			d.violation("track extension 0x%x repeated", kv.Type)
			return nil
		}
		switch {
		case kv.Type == ExtensionDeliveryTimeout:
			if kv.Value == 0 && !d.vi {
				// From draft-17 on 0 means no timeout (#1450).
				d.violation("DELIVERY_TIMEOUT extension is 0 (draft-16 §11.1)")
			}
			p.DeliveryTimeout = kv.Value
		case kv.Type == ExtensionMaxCacheDuration:
			p.MaxCacheDuration = kv.Value
		case kv.Type == ExtensionDefaultGroupOrder && g != nil:
			if kv.Value == 0 {
				d.violation("DEFAULT_PUBLISHER_GROUP_ORDER is 0 (draft-16 §11.1.1.2)")
			}
			*g = d.groupOrderValue(kv.Value)
		default:
			ext = append(ext, kv)
		}
	}
	return ext
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// forwardValue validates a FORWARD parameter (draft-16 §9.2.2.8).
func (d *decoder) forwardValue(v uint64) bool {
	if v > 1 {
		d.violation("FORWARD is %d", v)
	}
	return v == 1
}

// priorityValue validates a SUBSCRIBER_PRIORITY parameter (draft-16
// §9.2.2.3).
func (d *decoder) priorityValue(v uint64) uint8 {
	if v > 255 {
		d.violation("SUBSCRIBER_PRIORITY is %d", v)
	}
	return uint8(v)
}

// largestValue parses a LARGEST_OBJECT parameter (draft-16 §9.2.2.7).
func (d *decoder) largestValue(b []byte) *Location {
	l, err := parseLocation(b)
	if err != nil {
		d.fail(err)
		return nil
	}
	return &l
}

func largestParam(l Location) KeyValue {
	return KeyValue{Type: paramLargestObject, Bytes: appendLocation(nil, l)}
}

// Subscribe is SUBSCRIBE (type 0x03; draft-14 §9.7, draft-16 §9.9).
//
// Draft-14 carries priority, group order, forward and filter as fields.
// Draft-16 carries them as SUBSCRIBER_PRIORITY, GROUP_ORDER, FORWARD and
// SUBSCRIPTION_FILTER parameters; its encoder always writes priority and
// forward (peers disagree on defaults), GROUP_ORDER unless
// GroupOrderPublisher and the filter unless FilterNone, and its parser fills
// in the draft-16 defaults: priority 128, forward true, publisher's order,
// no filter.
type Subscribe struct {
	RequestID          uint64
	Namespace          Namespace
	TrackName          string
	SubscriberPriority uint8
	GroupOrder         GroupOrder
	Forward            bool
	Filter             Filter
	Params             Params
}

func (m *Subscribe) controlType(Version) (uint64, error) { return typeSubscribe, nil }

func (m *Subscribe) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	e.namespace(m.Namespace, v, trackNamespace)
	e.trackName(m.TrackName, m.Namespace)
	if v == Draft14 {
		e.delivery14(m.SubscriberPriority, m.GroupOrder, m.Forward, m.Filter)
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
	e.params(m.Params.appendTo(kvs, v, false), v)
}

func (m *Subscribe) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	m.Namespace = d.namespace(v, trackNamespace)
	m.TrackName = d.trackName(m.Namespace)
	if v == Draft14 {
		m.SubscriberPriority, m.GroupOrder, m.Forward, m.Filter = d.delivery14()
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
		default:
			m.Params.take(d, v, kv)
		}
	})
}

// delivery14 writes the subscriber priority, group order, forward and
// filter fields that draft-14 SUBSCRIBE and TRACK_STATUS share (§9.7).
func (e *encoder) delivery14(prio uint8, order GroupOrder, forward bool, f Filter) {
	e.u8(prio)
	e.groupOrder(order, true)
	e.bool8(forward)
	e.filter(f)
}

// delivery14 reads what encoder.delivery14 writes.
func (d *decoder) delivery14() (uint8, GroupOrder, bool, Filter) {
	prio := d.u8()
	order := d.groupOrder(true)
	forward := d.bool8("forward")
	return prio, order, forward, d.filter()
}

// SubscribeOK is SUBSCRIBE_OK (type 0x04; draft-14 §9.8, draft-16 §9.10).
//
// Draft-16 moved Expires and Largest into the EXPIRES and LARGEST_OBJECT
// parameters, and the publisher's group order, delivery timeout and cache
// duration into Track Extensions (DEFAULT_PUBLISHER_GROUP_ORDER,
// DELIVERY_TIMEOUT, MAX_CACHE_DURATION), which the draft-16 codec maps to
// GroupOrder and Params.
type SubscribeOK struct {
	RequestID  uint64
	TrackAlias uint64
	// Expires is the subscription lifetime in milliseconds; 0 means it does
	// not expire (and, in draft-16, that EXPIRES is absent).
	Expires uint64
	// GroupOrder is the delivery order: 1 or 2 in draft-14. In draft-16 it is
	// the DEFAULT_PUBLISHER_GROUP_ORDER track extension, where
	// GroupOrderPublisher means absent (ascending). The draft-16 parser also
	// takes it from a GROUP_ORDER parameter, which Eyevinn v0.9.0 sends
	// instead.
	GroupOrder GroupOrder
	// Largest is the Largest Location; nil means no content yet (draft-14
	// Content Exists 0, draft-16 no LARGEST_OBJECT).
	Largest *Location
	Params  Params
	// Extensions are the draft-16 Track Extensions other than the mapped
	// ones; draft-14 ignores them.
	Extensions []KeyValue
}

func (m *SubscribeOK) controlType(Version) (uint64, error) { return typeSubscribeOK, nil }

func (m *SubscribeOK) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	e.varint(m.TrackAlias)
	if v == Draft14 {
		e.varint(m.Expires)
		e.groupOrder(m.GroupOrder, false)
		e.bool8(m.Largest != nil)
		if m.Largest != nil {
			e.location(*m.Largest)
		}
		e.params(m.Params.appendTo(nil, v, false), v)
		return
	}
	var kvs []KeyValue
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

func (m *SubscribeOK) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	m.TrackAlias = d.varint()
	if v == Draft14 {
		m.Expires = d.varint()
		m.GroupOrder = d.groupOrder(false)
		if d.bool8("content exists") {
			l := d.location()
			m.Largest = &l
		}
		d.params(v, func(kv KeyValue) { m.Params.take(d, v, kv) })
		return
	}
	d.params(v, func(kv KeyValue) {
		switch kv.Type {
		case paramExpires:
			m.Expires = kv.Value
		case paramLargestObject:
			m.Largest = d.largestValue(kv.Bytes)
		case paramGroupOrder: // Eyevinn v0.9.0, see GroupOrder
			m.GroupOrder = d.groupOrderValue(kv.Value)
		default:
			m.Params.take(d, v, kv)
		}
	})
	m.Extensions = d.trackExtensions(&m.GroupOrder, &m.Params)
}

// Unsubscribe is UNSUBSCRIBE (type 0x0A; draft-14 §9.11, draft-16 §9.12).
type Unsubscribe struct {
	RequestID uint64
}

func (m *Unsubscribe) controlType(Version) (uint64, error) { return typeUnsubscribe, nil }
func (m *Unsubscribe) encode(e *encoder, _ Version)        { e.varint(m.RequestID) }
func (m *Unsubscribe) decode(d *decoder, _ Version, _ uint64) {
	m.RequestID = d.varint()
}
