package wire

import (
	"errors"
	"fmt"
	"io"

	"github.com/quic-go/quic-go/quicvarint"
)

// Field encoding and decoding shared by every message (draft-14/16 §1.4,
// Notational Conventions): QUIC varints (RFC 9000 §16), 8-bit fields,
// length-prefixed byte strings, Location and Reason Phrase.

// MaxReasonPhraseLength is the longest Reason Phrase the drafts allow
// (draft-14/16 §1.4.3); longer is a PROTOCOL_VIOLATION.
const MaxReasonPhraseLength = 1024

// encoder appends message fields to b. The first error sticks, so message
// encoders read top to bottom like the draft's figures.
type encoder struct {
	b   []byte
	err error
	vi  bool // integers in vi64 (draft-18 §1.4.1), not QUIC varints
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("wire: "+format, args...)
	}
}

func (e *encoder) varint(v uint64) {
	if e.vi {
		e.b = AppendVI64(e.b, v)
		return
	}
	if v > quicvarint.Max {
		e.fail("value %d does not fit a varint", v)
		return
	}
	e.b = quicvarint.Append(e.b, v)
}

func (e *encoder) u8(v uint8) { e.b = append(e.b, v) }

func (e *encoder) bool8(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// bytes appends a (b) field: varint length and the bytes, at most limit long.
func (e *encoder) bytes(p []byte, limit int, what string) {
	if len(p) > limit {
		e.fail("%s is %d bytes, limit %d: %w", what, len(p), limit, ErrTooLarge)
		return
	}
	e.varint(uint64(len(p)))
	e.b = append(e.b, p...)
}

func (e *encoder) string(s string, limit int, what string) {
	if len(s) > limit {
		e.fail("%s is %d bytes, limit %d: %w", what, len(s), limit, ErrTooLarge)
		return
	}
	e.varint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) reason(s string) { e.string(s, MaxReasonPhraseLength, "reason phrase") }

func (e *encoder) location(l Location) {
	e.varint(l.Group)
	e.varint(l.Object)
}

// decoder consumes message fields from b. The first error sticks; fields
// read after it are zero.
type decoder struct {
	b   []byte
	err error
	// compat16 is set while parsing a draft-16 message in the draft-14
	// layout (see parseControl): fields and Key-Value-Pair types are read as
	// draft-14, parameter meanings and namespace rules are draft-16's.
	compat16 bool
	vi       bool // integers in vi64 (draft-18 §1.4.1)
}

// semantics is the version whose parameter meanings and limits apply.
func (d *decoder) semantics(v Version) Version {
	if d.compat16 {
		return Draft16
	}
	return v
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// violation records a PROTOCOL_VIOLATION with a description.
func (d *decoder) violation(format string, args ...any) {
	d.fail(fmt.Errorf("%w: "+format, append([]any{ErrProtocolViolation}, args...)...))
}

func (d *decoder) varint() uint64 {
	if d.err != nil {
		return 0
	}
	parse := quicvarint.Parse
	if d.vi {
		parse = ParseVI64
	}
	v, n, err := parse(d.b)
	if err != nil {
		d.err = io.ErrUnexpectedEOF
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = io.ErrUnexpectedEOF
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// bool8 reads an 8-bit field that must be 0 or 1 (Forward, Content Exists,
// End Of Track).
func (d *decoder) bool8(what string) bool {
	v := d.u8()
	if v > 1 {
		d.violation("%s is %d, want 0 or 1", what, v)
	}
	return v == 1
}

// bytes reads a (b) field of at most limit bytes. The result aliases the
// decoder's buffer. The limit is checked before anything is sliced or
// allocated.
func (d *decoder) bytes(limit int, what string) []byte {
	n := d.varint()
	if d.err != nil {
		return nil
	}
	if n > uint64(limit) {
		d.fail(fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, what, n, limit))
		return nil
	}
	return d.take(int(n))
}

// take returns the next n bytes, aliasing the buffer; nil when n is 0, so
// an empty field parses the same from any buffer.
func (d *decoder) take(n int) []byte {
	if d.err != nil || n == 0 {
		return nil
	}
	if n > len(d.b) {
		d.err = io.ErrUnexpectedEOF
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) string(limit int, what string) string { return string(d.bytes(limit, what)) }

func (d *decoder) reason() string { return d.string(MaxReasonPhraseLength, "reason phrase") }

func (d *decoder) location() Location {
	g := d.varint()
	return Location{Group: g, Object: d.varint()}
}

// finish reports the first error, or ErrTrailingBytes if bytes are left.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) > 0 {
		return fmt.Errorf("%w (%d bytes)", ErrTrailingBytes, len(d.b))
	}
	return d.err
}

// Location identifies an Object in a Track (draft-14/16 §1.4.1).
type Location struct {
	Group  uint64
	Object uint64
}

// Compare orders Locations by Group, then Object (§1.4.1), returning -1, 0
// or +1.
func (l Location) Compare(o Location) int {
	switch {
	case l.Group < o.Group:
		return -1
	case l.Group > o.Group:
		return 1
	case l.Object < o.Object:
		return -1
	case l.Object > o.Object:
		return 1
	}
	return 0
}

// parseLocation parses a value that must be exactly one Location, as in the
// draft-16 LARGEST_OBJECT parameter.
func parseLocation(b []byte) (Location, error) {
	d := decoder{b: b}
	l := d.location()
	if err := d.finish(); err != nil {
		return Location{}, fmt.Errorf("%w: location: %w", ErrKeyValueFormatting, err)
	}
	return l, nil
}

func appendLocation(b []byte, l Location) []byte {
	b = quicvarint.Append(b, l.Group)
	return quicvarint.Append(b, l.Object)
}

// readVarint reads a varint from a stream: io.EOF if the stream ended before
// its first byte (a clean end between fields that may end a stream),
// io.ErrUnexpectedEOF if it ended inside it.
func readVarint(r io.ByteReader) (uint64, error) {
	first, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	n := 1 << (first >> 6)
	v := uint64(first & 0x3f)
	for i := 1; i < n; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, noEOF(err)
		}
		v = v<<8 | uint64(b)
	}
	return v, nil
}

