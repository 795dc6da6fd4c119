package wire

import (
	"cmp"
	"fmt"
	"slices"
)

// MaxKeyValueLength is the longest value of an odd-typed Key-Value-Pair
// (draft-14/16 §1.4.2); a longer one is a PROTOCOL_VIOLATION.
const MaxKeyValueLength = 1<<16 - 1

// KeyValue is one Key-Value-Pair (draft-14/16 §1.4.2): parameters of
// control messages and extension headers of tracks and objects. An even Type
// carries a varint Value, an odd Type a byte string of at most
// MaxKeyValueLength. Draft-14 writes each Type as is; draft-16 writes the
// difference to the previous Type, so its encoder sorts pairs by Type.
type KeyValue struct {
	Type  uint64
	Value uint64 // even Type
	Bytes []byte // odd Type
}

// Message parameter types. Draft-14 §9.2.1 defines 0x02–0x04; draft-16
// §13.2 drops MAX_CACHE_DURATION (it became a track extension) and adds the
// rest, most of which replace draft-14 message fields.
const (
	paramDeliveryTimeout    = 0x02
	paramAuthorizationToken = 0x03
	paramMaxCacheDuration   = 0x04 // draft-14 only
	paramExpires            = 0x08 // draft-16
	paramLargestObject      = 0x09 // draft-16
	paramForward            = 0x10 // draft-16
	paramSubscriberPriority = 0x20 // draft-16
	paramSubscriptionFilter = 0x21 // draft-16
	paramGroupOrder         = 0x22 // draft-16
	paramNewGroupRequest    = 0x32 // draft-16
)

// Extension header types (draft-14 §11, draft-16 §11 and §13.3). Track
// extensions are draft-16 only; the draft-16 codec maps
// ExtensionDeliveryTimeout, ExtensionMaxCacheDuration and
// ExtensionDefaultGroupOrder to struct fields and leaves the others in the
// messages' Extensions lists.
const (
	ExtensionDeliveryTimeout          = 0x02 // draft-16 track extension
	ExtensionMaxCacheDuration         = 0x04 // draft-16 track extension
	ExtensionImmutable                = 0x0b
	ExtensionDefaultPublisherPriority = 0x0e // draft-16 track extension
	ExtensionDefaultGroupOrder        = 0x22 // draft-16 track extension
	ExtensionDynamicGroups            = 0x30 // draft-16 track extension
	ExtensionPriorGroupIDGap          = 0x3c
	ExtensionPriorObjectIDGap         = 0x3e
)

// MessageParamDefined reports whether t is a message parameter type that
// draft v defines. Draft-16 §9.2 requires closing the session with
// PROTOCOL_VIOLATION on an unknown message parameter, while draft-14 §9.2
// ignores them; the parsers keep unknown parameters in Params.Unknown (along
// with defined ones a message does not map, which the drafts say to ignore)
// so the session can apply the rule.
func MessageParamDefined(v Version, t uint64) bool {
	switch t {
	case paramDeliveryTimeout, paramAuthorizationToken:
		return true
	case paramMaxCacheDuration:
		return v == Draft14
	case paramExpires, paramLargestObject, paramForward, paramSubscriberPriority,
		paramSubscriptionFilter, paramGroupOrder, paramNewGroupRequest:
		return v == Draft16
	}
	return false
}

// Params are the message parameters common to many messages (draft-14
// §9.2.1, draft-16 §9.2.2). Parameters that replace draft-14 message fields
// live on the messages themselves.
type Params struct {
	// AuthorizationTokens are the AUTHORIZATION_TOKEN values (0x03,
	// repeatable), each a serialized Token structure. They are kept as bytes
	// because peers disagree on the value (Eyevinn v0.9.0 sends a bare token
	// string); ParseToken decodes one.
	AuthorizationTokens [][]byte
	// DeliveryTimeout is DELIVERY_TIMEOUT (0x02) in milliseconds; 0 means
	// absent (draft-16 forbids 0). In draft-16 SUBSCRIBE_OK, PUBLISH and
	// FETCH_OK it travels as the DELIVERY_TIMEOUT track extension.
	DeliveryTimeout uint64
	// MaxCacheDuration is MAX_CACHE_DURATION in milliseconds; 0 means
	// absent. Draft-14 sends it as parameter 0x04; draft-16 only as a track
	// extension of SUBSCRIBE_OK, PUBLISH and FETCH_OK, and the draft-16
	// encoder ignores it elsewhere.
	MaxCacheDuration uint64
	// NewGroupRequest is the draft-16 NEW_GROUP_REQUEST parameter (0x32):
	// the largest Group ID the subscriber knows plus one, 0 for none; nil
	// means absent. The draft-14 encoder ignores it.
	NewGroupRequest *uint64
	// Unknown holds every other parameter, in wire order.
	Unknown []KeyValue
}

