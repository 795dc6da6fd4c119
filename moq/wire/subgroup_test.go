package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

type testObject struct {
	h       ObjectHeader
	payload []byte
}

type subgroupCase struct {
	name string
	v    Version
	// wire is a whole stream: type, header, then each object header and
	// payload.
	wire    []byte
	header  SubgroupHeader // as ReadSubgroupHeader returns it
	objects []testObject
}

// Extension blocks of the draft's second example (§10.5) with consistent
// lengths: the draft's "Length = 21" does not match its 14-byte value, so
// the example cannot be used byte for byte.
var (
	// Type 4 = 2186796243 (8-byte varint), type 77 = "traceID:123456".
	exampleExt14 = bs(0x04, 0xc0, 0x00, 0x00, 0x00, 0x82, 0x57, 0xdc, 0xd3, 0x40, 0x4d, 0x0e, "traceID:123456")
	// The same in draft-16: 77 is written as the delta 73 from 4.
	exampleExt16 = bs(0x04, 0xc0, 0x00, 0x00, 0x00, 0x82, 0x57, 0xdc, 0xd3, 0x40, 0x49, 0x0e, "traceID:123456")
)

var subgroupCases = []subgroupCase{
	{
		name: "draft example 1: type 0x14", v: Draft14,
		wire: bs(
			0x14,               // type: explicit Subgroup ID, no extensions
			0x02,               // Track Alias 2
			0x00,               // Group ID 0
			0x00,               // Subgroup ID 0
			0x00,               // Publisher Priority 0
			0x00, 0x04, "abcd", // Object ID Delta 0 (ID 0), Payload Length 4, payload
			0x00, 0x04, "efgh", // Object ID Delta 0 (ID 1)
		),
		header: SubgroupHeader{TrackAlias: 2, SubgroupIDMode: SubgroupIDExplicit},
		objects: []testObject{
			{ObjectHeader{ObjectID: 0, PayloadLength: 4}, []byte("abcd")},
			{ObjectHeader{ObjectID: 1, PayloadLength: 4}, []byte("efgh")},
		},
	},
	{
		name: "draft example 2: type 0x15 with extensions", v: Draft14,
		wire: bs(
			0x15,                   // type: explicit Subgroup ID, extensions
			0x02, 0x00, 0x00, 0x00, // Track Alias 2, Group 0, Subgroup 0, Priority 0
			0x00,               // Object ID Delta 0 (ID 0)
			0x1a, exampleExt14, // Extension Headers Length 26, extensions
			0x04, "abcd", // Payload Length 4, payload
			0x00,         // Object ID Delta 0 (ID 1)
			0x00,         // Extension Headers Length 0
			0x04, "efgh", // payload
		),
		header: SubgroupHeader{TrackAlias: 2, SubgroupIDMode: SubgroupIDExplicit, Extensions: true},
		objects: []testObject{
			{ObjectHeader{ObjectID: 0, Extensions: exampleExt14, PayloadLength: 4}, []byte("abcd")},
			{ObjectHeader{ObjectID: 1, PayloadLength: 4}, []byte("efgh")},
		},
	},
	{
		name: "draft example 2: type 0x35, default priority", v: Draft16,
		wire: bs(
			0x35,             // type: explicit Subgroup ID, extensions, DEFAULT_PRIORITY
			0x02, 0x00, 0x00, // Track Alias 2, Group 0, Subgroup 0, no priority
			0x00, 0x1a, exampleExt16, 0x04, "abcd", // object 0 with delta-encoded extensions
			0x00, 0x00, 0x04, "efgh", // object 1
		),
		header: SubgroupHeader{TrackAlias: 2, SubgroupIDMode: SubgroupIDExplicit, Extensions: true, DefaultPriority: true},
		objects: []testObject{
			{ObjectHeader{ObjectID: 0, Extensions: exampleExt16, PayloadLength: 4}, []byte("abcd")},
			{ObjectHeader{ObjectID: 1, PayloadLength: 4}, []byte("efgh")},
		},
	},
	{
		name: "subgroup ID from the first object, gap, end of group", v: Draft14,
		wire: bs(
			0x12,              // type: Subgroup ID = first Object ID, no extensions
			0x05,              // Track Alias 5
			0x07,              // Group ID 7
			0x80,              // Publisher Priority 128
			0x03, 0x03, "xyz", // Object ID Delta 3 (ID 3), payload
			0x01, 0x00, 0x03, // Object ID Delta 1 (ID 5), Payload Length 0, status End of Group
		),
		header: SubgroupHeader{TrackAlias: 5, GroupID: 7, SubgroupIDMode: SubgroupIDFirstObject, PublisherPriority: 128},
		objects: []testObject{
			{ObjectHeader{ObjectID: 3, PayloadLength: 3}, []byte("xyz")},
			{ObjectHeader{ObjectID: 5, Status: StatusEndOfGroup}, nil},
		},
	},
	{
		name: "end of group type with empty and missing objects", v: Draft14,
		wire: bs(
			0x1d,       // type: explicit Subgroup ID, extensions, contains End of Group
			0x05, 0x07, // Track Alias 5, Group ID 7
			0x02, 0x40, // Subgroup ID 2, Publisher Priority 64
			0x00, 0x00, 0x00, 0x00, // object 0: no extensions, empty, status Normal
			0x01, 0x00, 0x00, 0x01, // object 2: no extensions, empty, Object Does Not Exist
		),
		header: SubgroupHeader{
			TrackAlias: 5, GroupID: 7, SubgroupID: 2, SubgroupIDMode: SubgroupIDExplicit,
			PublisherPriority: 64, Extensions: true, EndOfGroup: true,
		},
		objects: []testObject{
			{ObjectHeader{ObjectID: 0}, nil},
			{ObjectHeader{ObjectID: 2, Status: StatusDoesNotExist}, nil},
		},
	},
	{
		name: "type 0x30: subgroup 0, default priority", v: Draft16,
		wire: bs(
			0x30,       // type: Subgroup ID 0, no extensions, DEFAULT_PRIORITY
			0x05, 0x07, // Track Alias 5, Group ID 7
			0x00, 0x01, "a", // object 0
		),
		header:  SubgroupHeader{TrackAlias: 5, GroupID: 7, DefaultPriority: true},
		objects: []testObject{{ObjectHeader{ObjectID: 0, PayloadLength: 1}, []byte("a")}},
	},
	{
		name: "type 0x1c: end of group, end of track", v: Draft16,
		wire: bs(
			0x1c,             // type: explicit Subgroup ID, no extensions, contains End of Group
			0x05, 0x07, 0x09, // Track Alias 5, Group ID 7, Subgroup ID 9
			0x0a,             // Publisher Priority 10
			0x00, 0x02, "hi", // object 0
			0x00, 0x00, 0x04, // object 1: empty, End of Track
		),
		header: SubgroupHeader{
			TrackAlias: 5, GroupID: 7, SubgroupID: 9, SubgroupIDMode: SubgroupIDExplicit,
			PublisherPriority: 10, EndOfGroup: true,
		},
		objects: []testObject{
			{ObjectHeader{ObjectID: 0, PayloadLength: 2}, []byte("hi")},
			{ObjectHeader{ObjectID: 1, Status: StatusEndOfTrack}, nil},
		},
	},
}

