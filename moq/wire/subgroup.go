package wire

import (
	"fmt"
	"io"
)

// Limits on data stream fields. They bound what a reader accepts before the
// caller allocates for it.
const (
	// MaxObjectPayloadLength bounds an object's Payload Length. The drafts
	// set no limit; 64 MiB is far above a media object (a GOP of 4K video
	// is a few MiB) and keeps a hostile length from making the caller
	// allocate gigabytes.
	MaxObjectPayloadLength = 64 << 20
	// MaxExtensionsLength bounds an object's Extension Headers Length: room
	// for two maximum-size Key-Value-Pairs (§1.4.2). Real extension blocks
	// (LOC, MSF, gap extensions) are tens of bytes.
	MaxExtensionsLength = 2 * (MaxKeyValueLength + 16)
)

// StreamTypeFetchHeader is the stream type of a FETCH response stream
// (draft-14 §10.4.4, draft-16 §10.4.4).
const StreamTypeFetchHeader = 0x05

// Padding (draft-18 §11.5): a unidirectional stream or a datagram that
// starts with these types carries zero bytes for the receiver to discard.
const (
	StreamTypePadding   = 0x132B3E28
	datagramTypePadding = 0x132B3E29
)

// IsPaddingDatagram reports whether b is a draft-18 padding datagram.
func IsPaddingDatagram(b []byte) bool {
	t, _, err := ParseVI64(b)
	return err == nil && t == datagramTypePadding
}

// Reader is what the data stream readers consume; *bufio.Reader and
// *bytes.Reader satisfy it.
type Reader interface {
	io.Reader
	io.ByteReader
}

// ReadStreamType reads the varint that starts every unidirectional stream
// (draft-14/16 §10). Dispatch on it: StreamTypeFetchHeader goes to
// ReadFetchHeader, a type for which IsSubgroupType holds to
// ReadSubgroupHeader, anything else is ErrUnknownType. A stream that ends
// before the type yields io.EOF.
func ReadStreamType(r io.ByteReader, v Version) (uint64, error) { return readInt(r, v) }

// IsSubgroupType reports whether t is a SUBGROUP_HEADER type of v:
// 0x10–0x15 and 0x18–0x1D, plus in draft-16 the same with the
// DEFAULT_PRIORITY bit 0x20 set (draft-16 §10.4.2). Subgroup ID mode 0b11
// (0x16, 0x17, 0x1E, 0x1F, ...) is reserved.
func IsSubgroupType(t uint64, v Version) bool {
	if v.layout16() {
		t &^= 0x20
	}
	if v.vi64() {
		t &^= subgroupFirstObject
	}
	return t >= 0x10 && t <= 0x1d && t&0x06 != 0x06
}

// SubgroupIDMode says where a subgroup's ID comes from (the SUBGROUP_ID_MODE
// bits 0x06 of the stream type, draft-16 §10.4.2; draft-14 §10.4.2 Table 7).
type SubgroupIDMode uint8

// Subgroup ID modes.
const (
	// SubgroupIDZero: no Subgroup ID field, the ID is 0 (types 0x10, 0x11).
	SubgroupIDZero SubgroupIDMode = 0
	// SubgroupIDFirstObject: no field, the ID is the first object's ID
	// (types 0x12, 0x13).
	SubgroupIDFirstObject SubgroupIDMode = 1
	// SubgroupIDExplicit: the header carries the ID (types 0x14, 0x15).
	SubgroupIDExplicit SubgroupIDMode = 2
)

