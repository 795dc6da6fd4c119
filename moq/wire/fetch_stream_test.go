package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

type fetchEntry struct {
	o       FetchObject
	payload []byte
}

type fetchStreamCase struct {
	name      string
	v         Version
	wire      []byte // stream type, FETCH_HEADER, entries
	requestID uint64
	entries   []fetchEntry
	parseOnly bool
}

var fetchStreamCases = []fetchStreamCase{
	{
		name: "objects", v: Draft14,
		wire: bs(
			0x05, 0x08, // FETCH_HEADER, Request ID 8
			0x01, 0x00, 0x00, 0x80, // Group 1, Subgroup 0, Object 0, Publisher Priority 128
			0x00,       // Extension Headers Length 0
			0x02, "ab", // Payload Length 2, payload
			0x01, 0x00, 0x01, 0x80, // Group 1, Subgroup 0, Object 1, Priority 128
			0x02, 0x3c, 0x01, // Extension Headers: Prior Group ID Gap 1
			0x00, 0x03, // Payload Length 0, status End of Group
			0x02, 0x04, 0x04, 0x40, 0x00, 0x01, "z", // Group 2, Subgroup 4 (= Object ID 4), Priority 64
		),
		requestID: 8,
		entries: []fetchEntry{
			{FetchObject{GroupID: 1, PublisherPriority: 128, PayloadLength: 2}, []byte("ab")},
			{FetchObject{GroupID: 1, ObjectID: 1, PublisherPriority: 128, Extensions: bs(0x3c, 0x01), Status: StatusEndOfGroup}, nil},
			{FetchObject{GroupID: 2, SubgroupID: 4, ObjectID: 4, PublisherPriority: 64, PayloadLength: 1}, []byte("z")},
		},
	},
	{
		name: "serialization flags", v: Draft16,
		wire: bs(
			0x05, 0x08, // FETCH_HEADER, Request ID 8
			0x1c,             // flags: Group, Object ID, Priority present; Subgroup ID 0
			0x01, 0x00, 0x80, // Group 1, Object 0, Priority 128
			0x02, "ab", // Payload Length 2
			0x00,        // flags: same group, next object, same priority, Subgroup ID 0
			0x03, "cde", // Payload Length 3
			0x3f,                   // flags: Group, Subgroup ID, Object ID, Priority, Extensions
			0x02, 0x05, 0x00, 0x40, // Group 2, Subgroup 5, Object 0, Priority 64
			0x02, 0x3c, 0x01, // Extensions: Prior Group ID Gap 1
			0x00,                   // Payload Length 0: an empty object (no status in draft-16)
			0x41, 0x0c, 0x02, 0x09, // End of Unknown Range (0x10c) up to {2, 9}
			0x02,      // flags: Subgroup ID = prior + 1, next object, same priority
			0x01, "y", // Object {2, 10}, Subgroup 6
			0x40, 0x40, // flags: datagram (0x40, a two-byte varint), next object, same priority
			0x01, "z", // Object {2, 11}
			0x40, 0x8c, 0x03, 0x00, // End of Non-Existent Range (0x8c) up to {3, 0}
		),
		requestID: 8,
		entries: []fetchEntry{
			{FetchObject{GroupID: 1, PublisherPriority: 128, PayloadLength: 2}, []byte("ab")},
			{FetchObject{GroupID: 1, ObjectID: 1, PublisherPriority: 128, PayloadLength: 3}, []byte("cde")},
			{FetchObject{GroupID: 2, SubgroupID: 5, PublisherPriority: 64, Extensions: bs(0x3c, 0x01)}, nil},
			{FetchObject{GroupID: 2, ObjectID: 9, EndOfRange: EndOfUnknownRange}, nil},
			{FetchObject{GroupID: 2, SubgroupID: 6, ObjectID: 10, PublisherPriority: 64, PayloadLength: 1}, []byte("y")},
			{FetchObject{GroupID: 2, ObjectID: 11, PublisherPriority: 64, Datagram: true, PayloadLength: 1}, []byte("z")},
			{FetchObject{GroupID: 3, EndOfRange: EndOfNonExistentRange}, nil},
		},
	},
	{
		name: "explicit subgroup ID 0 and ignored datagram bits", v: Draft16,
		wire: bs(
			0x05, 0x01, // FETCH_HEADER, Request ID 1
			0x1f, 0x01, 0x00, 0x00, 0x80, 0x00, // all fields present, Subgroup ID 0 written out
			0x40, 0x43, 0x00, // datagram with the subgroup bits set, which are ignored
		),
		requestID: 1,
		entries: []fetchEntry{
			{FetchObject{GroupID: 1, PublisherPriority: 128}, nil},
			{FetchObject{GroupID: 1, ObjectID: 1, PublisherPriority: 128, Datagram: true}, nil},
		},
		parseOnly: true,
	},
}