// readSubgroup reads a whole subgroup stream the way a session does.
func readSubgroup(r Reader, v Version) (SubgroupHeader, *SubgroupStream, []testObject, error) {
	typ, err := ReadStreamType(r, v)
	if err != nil {
		return SubgroupHeader{}, nil, nil, err
	}
	h, err := ReadSubgroupHeader(r, v, typ)
	if err != nil {
		return SubgroupHeader{}, nil, nil, err
	}
	s := &SubgroupStream{Version: v, Header: h}
	var objects []testObject
	for {
		oh, err := s.ReadObjectHeader(r)
		if errors.Is(err, io.EOF) {
			return h, s, objects, nil
		}
		if err != nil {
			return h, s, objects, err
		}
		o := testObject{h: oh}
		o.h.Extensions = bytes.Clone(oh.Extensions) // only valid until the next read
		if oh.PayloadLength > 0 {
			o.payload = make([]byte, oh.PayloadLength)
			if _, err := io.ReadFull(r, o.payload); err != nil {
				return h, s, objects, noEOF(err)
			}
		}
		objects = append(objects, o)
	}
}

func writeSubgroup(v Version, h SubgroupHeader, objects []testObject) ([]byte, error) {
	b := h.Append(nil, v)
	s := SubgroupStream{Version: v, Header: h}
	if h.SubgroupIDMode == SubgroupIDFirstObject && len(objects) > 0 {
		s.Header.SubgroupID = objects[0].h.ObjectID
	}
	for _, o := range objects {
		var err error
		if b, err = s.AppendObjectHeader(b, o.h); err != nil {
			return nil, err
		}
		b = append(b, o.payload...)
	}
	return b, nil
}

