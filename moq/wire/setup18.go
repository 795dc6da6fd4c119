package wire

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// SETUP of draft-18 and later (draft-18 §10.3, draft-21 §9.1): one message
// both peers send, first on their unidirectional control stream. Its type
// doubles as the stream type.
//
//	SETUP Message {
//	  Type (vi64) = 0x2F00,
//	  Length (16),
//	  Setup Options (..) ...,
//	}
//
// The options are Key-Value-Pairs (draft-18 §1.4.3) to the end of the
// message, with no count: each type is a delta from the previous one (from
// 0), an odd type has a Length (at most 2^16-1) and bytes, an even one a
// single integer. Unknown options are kept, duplicates included;
// MAX_REQUEST_ID no longer exists and is an unknown option there.

// TypeSetup18 is the SETUP message type (and control stream type).
const TypeSetup18 = 0x2F00

// maxControlLength is the longest control message body: its Length is 16
// bits.
const maxControlLength = 1<<16 - 1

// AppendSetup18 appends a SETUP carrying p. p.MaxRequestID must be 0:
// these drafts have no such option.
func AppendSetup18(b []byte, p SetupParams) ([]byte, error) {
	if p.MaxRequestID != 0 {
		return b, fmt.Errorf("wire: MAX_REQUEST_ID does not exist from draft-17 on: %w", ErrProtocolViolation)
	}
	kvs := p.keyValues()
	// Deltas cannot be negative: options go out in type order.
	slices.SortStableFunc(kvs, func(a, b KeyValue) int { return cmp.Compare(a.Type, b.Type) })
	var body []byte
	var prev uint64
	for _, kv := range kvs {
		body = AppendVI64(body, kv.Type-prev)
		prev = kv.Type
		if kv.Type%2 == 0 {
			body = AppendVI64(body, kv.Value)
			continue
		}
		if len(kv.Bytes) > maxControlLength {
			return b, fmt.Errorf("wire: setup option 0x%x is %d bytes: %w", kv.Type, len(kv.Bytes), ErrTooLarge)
		}
		body = AppendVI64(body, uint64(len(kv.Bytes)))
		body = append(body, kv.Bytes...)
	}
	if len(body) > maxControlLength {
		return b, fmt.Errorf("wire: SETUP is %d bytes: %w", len(body), ErrTooLarge)
	}
	b = AppendVI64(b, TypeSetup18)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...), nil
}

// ParseSetup18 parses a SETUP at the start of b and returns its options
// and the bytes it took; io.ErrUnexpectedEOF while b holds less than the
// whole message.
func ParseSetup18(b []byte) (SetupParams, int, error) {
	var p SetupParams
	typ, n, err := ParseVI64(b)
	if err != nil {
		return p, 0, err
	}
	if typ != TypeSetup18 {
		return p, 0, fmt.Errorf("wire: message type 0x%x where SETUP must be: %w", typ, ErrProtocolViolation)
	}
	if len(b) < n+2 {
		return p, 0, io.ErrUnexpectedEOF
	}
	length := int(binary.BigEndian.Uint16(b[n:]))
	n += 2
	if len(b) < n+length {
		return p, 0, io.ErrUnexpectedEOF
	}
	body := b[n : n+length]
	var prev uint64
	var seen dupCheck
	for len(body) > 0 {
		delta, k, err := ParseVI64(body)
		if err != nil {
			return p, 0, fmt.Errorf("wire: SETUP option type: %w", ErrProtocolViolation)
		}
		body = body[k:]
		if delta > ^uint64(0)-prev {
			return p, 0, fmt.Errorf("wire: SETUP option type overflows: %w", ErrProtocolViolation)
		}
		kv := KeyValue{Type: prev + delta}
		prev = kv.Type
		v, k, err := ParseVI64(body)
		if err != nil {
			return p, 0, fmt.Errorf("wire: SETUP option 0x%x: %w", kv.Type, ErrProtocolViolation)
		}
		body = body[k:]
		if kv.Type%2 == 0 {
			kv.Value = v
		} else {
			if v > maxControlLength || v > uint64(len(body)) {
				return p, 0, fmt.Errorf("wire: SETUP option 0x%x of %d bytes: %w", kv.Type, v, ErrProtocolViolation)
			}
			kv.Bytes, body = body[:v:v], body[v:]
		}
		if err := p.set(kv, &seen, false); err != nil {
			return p, 0, fmt.Errorf("wire: %w: %w", err, ErrProtocolViolation)
		}
	}
	return p, n + length, nil
}