// SubgroupHeader is SUBGROUP_HEADER (draft-14 §10.4.2, draft-16 §10.4.2),
// the start of a subgroup stream. The stream type is derived from the flags.
type SubgroupHeader struct {
	TrackAlias uint64
	GroupID    uint64
	// SubgroupID is written only in SubgroupIDExplicit mode. In
	// SubgroupIDFirstObject mode a writer sets it to the first object's ID
	// (AppendObjectHeader checks) and a reader learns it from the first
	// object (ReadObjectHeader sets it).
	SubgroupID     uint64
	SubgroupIDMode SubgroupIDMode
	// PublisherPriority is not written when DefaultPriority is set.
	PublisherPriority uint8
	// DefaultPriority is the draft-16 DEFAULT_PRIORITY bit (0x20): the
	// priority is inherited from the subscription. Draft-14 has no such
	// types; its encoder ignores the flag and writes the priority.
	DefaultPriority bool
	// Extensions is the EXTENSIONS bit (0x01): every object carries an
	// Extension Headers Length, possibly 0.
	Extensions bool
	// EndOfGroup is the END_OF_GROUP bit (0x08): the last object before the
	// FIN is the last object of the group.
	EndOfGroup bool
	// FirstObject is the draft-18 FIRST_OBJECT bit (0x40, §11.4.2): the
	// stream's first object is the subgroup's first. Older drafts ignore it.
	FirstObject bool
}

// subgroupFirstObject is the FIRST_OBJECT bit of a draft-18 SUBGROUP_HEADER
// type.
const subgroupFirstObject = 0x40

// StreamType returns the SUBGROUP_HEADER type for h in v.
func (h *SubgroupHeader) StreamType(v Version) uint64 {
	t := 0x10 | uint64(h.SubgroupIDMode&0x3)<<1
	if h.Extensions {
		t |= 0x01
	}
	if h.EndOfGroup {
		t |= 0x08
	}
	if h.DefaultPriority && v.layout16() {
		t |= 0x20
	}
	if h.FirstObject && v.vi64() {
		t |= subgroupFirstObject
	}
	return t
}

// Append appends the stream type and the header. Every ID must fit a varint
// (below 2^62) and SubgroupIDMode must be one of the constants; Append
// panics otherwise, as quicvarint does.
func (h *SubgroupHeader) Append(b []byte, v Version) []byte {
	if h.SubgroupIDMode > SubgroupIDExplicit {
		panic(fmt.Sprintf("wire: invalid subgroup ID mode %d", h.SubgroupIDMode))
	}
	b = appendInt(b, v, h.StreamType(v))
	b = appendInt(b, v, h.TrackAlias)
	b = appendInt(b, v, h.GroupID)
	if h.SubgroupIDMode == SubgroupIDExplicit {
		b = appendInt(b, v, h.SubgroupID)
	}
	if !h.DefaultPriority || !v.layout16() {
		b = append(b, h.PublisherPriority)
	}
	return b
}

// ReadSubgroupHeader reads the rest of a SUBGROUP_HEADER whose stream type
// was read by ReadStreamType.
func ReadSubgroupHeader(r io.ByteReader, v Version, streamType uint64) (SubgroupHeader, error) {
	if err := v.check(); err != nil {
		return SubgroupHeader{}, err
	}
	if !IsSubgroupType(streamType, v) {
		return SubgroupHeader{}, fmt.Errorf("%w: stream type 0x%x in %v", ErrUnknownType, streamType, v)
	}
	h := SubgroupHeader{
		SubgroupIDMode:  SubgroupIDMode(streamType>>1) & 0x3,
		Extensions:      streamType&0x01 != 0,
		EndOfGroup:      streamType&0x08 != 0,
		DefaultPriority: streamType&0x20 != 0,
		FirstObject:     v.vi64() && streamType&subgroupFirstObject != 0,
	}
	var err error
	if h.TrackAlias, err = readFieldV(r, v); err != nil {
		return SubgroupHeader{}, err
	}
	if h.GroupID, err = readFieldV(r, v); err != nil {
		return SubgroupHeader{}, err
	}
	if h.SubgroupIDMode == SubgroupIDExplicit {
		if h.SubgroupID, err = readFieldV(r, v); err != nil {
			return SubgroupHeader{}, err
		}
	}
	if !h.DefaultPriority {
		if h.PublisherPriority, err = readByte(r); err != nil {
			return SubgroupHeader{}, err
		}
	}
	return h, nil
}