func TestSubgroupRead(t *testing.T) {
	for _, c := range subgroupCases {
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			h, s, objects, err := readSubgroup(bytes.NewReader(c.wire), c.v)
			require.NoError(t, err)
			require.Equal(t, c.header, h)
			require.Equal(t, c.objects, objects)
			if c.header.SubgroupIDMode == SubgroupIDFirstObject {
				require.Equal(t, c.objects[0].h.ObjectID, s.Header.SubgroupID)
			}
		})
	}
}

func TestSubgroupAppend(t *testing.T) {
	for _, c := range subgroupCases {
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			b, err := writeSubgroup(c.v, c.header, c.objects)
			require.NoError(t, err)
			require.Equal(t, c.wire, b)
		})
	}
}

func TestSubgroupHeaderDraft14IgnoresDefaultPriority(t *testing.T) {
	h := SubgroupHeader{TrackAlias: 1, PublisherPriority: 3, DefaultPriority: true}
	require.Equal(t, bs(0x10, 0x01, 0x00, 0x03), h.Append(nil, Draft14))
	require.Equal(t, bs(0x30, 0x01, 0x00), h.Append(nil, Draft16))
}

func TestIsSubgroupType(t *testing.T) {
	var d14, d16 []uint64
	for typ := uint64(0); typ < 0x80; typ++ {
		if IsSubgroupType(typ, Draft14) {
			d14 = append(d14, typ)
		}
		if IsSubgroupType(typ, Draft16) {
			d16 = append(d16, typ)
		}
	}
	want14 := []uint64{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d}
	require.Equal(t, want14, d14)
	var want16 []uint64
	want16 = append(want16, want14...)
	for _, typ := range want14 {
		want16 = append(want16, typ|0x20)
	}
	require.Equal(t, want16, d16)
}

func TestSubgroupReadErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		v    Version
		wire []byte
		err  error
	}{
		{"draft-16 type in draft-14", Draft14, bs(0x35, 0x02, 0x00, 0x00), ErrUnknownType},
		{"reserved subgroup ID mode", Draft16, bs(0x16, 0x02, 0x00, 0x00), ErrUnknownType},
		{"reserved subgroup ID mode with default priority", Draft16, bs(0x37, 0x02, 0x00), ErrUnknownType},
		{"fetch header is not a subgroup", Draft16, bs(0x05, 0x02), ErrUnknownType},
		{"header ends early", Draft14, bs(0x14, 0x02, 0x00), io.ErrUnexpectedEOF},
		{"object header ends early", Draft14, bs(0x10, 0x02, 0x00, 0x00, 0x00), io.ErrUnexpectedEOF},
		{"payload ends early", Draft14, bs(0x10, 0x02, 0x00, 0x00, 0x00, 0x05, "ab"), io.ErrUnexpectedEOF},
		{"status 2", Draft14, bs(0x10, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02), ErrProtocolViolation},
		{"does not exist in draft-16", Draft16, bs(0x10, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01), ErrProtocolViolation},
		{
			"extensions on a missing object", Draft14,
			bs(0x11, 0x02, 0x00, 0x00, 0x00, 0x02, 0x3c, 0x01, 0x00, 0x01), ErrProtocolViolation,
		},
		{
			"draft-16 extensions on end of group", Draft16,
			bs(0x11, 0x02, 0x00, 0x00, 0x00, 0x02, 0x3c, 0x01, 0x00, 0x03), ErrProtocolViolation,
		},
		{
			"payload over the limit", Draft16,
			bs(0x10, 0x02, 0x00, 0x00, 0x00, 0x84, 0x00, 0x00, 0x01), ErrTooLarge,
		},
		{
			"extension block over the limit", Draft16,
			bs(0x11, 0x02, 0x00, 0x00, 0x00, 0x80, 0x10, 0x00, 0x00), ErrTooLarge,
		},
		{
			"malformed extension block", Draft16,
			bs(0x11, 0x02, 0x00, 0x00, 0x00, 0x02, 0x3d, 0x05, 0x01, "a"), io.ErrUnexpectedEOF,
		},
		{
			"object ID overflow", Draft14,
			bs(0x10, 0x02, 0x00, 0x00, 0x00, 0x01, "a",
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, "b"),
			ErrProtocolViolation,
		},
	} {
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			_, _, _, err := readSubgroup(bytes.NewReader(c.wire), c.v)
			require.ErrorIs(t, err, c.err)
			require.Equal(t, SessionProtocolViolation, SessionCode(err))
		})
	}
}

func TestSubgroupAppendErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		v       Version
		h       SubgroupHeader
		objects []ObjectHeader
	}{
		{"extensions on a type without", Draft14, SubgroupHeader{}, []ObjectHeader{{Extensions: []byte{0x3c, 0x01}}}},
		{"status with payload", Draft14, SubgroupHeader{}, []ObjectHeader{{PayloadLength: 1, Status: StatusEndOfGroup}}},
		{"does not exist in draft-16", Draft16, SubgroupHeader{}, []ObjectHeader{{Status: StatusDoesNotExist}}},
		{"unknown status", Draft14, SubgroupHeader{}, []ObjectHeader{{Status: 2}}},
		{"object IDs must increase", Draft14, SubgroupHeader{}, []ObjectHeader{{ObjectID: 3, PayloadLength: 1}, {ObjectID: 3, PayloadLength: 1}}},
		{
			"first object is not the subgroup ID", Draft14,
			SubgroupHeader{SubgroupIDMode: SubgroupIDFirstObject, SubgroupID: 1},
			[]ObjectHeader{{ObjectID: 2, PayloadLength: 1}},
		},
		{"object ID overflow", Draft14, SubgroupHeader{}, []ObjectHeader{{ObjectID: 1 << 62}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := SubgroupStream{Version: c.v, Header: c.h}
			var err error
			for _, o := range c.objects {
				if _, err = s.AppendObjectHeader(nil, o); err != nil {
					break
				}
			}
			require.Error(t, err)
		})
	}
}