// readInt reads one integer in v's encoding from a stream, with readVarint's
// errors.
func readInt(r io.ByteReader, v Version) (uint64, error) {
	if !v.vi64() {
		return readVarint(r)
	}
	first, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	var buf [MaxVI64Len]byte
	buf[0] = first
	n := vi64Len(first)
	for i := 1; i < n; i++ {
		if buf[i], err = r.ReadByte(); err != nil {
			return 0, noEOF(err)
		}
	}
	x, _, err := ParseVI64(buf[:n])
	return x, err
}

// readFieldV is readField in v's integer encoding.
func readFieldV(r io.ByteReader, v Version) (uint64, error) {
	x, err := readInt(r, v)
	return x, noEOF(err)
}

// appendInt appends x in v's integer encoding; x must fit (below 2^62 for
// QUIC varints).
func appendInt(b []byte, v Version, x uint64) []byte {
	if v.vi64() {
		return AppendVI64(b, x)
	}
	return quicvarint.Append(b, x)
}

// maxInt is the largest integer v's encoding carries.
func maxInt(v Version) uint64 {
	if v.vi64() {
		return ^uint64(0)
	}
	return quicvarint.Max
}

// readField reads a varint that cannot be the first thing after a clean
// stream end, so io.EOF becomes io.ErrUnexpectedEOF.
func readField(r io.ByteReader) (uint64, error) {
	v, err := readVarint(r)
	return v, noEOF(err)
}

func readByte(r io.ByteReader) (uint8, error) {
	b, err := r.ReadByte()
	return b, noEOF(err)
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
