package wire

import (
	"fmt"
	"io"

	"github.com/quic-go/quic-go/quicvarint"
)

// FetchHeader is FETCH_HEADER (type 0x05; draft-14 §10.4.4, draft-16
// §10.4.4), the start of a FETCH response stream.
type FetchHeader struct {
	RequestID uint64
}

// Append appends the stream type and the header in v's integer encoding.
// RequestID must fit a varint before draft-18; Append panics otherwise, as
// quicvarint does.
func (h FetchHeader) Append(b []byte, v Version) []byte {
	b = appendInt(b, v, StreamTypeFetchHeader)
	return appendInt(b, v, h.RequestID)
}

// ReadFetchHeader reads the rest of a FETCH_HEADER whose stream type was read
// by ReadStreamType.
func ReadFetchHeader(r io.ByteReader, v Version) (FetchHeader, error) {
	id, err := readFieldV(r, v)
	return FetchHeader{RequestID: id}, err
}

// EndOfRange marks a draft-16 End of Range entry on a fetch stream
// (draft-16 §10.4.4.2).
type EndOfRange uint8

// End of Range kinds.
const (
	// NotEndOfRange: the entry is an object.
	NotEndOfRange EndOfRange = iota
	// EndOfNonExistentRange (Serialization Flags 0x8C): the objects after
	// the previous entry up to and including the entry's location do not
	// exist.
	EndOfNonExistentRange
	// EndOfUnknownRange (Serialization Flags 0x10C): their status is
	// unknown.
	EndOfUnknownRange
)

// Draft-16 fetch object Serialization Flags (draft-16 §10.4.4.1).
const (
	fetchSubgroupMask     = 0x03
	fetchSubgroupZero     = 0x00
	fetchSubgroupPrior    = 0x01
	fetchSubgroupNext     = 0x02
	fetchSubgroupPresent  = 0x03
	fetchObjectPresent    = 0x04
	fetchGroupPresent     = 0x08
	fetchPriorityPresent  = 0x10
	fetchExtensions       = 0x20
	fetchDatagram         = 0x40
	fetchEndOfNonExistent = 0x8c
	fetchEndOfUnknown     = 0x10c
)

// FetchObject is the header of one entry on a fetch stream (draft-14
// §10.4.4 Figure 35, draft-16 §10.4.4 Figure 31); an object's payload
// follows it.
type FetchObject struct {
	GroupID    uint64
	SubgroupID uint64
	ObjectID   uint64
	// PublisherPriority is per object on fetch streams.
	PublisherPriority uint8
	// Datagram marks an object whose forwarding preference is Datagram.
	// Draft-16 sets the 0x40 flag and sends no Subgroup ID (SubgroupID is
	// ignored and parsed as 0). Draft-14 has no flag: the encoder writes
	// the Object ID as Subgroup ID (draft-14 §10.4.4) and the parser never
	// sets Datagram.
	Datagram bool
	// Extensions is the raw extension header block (see
	// ObjectHeader.Extensions).
	Extensions    []byte
	PayloadLength uint64
	// Status is draft-14 only and written for empty objects; draft-16 fetch
	// objects have no status (missing objects are gaps or End of Range
	// entries).
	Status ObjectStatus
	// EndOfRange makes the entry a draft-16 End of Range marker, which has
	// only GroupID and ObjectID and no payload. Draft-14 cannot express it.
	EndOfRange EndOfRange
}

// FetchStream carries what encoding and decoding the objects of one fetch
// stream needs: draft-16 compresses each object against the previous one.
// Use one per stream; the zero state means "no object yet".
//
// Draft-16 leaves open what "the prior Object" is after an End of Range
// entry; this codec takes the entry's location as the prior Group and Object
// ID and keeps the subgroup and priority of the last real object. A datagram
// object has no Subgroup ID and does not change the prior one.
type FetchStream struct {
	Version Version

	haveLoc, haveSubgroup, havePriority bool
	group, object, subgroup             uint64
	priority                            uint8
	ext                                 []byte
}