// TestDataPlaneAllocs pins the hot path to zero allocations.
func TestDataPlaneAllocs(t *testing.T) {
	h := SubgroupHeader{TrackAlias: 9, GroupID: 1234, SubgroupIDMode: SubgroupIDExplicit, PublisherPriority: 3, Extensions: true}
	buf := make([]byte, 0, 64)
	hdr := h.Append(nil, Draft16)
	obj := bs(0x00, 0x00, 0x44, 0x00) // delta 0, no extensions, 1024-byte payload
	r := bytes.NewReader(hdr)
	dg := Datagram{TrackAlias: 9, GroupID: 1234, ObjectID: 5, PublisherPriority: 3, Payload: make([]byte, 1000)}
	dgWire, err := dg.Append(nil, Draft16)
	require.NoError(t, err)
	var parsed Datagram
	fo := FetchObject{GroupID: 1, ObjectID: 2, PublisherPriority: 3, PayloadLength: 100}
	fWire, err := (&FetchStream{Version: Draft16}).AppendObjectHeader(nil, fo)
	require.NoError(t, err)

	for name, f := range map[string]func(){
		"SubgroupHeader.Append": func() { buf = h.Append(buf[:0], Draft16) },
		"ReadSubgroupHeader": func() {
			r.Reset(hdr)
			typ, _ := ReadStreamType(r, Draft16)
			_, err = ReadSubgroupHeader(r, Draft16, typ)
		},
		"AppendObjectHeader": func() {
			s := SubgroupStream{Version: Draft16, Header: h}
			buf, err = s.AppendObjectHeader(buf[:0], ObjectHeader{ObjectID: 7, PayloadLength: 1024})
		},
		"ReadObjectHeader": func() {
			s := SubgroupStream{Version: Draft16, Header: h}
			r.Reset(obj)
			_, err = s.ReadObjectHeader(r)
		},
		"Datagram.Append": func() { buf, err = dg.Append(buf[:0], Draft16) },
		"Datagram.Parse":  func() { err = parsed.Parse(dgWire, Draft16) },
		"FetchStream.AppendObjectHeader": func() {
			s := FetchStream{Version: Draft16}
			buf, err = s.AppendObjectHeader(buf[:0], fo)
		},
		"FetchStream.ReadObjectHeader": func() {
			s := FetchStream{Version: Draft16}
			r.Reset(fWire)
			_, err = s.ReadObjectHeader(r)
		},
	} {
		allocs := testing.AllocsPerRun(100, f)
		require.NoError(t, err, name)
		require.Zero(t, allocs, name)
	}
}

func FuzzSubgroupStream(f *testing.F) {
	for _, c := range subgroupCases {
		f.Add(c.wire, c.v == Draft16)
	}
	f.Fuzz(func(t *testing.T, data []byte, draft16 bool) {
		v := Draft14
		if draft16 {
			v = Draft16
		}
		h, s, objects, err := readSubgroup(bytes.NewReader(data), v)
		if s == nil {
			return // no header
		}
		_ = err // the objects read before an error must still round-trip
		b, err := writeSubgroup(v, h, objects)
		require.NoError(t, err)
		h2, s2, objects2, err := readSubgroup(bytes.NewReader(b), v)
		require.NoError(t, err)
		require.Equal(t, h, h2)
		require.Equal(t, objects, objects2)
		if len(objects) > 0 { // else s may hold the ID of an object whose payload was cut off
			require.Equal(t, s.Header, s2.Header)
		}
	})
}

func BenchmarkSubgroupHeader(b *testing.B) {
	h := SubgroupHeader{TrackAlias: 9, GroupID: 123456, SubgroupIDMode: SubgroupIDExplicit, PublisherPriority: 3}
	b.Run("Append", func(b *testing.B) {
		buf := make([]byte, 0, 32)
		b.ReportAllocs()
		for b.Loop() {
			buf = h.Append(buf[:0], Draft16)
		}
	})
	wire := h.Append(nil, Draft16)
	b.Run("Read", func(b *testing.B) {
		r := bytes.NewReader(wire)
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(wire)
			typ, err := ReadStreamType(r, Draft16)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ReadSubgroupHeader(r, Draft16, typ); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkObjectHeader(b *testing.B) {
	h := SubgroupHeader{TrackAlias: 9, GroupID: 1, SubgroupIDMode: SubgroupIDExplicit, Extensions: true}
	oh := ObjectHeader{ObjectID: 0, PayloadLength: 16384}
	b.Run("Append", func(b *testing.B) {
		buf := make([]byte, 0, 32)
		b.ReportAllocs()
		for b.Loop() {
			s := SubgroupStream{Version: Draft16, Header: h}
			var err error
			if buf, err = s.AppendObjectHeader(buf[:0], oh); err != nil {
				b.Fatal(err)
			}
		}
	})
	s := SubgroupStream{Version: Draft16, Header: h}
	wire, err := s.AppendObjectHeader(nil, oh)
	require.NoError(b, err)
	b.Run("Read", func(b *testing.B) {
		r := bytes.NewReader(wire)
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(wire)
			s := SubgroupStream{Version: Draft16, Header: h}
			if _, err := s.ReadObjectHeader(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
