package wire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

type datagramCase struct {
	name      string
	v         Version
	wire      []byte
	dg        Datagram
	parseOnly bool
}

var datagramCases = []datagramCase{
	{
		name: "type 0x00", v: Draft14,
		wire: bs(
			0x00, // type: payload, Object ID present
			0x02, // Track Alias 2
			0x01, // Group ID 1
			0x03, // Object ID 3
			0x80, // Publisher Priority 128
			"hi", // payload: the rest of the datagram
		),
		dg: Datagram{TrackAlias: 2, GroupID: 1, ObjectID: 3, PublisherPriority: 128, Payload: []byte("hi")},
	},
	{
		name: "type 0x01 with extensions", v: Draft14,
		wire: bs(
			0x01,                   // type: extensions, payload
			0x02, 0x01, 0x03, 0x80, // Track Alias, Group ID, Object ID, Publisher Priority
			0x02, 0x3c, 0x01, // Extension Headers Length 2: Prior Group ID Gap 1
			"hi",
		),
		dg: Datagram{
			TrackAlias: 2, GroupID: 1, ObjectID: 3, PublisherPriority: 128,
			Extensions: bs(0x3c, 0x01), Payload: []byte("hi"),
		},
	},
	{
		name: "type 0x02 end of group", v: Draft14,
		wire: bs(0x02, 0x02, 0x01, 0x03, 0x80, "hi"), // type: End of Group, payload
		dg:   Datagram{TrackAlias: 2, GroupID: 1, ObjectID: 3, PublisherPriority: 128, EndOfGroup: true, Payload: []byte("hi")},
	},
	{
		name: "type 0x00 empty object", v: Draft16,
		wire: bs(0x00, 0x02, 0x01, 0x03, 0x80), // no payload bytes
		dg:   Datagram{TrackAlias: 2, GroupID: 1, ObjectID: 3, PublisherPriority: 128},
	},
	{
		name: "type 0x20 status", v: Draft14,
		wire: bs(
			0x20,                   // type: status, Object ID present
			0x02, 0x01, 0x03, 0x80, // Track Alias, Group ID, Object ID, Publisher Priority
			0x04, // Object Status End of Track
		),
		dg: Datagram{TrackAlias: 2, GroupID: 1, ObjectID: 3, PublisherPriority: 128, Status: StatusEndOfTrack},
	},
	{
		name: "type 0x21 status with extensions", v: Draft14,
		wire: bs(0x21, 0x02, 0x01, 0x03, 0x80, 0x02, 0x3c, 0x01, 0x03), // extensions, End of Group status
		dg: Datagram{
			TrackAlias: 2, GroupID: 1, ObjectID: 3, PublisherPriority: 128,
			Extensions: bs(0x3c, 0x01), Status: StatusEndOfGroup,
		},
	},
	{
		name: "type 0x04 without Object ID", v: Draft14,
		wire:      bs(0x04, 0x02, 0x01, 0x80, "hi"), // Object ID 0 implied
		dg:        Datagram{TrackAlias: 2, GroupID: 1, PublisherPriority: 128, Payload: []byte("hi")},
		parseOnly: true, // the encoder always writes the Object ID
	},
	{
		name: "type 0x08 default priority", v: Draft16,
		wire: bs(
			0x08,             // type: DEFAULT_PRIORITY, payload
			0x02, 0x01, 0x03, // Track Alias, Group ID, Object ID; no priority
			"hi",
		),
		dg: Datagram{TrackAlias: 2, GroupID: 1, ObjectID: 3, DefaultPriority: true, Payload: []byte("hi")},
	},
	{
		name: "type 0x0b default priority, end of group, extensions", v: Draft16,
		wire: bs(0x0b, 0x02, 0x01, 0x03, 0x02, 0x3c, 0x01, "hi"),
		dg: Datagram{
			TrackAlias: 2, GroupID: 1, ObjectID: 3, DefaultPriority: true, EndOfGroup: true,
			Extensions: bs(0x3c, 0x01), Payload: []byte("hi"),
		},
	},
	{
		name: "type 0x28 status with default priority", v: Draft16,
		wire: bs(0x28, 0x02, 0x01, 0x03, 0x03), // End of Group status
		dg:   Datagram{TrackAlias: 2, GroupID: 1, ObjectID: 3, DefaultPriority: true, Status: StatusEndOfGroup},
	},
	{
		name: "type 0x2c status without Object ID", v: Draft16,
		wire:      bs(0x2c, 0x02, 0x01, 0x04), // Object ID 0, default priority, End of Track
		dg:        Datagram{TrackAlias: 2, GroupID: 1, DefaultPriority: true, Status: StatusEndOfTrack},
		parseOnly: true,
	},
	{
		name: "status Normal", v: Draft14,
		wire:      bs(0x20, 0x02, 0x01, 0x03, 0x80, 0x00), // a status datagram for an empty Normal object
		dg:        Datagram{TrackAlias: 2, GroupID: 1, ObjectID: 3, PublisherPriority: 128},
		parseOnly: true, // written as an empty payload datagram
	},
}