// AppendObjectHeader appends the header of the next entry. In draft-16 it
// picks the most compact Serialization Flags. It allocates nothing.
func (s *FetchStream) AppendObjectHeader(b []byte, o FetchObject) ([]byte, error) {
	if m := maxInt(s.Version); o.GroupID > m || o.ObjectID > m || o.SubgroupID > m || o.PayloadLength > m {
		return b, fmt.Errorf("wire: fetch object field does not fit a varint")
	}
	if len(o.Extensions) > MaxExtensionsLength {
		return b, fmt.Errorf("wire: extension headers of %d bytes: %w", len(o.Extensions), ErrTooLarge)
	}
	if s.Version == Draft14 {
		return s.append14(b, o)
	}
	if !s.Version.layout16() {
		return b, s.Version.check()
	}
	v := s.Version
	if o.EndOfRange != NotEndOfRange && v.vi64() {
		// Draft-18 leaves the coding of an End of Range entry's IDs
		// unsaid (§11.4.4.2) and readers differ; the entry is only a hint
		// that objects are missing, so it is not written.
		return b, nil
	}
	if o.EndOfRange != NotEndOfRange {
		flags := uint64(fetchEndOfNonExistent)
		switch o.EndOfRange {
		case EndOfNonExistentRange:
		case EndOfUnknownRange:
			flags = fetchEndOfUnknown
		default:
			return b, fmt.Errorf("wire: end of range kind %d", o.EndOfRange)
		}
		b = quicvarint.Append(b, flags)
		b = quicvarint.Append(b, o.GroupID)
		b = quicvarint.Append(b, o.ObjectID)
		s.setLocation(o.GroupID, o.ObjectID)
		return b, nil
	}
	if o.Status != StatusNormal {
		return b, fmt.Errorf("wire: draft-16 fetch objects have no status")
	}
	var flags uint64
	switch {
	case o.Datagram:
		flags |= fetchDatagram
	case o.SubgroupID == 0:
		flags |= fetchSubgroupZero
	case s.haveSubgroup && o.SubgroupID == s.subgroup:
		flags |= fetchSubgroupPrior
	case s.haveSubgroup && o.SubgroupID == s.subgroup+1:
		flags |= fetchSubgroupNext
	default:
		flags |= fetchSubgroupPresent
	}
	if !s.haveLoc || o.GroupID != s.group {
		flags |= fetchGroupPresent
	}
	if !s.haveLoc || o.ObjectID != s.object+1 {
		flags |= fetchObjectPresent
	}
	if !s.havePriority || o.PublisherPriority != s.priority {
		flags |= fetchPriorityPresent
	}
	if len(o.Extensions) > 0 {
		flags |= fetchExtensions
	}
	group, object := o.GroupID, o.ObjectID
	if v.vi64() && s.haveLoc {
		// Draft-18 §11.4.4.1 (#1586): a present Group ID is the distance
		// to the prior group minus one, by group order; with it the
		// Object ID is absolute, without it the distance to the prior
		// object.
		switch {
		case flags&fetchGroupPresent != 0 && o.GroupID > s.group:
			group = o.GroupID - s.group - 1
		case flags&fetchGroupPresent != 0:
			group = s.group - o.GroupID - 1
		case flags&fetchObjectPresent != 0 && o.ObjectID > s.object:
			object = o.ObjectID - s.object
		case flags&fetchObjectPresent != 0:
			return b, fmt.Errorf("wire: fetch object %d/%d after %d/%d", o.GroupID, o.ObjectID, s.group, s.object)
		}
	}
	b = appendInt(b, v, flags)
	if flags&fetchGroupPresent != 0 {
		b = appendInt(b, v, group)
	}
	if !o.Datagram && flags&fetchSubgroupMask == fetchSubgroupPresent {
		b = appendInt(b, v, o.SubgroupID)
	}
	if flags&fetchObjectPresent != 0 {
		b = appendInt(b, v, object)
	}
	if flags&fetchPriorityPresent != 0 {
		b = append(b, o.PublisherPriority)
	}
	if flags&fetchExtensions != 0 {
		b = appendInt(b, v, uint64(len(o.Extensions)))
		b = append(b, o.Extensions...)
	}
	b = appendInt(b, v, o.PayloadLength)
	s.setObject(&o)
	return b, nil
}