func readFetchStream(r Reader, v Version) (uint64, []fetchEntry, error) {
	typ, err := ReadStreamType(r, v)
	if err != nil {
		return 0, nil, err
	}
	if typ != StreamTypeFetchHeader {
		return 0, nil, ErrUnknownType
	}
	fh, err := ReadFetchHeader(r, v)
	if err != nil {
		return 0, nil, err
	}
	s := FetchStream{Version: v}
	var entries []fetchEntry
	for {
		o, err := s.ReadObjectHeader(r)
		if errors.Is(err, io.EOF) {
			return fh.RequestID, entries, nil
		}
		if err != nil {
			return fh.RequestID, entries, err
		}
		e := fetchEntry{o: o}
		e.o.Extensions = bytes.Clone(o.Extensions)
		if o.PayloadLength > 0 {
			e.payload = make([]byte, o.PayloadLength)
			if _, err := io.ReadFull(r, e.payload); err != nil {
				return fh.RequestID, entries, noEOF(err)
			}
		}
		entries = append(entries, e)
	}
}

func writeFetchStream(v Version, requestID uint64, entries []fetchEntry) ([]byte, error) {
	b := FetchHeader{RequestID: requestID}.Append(nil, v)
	s := FetchStream{Version: v}
	for _, e := range entries {
		var err error
		if b, err = s.AppendObjectHeader(b, e.o); err != nil {
			return nil, err
		}
		b = append(b, e.payload...)
	}
	return b, nil
}

func TestFetchStreamRead(t *testing.T) {
	for _, c := range fetchStreamCases {
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			id, entries, err := readFetchStream(bytes.NewReader(c.wire), c.v)
			require.NoError(t, err)
			require.Equal(t, c.requestID, id)
			require.Equal(t, c.entries, entries)
		})
	}
}

func TestFetchStreamAppend(t *testing.T) {
	for _, c := range fetchStreamCases {
		if c.parseOnly {
			continue
		}
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			b, err := writeFetchStream(c.v, c.requestID, c.entries)
			require.NoError(t, err)
			require.Equal(t, c.wire, b)
		})
	}
}

func TestFetchStreamDraft14Datagram(t *testing.T) {
	s := FetchStream{Version: Draft14}
	b, err := s.AppendObjectHeader(nil, FetchObject{GroupID: 1, ObjectID: 7, Datagram: true, PayloadLength: 1})
	require.NoError(t, err)
	require.Equal(t, bs(0x01, 0x07, 0x07, 0x00, 0x00, 0x01), b) // Subgroup ID = Object ID
}

func TestFetchStreamErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		v    Version
		wire []byte
		err  error
	}{
		{"first object refers to a prior group", Draft16, bs(0x05, 0x00, 0x14, 0x00, 0x80, 0x00), ErrProtocolViolation},
		{"first object refers to a prior object", Draft16, bs(0x05, 0x00, 0x18, 0x01, 0x80, 0x00), ErrProtocolViolation},
		{"first object refers to a prior priority", Draft16, bs(0x05, 0x00, 0x0c, 0x01, 0x00, 0x00), ErrProtocolViolation},
		{"first object refers to a prior subgroup", Draft16, bs(0x05, 0x00, 0x1d, 0x01, 0x00, 0x80, 0x00), ErrProtocolViolation},
		{"unknown flags value", Draft16, bs(0x05, 0x00, 0x40, 0x80, 0x01, 0x02), ErrProtocolViolation},
		{"draft-14 status 2", Draft14, bs(0x05, 0x00, 0x01, 0x00, 0x00, 0x80, 0x00, 0x00, 0x02), ErrProtocolViolation},
		{"payload over the limit", Draft14, bs(0x05, 0x00, 0x01, 0x00, 0x00, 0x80, 0x00, 0x84, 0x00, 0x00, 0x01), ErrTooLarge},
		{"header ends early", Draft14, bs(0x05), io.ErrUnexpectedEOF},
		{"object ends early", Draft16, bs(0x05, 0x00, 0x1c, 0x01), io.ErrUnexpectedEOF},
	} {
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			_, _, err := readFetchStream(bytes.NewReader(c.wire), c.v)
			require.ErrorIs(t, err, c.err)
			require.Equal(t, SessionProtocolViolation, SessionCode(err))
		})
	}
	for _, c := range []struct {
		v Version
		o FetchObject
	}{
		{Draft14, FetchObject{EndOfRange: EndOfUnknownRange}},
		{Draft14, FetchObject{Status: StatusEndOfGroup, PayloadLength: 1}},
		{Draft16, FetchObject{Status: StatusEndOfGroup}},
		{Draft16, FetchObject{EndOfRange: 7}},
		{Draft16, FetchObject{GroupID: 1 << 62}},
	} {
		s := FetchStream{Version: c.v}
		_, err := s.AppendObjectHeader(nil, c.o)
		require.Error(t, err)
	}
}

func FuzzFetchStream(f *testing.F) {
	for _, c := range fetchStreamCases {
		f.Add(c.wire, c.v == Draft16)
	}
	f.Fuzz(func(t *testing.T, data []byte, draft16 bool) {
		v := Draft14
		if draft16 {
			v = Draft16
		}
		id, entries, _ := readFetchStream(bytes.NewReader(data), v)
		b, err := writeFetchStream(v, id, entries)
		require.NoError(t, err)
		id2, entries2, err := readFetchStream(bytes.NewReader(b), v)
		require.NoError(t, err)
		require.Equal(t, id, id2)
		require.Equal(t, entries, entries2)
	})
}