func TestDatagramParse(t *testing.T) {
	for _, c := range datagramCases {
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			var d Datagram
			require.NoError(t, d.Parse(c.wire, c.v))
			require.Equal(t, c.dg, d)
		})
	}
}

func TestDatagramAppend(t *testing.T) {
	for _, c := range datagramCases {
		if c.parseOnly {
			continue
		}
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			b, err := c.dg.Append(nil, c.v)
			require.NoError(t, err)
			require.Equal(t, c.wire, b)
		})
	}
}

func TestDatagramDraft14IgnoresDefaultPriority(t *testing.T) {
	d := Datagram{TrackAlias: 2, GroupID: 1, ObjectID: 3, PublisherPriority: 7, DefaultPriority: true}
	b, err := d.Append(nil, Draft14)
	require.NoError(t, err)
	require.Equal(t, bs(0x00, 0x02, 0x01, 0x03, 0x07), b)
}

func TestDatagramErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		v    Version
		wire []byte
		err  error
	}{
		{"draft-16 type in draft-14", Draft14, bs(0x08, 0x02, 0x01, 0x03, "hi"), ErrUnknownType},
		{"status with end of group", Draft16, bs(0x22, 0x02, 0x01, 0x03, 0x80, 0x03), ErrUnknownType},
		{"type 0x10", Draft16, bs(0x10, 0x02, 0x01, 0x03, 0x80), ErrUnknownType},
		{"extensions present with length 0", Draft14, bs(0x01, 0x02, 0x01, 0x03, 0x80, 0x00, "hi"), ErrProtocolViolation},
		{"does not exist in draft-16", Draft16, bs(0x20, 0x02, 0x01, 0x03, 0x80, 0x01), ErrProtocolViolation},
		{"status 2", Draft14, bs(0x20, 0x02, 0x01, 0x03, 0x80, 0x02), ErrProtocolViolation},
		{"bytes after the status", Draft14, bs(0x20, 0x02, 0x01, 0x03, 0x80, 0x04, 0x00), ErrTrailingBytes},
		{
			"extensions on a missing object", Draft14,
			bs(0x21, 0x02, 0x01, 0x03, 0x80, 0x02, 0x3c, 0x01, 0x01), ErrProtocolViolation,
		},
		{"truncated", Draft14, bs(0x00, 0x02, 0x01), nil},
	} {
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			var d Datagram
			err := d.Parse(c.wire, c.v)
			require.Error(t, err)
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
			}
			require.Equal(t, SessionProtocolViolation, SessionCode(err))
		})
	}
	for _, d := range []Datagram{
		{Status: StatusEndOfTrack, Payload: []byte("x")},
		{Status: StatusEndOfGroup, EndOfGroup: true},
		{Status: StatusDoesNotExist, Extensions: bs(0x3c, 0x01)},
		{GroupID: 1 << 62},
	} {
		_, err := d.Append(nil, Draft14)
		require.Error(t, err)
	}
}

func FuzzDatagram(f *testing.F) {
	for _, c := range datagramCases {
		f.Add(c.wire, c.v == Draft16)
	}
	f.Fuzz(func(t *testing.T, data []byte, draft16 bool) {
		v := Draft14
		if draft16 {
			v = Draft16
		}
		var d Datagram
		if err := d.Parse(data, v); err != nil {
			return
		}
		b, err := d.Append(nil, v)
		require.NoError(t, err)
		var d2 Datagram
		require.NoError(t, d2.Parse(b, v))
		require.Equal(t, d, d2)
	})
}

func BenchmarkDatagram(b *testing.B) {
	d := Datagram{TrackAlias: 9, GroupID: 123456, ObjectID: 7, PublisherPriority: 3, Payload: make([]byte, 1100)}
	b.Run("Append", func(b *testing.B) {
		buf := make([]byte, 0, 1200)
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = d.Append(buf[:0], Draft16); err != nil {
				b.Fatal(err)
			}
		}
	})
	wire, err := d.Append(nil, Draft16)
	require.NoError(b, err)
	b.Run("Parse", func(b *testing.B) {
		var p Datagram
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Parse(wire, Draft16); err != nil {
				b.Fatal(err)
			}
		}
	})
}