// ObjectStatus is an Object Status (draft-14 §10.2.1.1, draft-16
// §10.2.1.1). It is on the wire only for zero-length objects.
type ObjectStatus uint64

// Object statuses.
const (
	StatusNormal ObjectStatus = 0x0
	// StatusDoesNotExist exists in draft-14 only; draft-16 signals missing
	// objects with gaps and extensions, and rejects this value.
	StatusDoesNotExist ObjectStatus = 0x1
	StatusEndOfGroup   ObjectStatus = 0x3
	StatusEndOfTrack   ObjectStatus = 0x4
)

// checkStatus validates a status and the extension headers that come with it:
// draft-14 forbids extensions on a non-existent object, draft-16 on any
// status but Normal (draft-16 §10.2.1.2).
func checkStatus(s ObjectStatus, v Version, hasExt bool) error {
	switch s {
	case StatusNormal, StatusEndOfGroup, StatusEndOfTrack:
	case StatusDoesNotExist:
		if v.layout16() {
			return fmt.Errorf("%w: object status %d in draft-16", ErrProtocolViolation, s)
		}
	default:
		return fmt.Errorf("%w: object status %d", ErrProtocolViolation, s)
	}
	if hasExt && (s == StatusDoesNotExist || (v.layout16() && s != StatusNormal)) {
		return fmt.Errorf("%w: extension headers on an object with status %d", ErrProtocolViolation, s)
	}
	return nil
}

// ObjectHeader is the per-object header on a subgroup stream (draft-14
// §10.4.2 Figure 33, draft-16 §10.4.2 Figure 29); the payload follows it.
type ObjectHeader struct {
	ObjectID uint64
	// Extensions is the raw extension header block (Key-Value-Pairs encoded
	// for the version, see AppendKeyValues); empty means none. The reader
	// validates it and returns a slice that is only valid until the next
	// ReadObjectHeader on the same stream.
	Extensions []byte
	// PayloadLength is the length of the payload that follows; the caller
	// writes or reads the payload itself.
	PayloadLength uint64
	// Status is written only when PayloadLength is 0; a non-Normal status
	// requires PayloadLength 0.
	Status ObjectStatus
}

// SubgroupStream carries what encoding and decoding the objects of one
// subgroup stream needs: the header and the previous Object ID, since Object
// IDs are sent as deltas (ID = delta for the first object, previous + delta +
// 1 after that). Use one per stream; the zero counters mean "no object yet".
type SubgroupStream struct {
	Version Version
	Header  SubgroupHeader

	objects uint64
	lastID  uint64
	ext     []byte // reused extension buffer, so only the first object with extensions allocates
}

// AppendObjectHeader appends the header of the next object: Object ID Delta,
// the extension block if the stream type has one, Payload Length and, for an
// empty object, the status. Object IDs must increase within the stream. It
// allocates nothing.
func (s *SubgroupStream) AppendObjectHeader(b []byte, h ObjectHeader) ([]byte, error) {
	if len(h.Extensions) > 0 && !s.Header.Extensions {
		return b, fmt.Errorf("wire: extension headers on a subgroup stream type without extensions")
	}
	if h.PayloadLength > 0 && h.Status != StatusNormal {
		return b, fmt.Errorf("wire: object status %d with a payload", h.Status)
	}
	if err := checkStatus(h.Status, s.Version, len(h.Extensions) > 0); err != nil {
		return b, err
	}
	if len(h.Extensions) > MaxExtensionsLength {
		return b, fmt.Errorf("wire: extension headers of %d bytes: %w", len(h.Extensions), ErrTooLarge)
	}
	if m := maxInt(s.Version); h.ObjectID > m || h.PayloadLength > m {
		return b, fmt.Errorf("wire: object ID or payload length does not fit a varint")
	}
	delta := h.ObjectID
	if s.objects > 0 {
		if h.ObjectID <= s.lastID {
			return b, fmt.Errorf("wire: object ID %d after %d in a subgroup", h.ObjectID, s.lastID)
		}
		delta = h.ObjectID - s.lastID - 1
	} else if s.Header.SubgroupIDMode == SubgroupIDFirstObject && s.Header.SubgroupID != h.ObjectID {
		return b, fmt.Errorf("wire: subgroup ID %d is not the first object ID %d", s.Header.SubgroupID, h.ObjectID)
	}
	v := s.Version
	b = appendInt(b, v, delta)
	if s.Header.Extensions {
		b = appendInt(b, v, uint64(len(h.Extensions)))
		b = append(b, h.Extensions...)
	}
	b = appendInt(b, v, h.PayloadLength)
	if h.PayloadLength == 0 {
		b = appendInt(b, v, uint64(h.Status))
	}
	s.objects++
	s.lastID = h.ObjectID
	return b, nil
}