// appendTo adds the parameters to kvs. trackExt is set for the draft-16
// messages with track extensions, where delivery timeout and cache duration
// travel as extensions instead (see trackProps).
func (p *Params) appendTo(kvs []KeyValue, v Version, trackExt bool) []KeyValue {
	if p.DeliveryTimeout != 0 && (v == Draft14 || !trackExt) {
		kvs = append(kvs, KeyValue{Type: paramDeliveryTimeout, Value: p.DeliveryTimeout})
	}
	for _, t := range p.AuthorizationTokens {
		kvs = append(kvs, KeyValue{Type: paramAuthorizationToken, Bytes: t})
	}
	if p.MaxCacheDuration != 0 && v == Draft14 {
		kvs = append(kvs, KeyValue{Type: paramMaxCacheDuration, Value: p.MaxCacheDuration})
	}
	if p.NewGroupRequest != nil && v == Draft16 {
		kvs = append(kvs, KeyValue{Type: paramNewGroupRequest, Value: *p.NewGroupRequest})
	}
	return append(kvs, p.Unknown...)
}

// take stores a parameter that the message itself did not claim.
func (p *Params) take(d *decoder, v Version, kv KeyValue) {
	v = d.semantics(v)
	switch {
	case kv.Type == paramDeliveryTimeout:
		if kv.Value == 0 && v == Draft16 {
			d.violation("DELIVERY_TIMEOUT is 0 (draft-16 §9.2.2.2)")
		}
		p.DeliveryTimeout = kv.Value
	case kv.Type == paramAuthorizationToken:
		p.AuthorizationTokens = append(p.AuthorizationTokens, kv.Bytes)
	case kv.Type == paramMaxCacheDuration && v == Draft14:
		p.MaxCacheDuration = kv.Value
	case kv.Type == paramNewGroupRequest && v == Draft16:
		n := kv.Value
		p.NewGroupRequest = &n
	default:
		p.Unknown = append(p.Unknown, kv)
	}
}

// singleParam reports whether a message parameter type may appear at most
// once (draft-14 §9.2, draft-16 §9.2): every defined one except
// AUTHORIZATION_TOKEN. Unknown types may repeat.
func singleParam(v Version, t uint64) bool {
	return t != paramAuthorizationToken && MessageParamDefined(v, t)
}

// dupCheck remembers the single-instance types seen in one parameter list;
// at most a dozen types are tracked, so an array beats a map.
type dupCheck struct {
	n int
	t [16]uint64
}

func (c *dupCheck) add(t uint64) bool {
	for _, s := range c.t[:c.n] {
		if s == t {
			return false
		}
	}
	if c.n < len(c.t) {
		c.t[c.n] = t
		c.n++
	}
	return true
}

// appendKeyValue writes one pair; prev is the previous Type for draft-16
// delta encoding.
func (e *encoder) keyValue(kv KeyValue, v Version, prev uint64) {
	t := kv.Type
	if v.layout16() {
		t -= prev
	}
	e.varint(t)
	if kv.Type%2 == 0 {
		if kv.Bytes != nil {
			e.fail("key-value type 0x%x is even but has bytes", kv.Type)
		}
		e.varint(kv.Value)
		return
	}
	if kv.Value != 0 {
		e.fail("key-value type 0x%x is odd but has a varint value", kv.Type)
	}
	e.bytes(kv.Bytes, MaxKeyValueLength, "key-value pair")
}

// keyValues writes pairs without a count; draft-16 needs them ascending by
// Type, so an unsorted list is sorted on a copy.
func (e *encoder) keyValues(kvs []KeyValue, v Version) {
	if v.layout16() && !slices.IsSortedFunc(kvs, compareType) {
		kvs = slices.Clone(kvs)
		slices.SortStableFunc(kvs, compareType)
	}
	var prev uint64
	for _, kv := range kvs {
		e.keyValue(kv, v, prev)
		prev = kv.Type
	}
}

func compareType(a, b KeyValue) int { return cmp.Compare(a.Type, b.Type) }

// params writes Number of Parameters and the parameters.
func (e *encoder) params(kvs []KeyValue, v Version) {
	e.varint(uint64(len(kvs)))
	e.keyValues(kvs, v)
}

// keyValue reads one pair; prev carries the previous Type for draft-16.
func (d *decoder) keyValue(v Version, prev *uint64) KeyValue {
	t := d.varint()
	if d.err != nil {
		return KeyValue{}
	}
	if v.layout16() {
		if t > ^uint64(0)-*prev {
			d.violation("key-value type delta overflows (draft-16 §1.4.2)")
			return KeyValue{}
		}
		t += *prev
	}
	*prev = t
	if t%2 == 0 {
		return KeyValue{Type: t, Value: d.varint()}
	}
	return KeyValue{Type: t, Bytes: d.bytes(MaxKeyValueLength, "key-value pair")}
}

