package wire

import (
	"fmt"
)

// OBJECT_DATAGRAM type bits (draft-14 §10.3.1 Table 6, draft-16 §10.3.1).
const (
	dgExtensions      = 0x01
	dgEndOfGroup      = 0x02
	dgZeroObjectID    = 0x04
	dgDefaultPriority = 0x08 // draft-16
	dgStatus          = 0x20
)

// IsDatagramType reports whether t is an OBJECT_DATAGRAM type of v. Draft-14
// has 0x00–0x07 and 0x20–0x21; draft-16 has 0x00–0x0F and 0x20–0x2F without
// the END_OF_GROUP bit, since a status cannot end a group.
func IsDatagramType(t uint64, v Version) bool {
	if v == Draft14 {
		return t <= 0x07 || t == 0x20 || t == 0x21
	}
	return t <= 0x0f || (t >= 0x20 && t <= 0x2f && t&dgEndOfGroup == 0)
}

// Datagram is OBJECT_DATAGRAM (draft-14 §10.3.1, draft-16 §10.3.1): one
// object in one QUIC datagram.
//
// The encoder always writes the Object ID, even for object 0: the
// ZERO_OBJECT_ID types (0x04–0x07) are accepted on input but Eyevinn v0.9.0
// reads an Object ID from every datagram.
type Datagram struct {
	TrackAlias uint64
	GroupID    uint64
	ObjectID   uint64
	// PublisherPriority is not written when DefaultPriority is set.
	PublisherPriority uint8
	// DefaultPriority is the draft-16 DEFAULT_PRIORITY bit; draft-14 ignores
	// it and writes the priority.
	DefaultPriority bool
	// EndOfGroup marks the last object of its group; it cannot be combined
	// with a status.
	EndOfGroup bool
	// Status other than Normal makes a status datagram, which has no
	// payload. A Normal object with an empty Payload is written as a payload
	// datagram.
	Status ObjectStatus
	// Extensions is the raw extension header block (see
	// ObjectHeader.Extensions); the parser aliases the datagram.
	Extensions []byte
	// Payload is the rest of the datagram; the parser aliases the datagram.
	Payload []byte
}

// Append appends the encoded datagram, payload included. It allocates
// nothing beyond growing b.
func (d *Datagram) Append(b []byte, v Version) ([]byte, error) {
	if err := v.check(); err != nil {
		return b, err
	}
	t := uint64(0)
	if len(d.Extensions) > 0 {
		t |= dgExtensions
	}
	if d.EndOfGroup {
		t |= dgEndOfGroup
	}
	if d.DefaultPriority && v.layout16() {
		t |= dgDefaultPriority
	}
	if d.Status != StatusNormal {
		if len(d.Payload) > 0 || d.EndOfGroup {
			return b, fmt.Errorf("wire: status datagram with a payload or end of group")
		}
		t |= dgStatus
	}
	if err := checkStatus(d.Status, v, len(d.Extensions) > 0); err != nil {
		return b, err
	}
	if m := maxInt(v); d.TrackAlias > m || d.GroupID > m || d.ObjectID > m {
		return b, fmt.Errorf("wire: datagram ID does not fit a varint")
	}
	if len(d.Extensions) > MaxExtensionsLength {
		return b, fmt.Errorf("wire: extension headers of %d bytes: %w", len(d.Extensions), ErrTooLarge)
	}
	b = appendInt(b, v, t)
	b = appendInt(b, v, d.TrackAlias)
	b = appendInt(b, v, d.GroupID)
	b = appendInt(b, v, d.ObjectID)
	if t&dgDefaultPriority == 0 {
		b = append(b, d.PublisherPriority)
	}
	if t&dgExtensions != 0 {
		b = appendInt(b, v, uint64(len(d.Extensions)))
		b = append(b, d.Extensions...)
	}
	if t&dgStatus != 0 {
		return appendInt(b, v, uint64(d.Status)), nil
	}
	return append(b, d.Payload...), nil
}

// Parse decodes a whole datagram into d. Extensions and Payload alias b; it
// allocates nothing.
func (d *Datagram) Parse(b []byte, v Version) error {
	if err := v.check(); err != nil {
		return err
	}
	*d = Datagram{}
	dec := decoder{b: b, vi: v.vi64()}
	t := dec.varint()
	if dec.err != nil {
		return dec.err
	}
	if !IsDatagramType(t, v) {
		return fmt.Errorf("%w: datagram type 0x%x in %v", ErrUnknownType, t, v)
	}
	d.TrackAlias = dec.varint()
	d.GroupID = dec.varint()
	if t&dgZeroObjectID == 0 {
		d.ObjectID = dec.varint()
	}
	d.DefaultPriority = t&dgDefaultPriority != 0
	if !d.DefaultPriority {
		d.PublisherPriority = dec.u8()
	}
	d.EndOfGroup = t&dgEndOfGroup != 0
	if t&dgExtensions != 0 {
		// Extensions present with length 0 is a PROTOCOL_VIOLATION
		// (draft-14/16 §10.3.1).
		d.Extensions = dec.bytes(MaxExtensionsLength, "extension headers")
		if dec.err == nil && len(d.Extensions) == 0 {
			return fmt.Errorf("%w: datagram extensions present with length 0", ErrProtocolViolation)
		}
	}
	if t&dgStatus != 0 {
		d.Status = ObjectStatus(dec.varint())
		if err := dec.finish(); err != nil {
			return err
		}
	} else {
		d.Payload = dec.take(len(dec.b))
	}
	if dec.err != nil {
		return dec.err
	}
	if d.Extensions != nil {
		if err := validateKeyValues(d.Extensions, v); err != nil {
			return fmt.Errorf("extension headers: %w", err)
		}
	}
	return checkStatus(d.Status, v, d.Extensions != nil)
}