// ReadObjectHeader reads the header of the next object; the caller then
// reads PayloadLength bytes of payload (at most MaxObjectPayloadLength)
// before the next call. It returns io.EOF when the stream ends cleanly
// before an object and io.ErrUnexpectedEOF when it ends inside a header. It
// allocates nothing unless the object carries extension headers.
func (s *SubgroupStream) ReadObjectHeader(r Reader) (ObjectHeader, error) {
	v := s.Version
	delta, err := readInt(r, v)
	if err != nil {
		return ObjectHeader{}, err
	}
	var h ObjectHeader
	if s.objects == 0 {
		h.ObjectID = delta
	} else {
		if delta >= maxInt(v)-s.lastID {
			return ObjectHeader{}, fmt.Errorf("%w: object ID delta %d overflows", ErrProtocolViolation, delta)
		}
		h.ObjectID = s.lastID + delta + 1
	}
	if s.Header.Extensions {
		if h.Extensions, err = s.readExtensions(r); err != nil {
			return ObjectHeader{}, err
		}
	}
	if h.PayloadLength, err = readFieldV(r, v); err != nil {
		return ObjectHeader{}, err
	}
	if h.PayloadLength > MaxObjectPayloadLength {
		return ObjectHeader{}, fmt.Errorf("%w: object payload of %d bytes", ErrTooLarge, h.PayloadLength)
	}
	if h.PayloadLength == 0 {
		st, err := readFieldV(r, v)
		if err != nil {
			return ObjectHeader{}, err
		}
		h.Status = ObjectStatus(st)
		if err := checkStatus(h.Status, s.Version, len(h.Extensions) > 0); err != nil {
			return ObjectHeader{}, err
		}
	}
	// The state changes only once the whole header is in, so a failed read
	// leaves the stream as it was.
	if s.objects == 0 && s.Header.SubgroupIDMode == SubgroupIDFirstObject {
		s.Header.SubgroupID = h.ObjectID
	}
	s.objects++
	s.lastID = h.ObjectID
	return h, nil
}

func (s *SubgroupStream) readExtensions(r Reader) ([]byte, error) {
	ext, buf, err := readExtensionBlock(r, s.Version, s.ext)
	s.ext = buf
	return ext, err
}

// readExtensionBlock reads Extension Headers Length and the block into buf
// (grown if needed, and returned for reuse) and validates it. An empty block
// returns nil.
func readExtensionBlock(r Reader, v Version, buf []byte) (ext, newBuf []byte, err error) {
	n, err := readFieldV(r, v)
	if err != nil {
		return nil, buf, err
	}
	if n == 0 {
		return nil, buf, nil
	}
	if n > MaxExtensionsLength {
		return nil, buf, fmt.Errorf("%w: extension headers of %d bytes", ErrTooLarge, n)
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	ext = buf[:n]
	if _, err := io.ReadFull(r, ext); err != nil {
		return nil, buf, noEOF(err)
	}
	if err := validateKeyValues(ext, v); err != nil {
		return nil, buf, fmt.Errorf("extension headers: %w", err)
	}
	return ext, buf, nil
}