func (s *FetchStream) append14(b []byte, o FetchObject) ([]byte, error) {
	if o.EndOfRange != NotEndOfRange {
		return b, fmt.Errorf("wire: draft-14 fetch streams have no End of Range")
	}
	if o.PayloadLength > 0 && o.Status != StatusNormal {
		return b, fmt.Errorf("wire: object status %d with a payload", o.Status)
	}
	if err := checkStatus(o.Status, Draft14, len(o.Extensions) > 0); err != nil {
		return b, err
	}
	sub := o.SubgroupID
	if o.Datagram {
		sub = o.ObjectID
	}
	b = quicvarint.Append(b, o.GroupID)
	b = quicvarint.Append(b, sub)
	b = quicvarint.Append(b, o.ObjectID)
	b = append(b, o.PublisherPriority)
	b = quicvarint.Append(b, uint64(len(o.Extensions)))
	b = append(b, o.Extensions...)
	b = quicvarint.Append(b, o.PayloadLength)
	if o.PayloadLength == 0 {
		b = quicvarint.Append(b, uint64(o.Status))
	}
	return b, nil
}

func (s *FetchStream) setLocation(group, object uint64) {
	s.haveLoc, s.group, s.object = true, group, object
}

func (s *FetchStream) setObject(o *FetchObject) {
	s.setLocation(o.GroupID, o.ObjectID)
	s.havePriority, s.priority = true, o.PublisherPriority
	if !o.Datagram {
		s.haveSubgroup, s.subgroup = true, o.SubgroupID
	}
}

// ReadObjectHeader reads the header of the next entry; for an object the
// caller then reads PayloadLength bytes (at most MaxObjectPayloadLength). It
// returns io.EOF when the stream ends cleanly before an entry, and allocates
// nothing unless the object carries extension headers.
func (s *FetchStream) ReadObjectHeader(r Reader) (FetchObject, error) {
	switch s.Version {
	case Draft14:
		return s.read14(r)
	case Draft16, Draft18, Draft19:
		return s.read16(r)
	}
	return FetchObject{}, s.Version.check()
}

func (s *FetchStream) read14(r Reader) (FetchObject, error) {
	var o FetchObject
	var err error
	if o.GroupID, err = readVarint(r); err != nil {
		return FetchObject{}, err
	}
	if o.SubgroupID, err = readField(r); err != nil {
		return FetchObject{}, err
	}
	if o.ObjectID, err = readField(r); err != nil {
		return FetchObject{}, err
	}
	if o.PublisherPriority, err = readByte(r); err != nil {
		return FetchObject{}, err
	}
	if o.Extensions, s.ext, err = readExtensionBlock(r, Draft14, s.ext); err != nil {
		return FetchObject{}, err
	}
	if err := s.readPayloadLength(r, &o); err != nil {
		return FetchObject{}, err
	}
	if o.PayloadLength == 0 {
		st, err := readField(r)
		if err != nil {
			return FetchObject{}, err
		}
		o.Status = ObjectStatus(st)
		if err := checkStatus(o.Status, Draft14, o.Extensions != nil); err != nil {
			return FetchObject{}, err
		}
	}
	return o, nil
}