// params reads Number of Parameters and the parameters, rejecting repeats of
// single-instance message parameters. The count allocates nothing: every
// pair takes at least two bytes, so a hostile count runs out of payload.
func (d *decoder) params(v Version, handle func(KeyValue)) {
	n := d.varint()
	var prev uint64
	var seen dupCheck
	for i := uint64(0); i < n && d.err == nil; i++ {
		kv := d.keyValue(v, &prev)
		if d.err != nil {
			return
		}
		if singleParam(d.semantics(v), kv.Type) && !seen.add(kv.Type) {
			d.violation("parameter 0x%x repeated", kv.Type)
			return
		}
		handle(kv)
	}
}

// AppendKeyValues appends pairs without a count or length, as in an
// extension header block, encoded for v (draft-16 sorts them by Type).
func AppendKeyValues(b []byte, v Version, kvs []KeyValue) ([]byte, error) {
	if err := v.check(); err != nil {
		return b, err
	}
	e := encoder{b: b, vi: v.vi64()}
	e.keyValues(kvs, v)
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

// ParseKeyValues parses a block of pairs that fills b, such as the extension
// headers of an object. Odd-typed values alias b.
func ParseKeyValues(b []byte, v Version) ([]KeyValue, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	var kvs []KeyValue
	d := decoder{b: b, vi: v.vi64()}
	var prev uint64
	for len(d.b) > 0 && d.err == nil {
		kv := d.keyValue(v, &prev)
		if d.err == nil {
			kvs = append(kvs, kv)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("key-value pairs: %w", d.err)
	}
	return kvs, nil
}

// validateKeyValues checks that b is a well-formed block of pairs without
// allocating.
func validateKeyValues(b []byte, v Version) error {
	d := decoder{b: b, vi: v.vi64()}
	var prev uint64
	for len(d.b) > 0 && d.err == nil {
		d.keyValue(v, &prev)
	}
	return d.err
}

// TokenAliasType says how an AUTHORIZATION_TOKEN is serialized and handled
// (draft-14 §9.2.1.1, draft-16 §9.2.2.1).
type TokenAliasType uint64

// Token alias types.
const (
	TokenDelete   TokenAliasType = 0x0
	TokenRegister TokenAliasType = 0x1
	TokenUseAlias TokenAliasType = 0x2
	TokenUseValue TokenAliasType = 0x3
)

// Token is the structure inside an AUTHORIZATION_TOKEN parameter (draft-14
// §9.2.1.1 Figure 4, draft-16 §9.2.2.1).
type Token struct {
	AliasType TokenAliasType
	Alias     uint64 // DELETE, REGISTER, USE_ALIAS
	Type      uint64 // REGISTER, USE_VALUE
	Value     []byte // REGISTER, USE_VALUE: the rest of the parameter
}

// ParseToken decodes an AUTHORIZATION_TOKEN value. A value that is not a
// Token structure is a KEY_VALUE_FORMATTING_ERROR (§9.2.1.1). Value aliases
// b.
func ParseToken(b []byte) (Token, error) {
	d := decoder{b: b}
	t := Token{AliasType: TokenAliasType(d.varint())}
	switch t.AliasType {
	case TokenDelete, TokenUseAlias:
		t.Alias = d.varint()
	case TokenRegister:
		t.Alias = d.varint()
		t.Type = d.varint()
		t.Value = d.take(len(d.b))
	case TokenUseValue:
		t.Type = d.varint()
		t.Value = d.take(len(d.b))
	default:
		d.fail(fmt.Errorf("unknown alias type %d", t.AliasType))
	}
	if err := d.finish(); err != nil {
		return Token{}, fmt.Errorf("%w: authorization token: %w", ErrKeyValueFormatting, err)
	}
	return t, nil
}

// Append appends the serialized token, the value of an
// AUTHORIZATION_TOKEN parameter.
func (t Token) Append(b []byte) ([]byte, error) {
	e := encoder{b: b}
	e.varint(uint64(t.AliasType))
	switch t.AliasType {
	case TokenDelete, TokenUseAlias:
		e.varint(t.Alias)
	case TokenRegister:
		e.varint(t.Alias)
		e.varint(t.Type)
		e.b = append(e.b, t.Value...)
	case TokenUseValue:
		e.varint(t.Type)
		e.b = append(e.b, t.Value...)
	default:
		e.fail("unknown token alias type %d", t.AliasType)
	}
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}