func (s *FetchStream) read16(r Reader) (FetchObject, error) {
	v := s.Version
	flags, err := readInt(r, v)
	if err != nil {
		return FetchObject{}, err
	}
	var o FetchObject
	if flags >= 128 {
		switch flags {
		case fetchEndOfNonExistent:
			o.EndOfRange = EndOfNonExistentRange
		case fetchEndOfUnknown:
			o.EndOfRange = EndOfUnknownRange
		default:
			return FetchObject{}, fmt.Errorf("%w: fetch serialization flags 0x%x", ErrProtocolViolation, flags)
		}
		// Only Group ID and Object ID follow (draft-16 §10.4.4.2); the
		// draft does not list a Payload Length, and none is read.
		if o.GroupID, err = readFieldV(r, v); err != nil {
			return FetchObject{}, err
		}
		if o.ObjectID, err = readFieldV(r, v); err != nil {
			return FetchObject{}, err
		}
		s.setLocation(o.GroupID, o.ObjectID)
		return o, nil
	}
	prior := func(have bool, what string) error {
		if !have {
			return fmt.Errorf("%w: fetch object refers to a prior %s that does not exist", ErrProtocolViolation, what)
		}
		return nil
	}
	if flags&fetchGroupPresent != 0 {
		if o.GroupID, err = readFieldV(r, v); err != nil {
			return FetchObject{}, err
		}
		if v.vi64() && s.haveLoc {
			// Ascending order: the prior group plus the delta plus one.
			if o.GroupID >= maxInt(v)-s.group {
				return FetchObject{}, fmt.Errorf("%w: group ID overflows", ErrProtocolViolation)
			}
			o.GroupID += s.group + 1
		}
	} else {
		if err := prior(s.haveLoc, "group"); err != nil {
			return FetchObject{}, err
		}
		o.GroupID = s.group
	}
	if flags&fetchDatagram != 0 {
		o.Datagram = true
	} else {
		switch flags & fetchSubgroupMask {
		case fetchSubgroupZero:
		case fetchSubgroupPrior:
			if err := prior(s.haveSubgroup, "subgroup"); err != nil {
				return FetchObject{}, err
			}
			o.SubgroupID = s.subgroup
		case fetchSubgroupNext:
			if err := prior(s.haveSubgroup, "subgroup"); err != nil {
				return FetchObject{}, err
			}
			if s.subgroup >= maxInt(v) {
				return FetchObject{}, fmt.Errorf("%w: subgroup ID overflows", ErrProtocolViolation)
			}
			o.SubgroupID = s.subgroup + 1
		case fetchSubgroupPresent:
			if o.SubgroupID, err = readFieldV(r, v); err != nil {
				return FetchObject{}, err
			}
		}
	}
	if flags&fetchObjectPresent != 0 {
		if o.ObjectID, err = readFieldV(r, v); err != nil {
			return FetchObject{}, err
		}
		if v.vi64() && s.haveLoc && flags&fetchGroupPresent == 0 {
			if o.ObjectID == 0 || o.ObjectID > maxInt(v)-s.object {
				return FetchObject{}, fmt.Errorf("%w: object ID delta %d", ErrProtocolViolation, o.ObjectID)
			}
			o.ObjectID += s.object
		}
	} else {
		if err := prior(s.haveLoc, "object"); err != nil {
			return FetchObject{}, err
		}
		if s.object >= maxInt(v) {
			return FetchObject{}, fmt.Errorf("%w: object ID overflows", ErrProtocolViolation)
		}
		o.ObjectID = s.object + 1
	}
	if flags&fetchPriorityPresent != 0 {
		if o.PublisherPriority, err = readByte(r); err != nil {
			return FetchObject{}, err
		}
	} else {
		if err := prior(s.havePriority, "priority"); err != nil {
			return FetchObject{}, err
		}
		o.PublisherPriority = s.priority
	}
	if flags&fetchExtensions != 0 {
		if o.Extensions, s.ext, err = readExtensionBlock(r, v, s.ext); err != nil {
			return FetchObject{}, err
		}
	}
	if err := s.readPayloadLength(r, &o); err != nil {
		return FetchObject{}, err
	}
	s.setObject(&o)
	return o, nil
}

func (s *FetchStream) readPayloadLength(r Reader, o *FetchObject) error {
	n, err := readFieldV(r, s.Version)
	if err != nil {
		return err
	}
	if n > MaxObjectPayloadLength {
		return fmt.Errorf("%w: object payload of %d bytes", ErrTooLarge, n)
	}
	o.PayloadLength = n
	return nil
}
