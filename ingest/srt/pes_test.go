package srt

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// pesBytes builds a PES packet; withLength states PES_packet_length as
// audio streams do (video leaves it 0).
func pesBytes(pts, dts int64, payload []byte, withLength bool) []byte {
	hdr := []byte{0, 0, 1, 0xE0, 0, 0, 0x80, 0x80, 5}
	ts := encodeClock(0x2, pts)
	if dts != pts {
		hdr[7], hdr[8] = 0xC0, 10
		ts = append(encodeClock(0x3, pts), encodeClock(0x1, dts)...)
	}
	b := append(append(hdr, ts...), payload...)
	if withLength {
		n := len(b) - 6
		b[4], b[5] = byte(n>>8), byte(n)
	}
	return b
}

func encodeClock(prefix byte, v int64) []byte {
	return []byte{
		prefix<<4 | byte(v>>29)&0x0E | 1,
		byte(v >> 22), byte(v>>14) | 1,
		byte(v >> 7), byte(v<<1) | 1,
	}
}

// packetize splits a PES into TS packets, stuffing the last one with an
// adaptation field.
func packetize(pid uint16, cc *uint8, pes []byte) [][]byte {
	var out [][]byte
	for first := true; len(pes) > 0; first = false {
		p := tsPacket(pid, *cc, first)
		*cc++
		n := min(len(pes), tsPacketSize-4)
		if n < tsPacketSize-4 {
			stuff := tsPacketSize - 4 - n // adaptation field incl. its length byte
			p[3] |= 0x20
			p[4] = byte(stuff - 1)
			if stuff > 1 {
				p[5] = 0
				for i := 6; i < 4+stuff; i++ {
					p[i] = 0xFF
				}
			}
		}
		copy(p[tsPacketSize-n:], pes[:n])
		pes = pes[n:]
		out = append(out, p)
	}
	return out
}

type pesOut struct {
	pts, dts int64
	data     []byte
}

func testStreamProgram() (*program, *[]pesOut, *int, *int) {
	var got []pesOut
	lost, errs := 0, 0
	p := &program{
		streams: map[uint16]*pesStream{},
		onLost:  func(n int) { lost += n },
		onError: func(error) { errs++ },
	}
	p.streams[256] = &pesStream{pid: 256, handle: func(pts, dts int64, data []byte) error {
		got = append(got, pesOut{pts, dts, append([]byte(nil), data...)})
		return nil
	}}
	return p, &got, &lost, &errs
}

func feed(t *testing.T, p *program, pkts ...[]byte) {
	t.Helper()
	for _, pkt := range pkts {
		require.NoError(t, p.packet(pkt))
	}
}

func TestPESAssembly(t *testing.T) {
	frame := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}
	// A PES with both timestamps has a 19-byte header: 349 bytes of data
	// fill two TS packets exactly, with no stuffing.
	const exact = 2*(tsPacketSize-4) - 19
	var cc uint8
	v1 := packetize(256, &cc, pesBytes(9000, 6000, frame(1000), false))
	v2 := packetize(256, &cc, pesBytes(12000, 9000, frame(10), false))
	v3 := packetize(256, &cc, pesBytes(15000, 12000, frame(500), false))
	f1 := pesOut{9000, 6000, frame(1000)}
	f2 := pesOut{12000, 9000, frame(10)}
	f3 := pesOut{15000, 12000, frame(500)}

	t.Run("stuffed packet ends an unbounded PES", func(t *testing.T) {
		p, got, lost, errs := testStreamProgram()
		feed(t, p, v1...)
		require.Equal(t, []pesOut{f1}, *got, "handed on without waiting for the next PES")
		feed(t, p, v2...)
		feed(t, p, v3...)
		require.Equal(t, []pesOut{f1, f2, f3}, *got)
		require.NoError(t, p.end())
		require.Len(t, *got, 3, "nothing left at the close")
		require.Zero(t, *lost)
		require.Zero(t, *errs)
	})

	t.Run("unstuffed PES ends at the next or at the close", func(t *testing.T) {
		p, got, _, errs := testStreamProgram()
		var cc uint8
		e1 := packetize(256, &cc, pesBytes(100, 90, frame(exact), false))
		e2 := packetize(256, &cc, pesBytes(200, 190, frame(exact), false))
		require.Len(t, e1, 2)
		feed(t, p, e1...)
		require.Empty(t, *got, "no stuffing: the PES may go on")
		feed(t, p, e2...)
		require.Equal(t, []pesOut{{100, 90, frame(exact)}}, *got)
		require.NoError(t, p.end())
		require.Equal(t, []pesOut{{100, 90, frame(exact)}, {200, 190, frame(exact)}}, *got)
		require.NoError(t, p.end())
		require.Len(t, *got, 2, "handed on once")
		require.Zero(t, *errs)
	})

	t.Run("stated length goes on at once", func(t *testing.T) {
		p, got, _, _ := testStreamProgram()
		var cc uint8
		e := packetize(256, &cc, pesBytes(100, 90, frame(exact), true))
		feed(t, p, e...)
		require.Equal(t, []pesOut{{100, 90, frame(exact)}}, *got)
	})

	t.Run("lost packet costs its PES only", func(t *testing.T) {
		p, got, lost, errs := testStreamProgram()
		feed(t, p, v1[0])
		feed(t, p, v1[2:]...) // v1[1] lost
		feed(t, p, v2...)
		feed(t, p, v3...)
		require.Equal(t, []pesOut{f2, f3}, *got)
		require.Equal(t, 1, *lost)
		require.Equal(t, 1, *errs)
	})

	t.Run("lost start of the next PES costs that PES only", func(t *testing.T) {
		p, got, lost, errs := testStreamProgram()
		feed(t, p, v1...)
		feed(t, p, v2[1:]...) // v2 is one packet: lost whole
		feed(t, p, v3...)
		require.Equal(t, []pesOut{f1, f3}, *got, "v1 was whole at its stuffed packet")
		require.Equal(t, 1, *lost)
		require.Zero(t, *errs, "nothing was being collected when the gap showed")
	})

	t.Run("lost start after a stuffed end keeps the fast path", func(t *testing.T) {
		p, got, lost, errs := testStreamProgram()
		var cc uint8
		a := packetize(256, &cc, pesBytes(100, 100, frame(1000), false))
		b := packetize(256, &cc, pesBytes(200, 200, frame(1000), false))
		c := packetize(256, &cc, pesBytes(300, 300, frame(1000), false))
		feed(t, p, a...)
		feed(t, p, b[1:]...) // b's first packet lost
		feed(t, p, c...)
		require.Equal(t, []pesOut{{100, 100, frame(1000)}, {300, 300, frame(1000)}}, *got,
			"c goes on at its stuffed packet")
		require.False(t, p.streams[256].noStuffingEnd, "a lost packet is not a muxer stuffing inside PES")
		require.Equal(t, 1, *lost)
		require.Zero(t, *errs, "nothing was being collected when the gap showed")
	})

	t.Run("close drops a PES short of its stated length", func(t *testing.T) {
		p, got, _, errs := testStreamProgram()
		var cc uint8
		a := packetize(256, &cc, pesBytes(100, 100, frame(1000), true))
		feed(t, p, a[:3]...)
		require.NoError(t, p.end())
		require.Empty(t, *got)
		require.Equal(t, 1, *errs)
	})

	t.Run("close drops a PES a stuffing muxer did not finish", func(t *testing.T) {
		p, got, _, errs := testStreamProgram()
		feed(t, p, v1...)
		feed(t, p, v3[:2]...) // v3 is three packets: cut
		require.NoError(t, p.end())
		require.Equal(t, []pesOut{f1}, *got)
		require.Equal(t, 1, *errs)
	})

	t.Run("duplicate ignored", func(t *testing.T) {
		p, got, lost, _ := testStreamProgram()
		feed(t, p, v1[0], v1[0])
		feed(t, p, v1[1:]...)
		feed(t, p, v2...)
		require.Equal(t, []pesOut{f1, f2}, *got)
		require.Zero(t, *lost)
	})

	t.Run("joined mid-PES", func(t *testing.T) {
		p, got, lost, errs := testStreamProgram()
		feed(t, p, v1[3:]...)
		feed(t, p, v2...)
		feed(t, p, v3...)
		require.Equal(t, []pesOut{f2, f3}, *got)
		require.Zero(t, *lost)
		require.Zero(t, *errs)
	})

	t.Run("transport error drops the PES", func(t *testing.T) {
		p, got, _, errs := testStreamProgram()
		bad := append([]byte(nil), v1[2]...)
		bad[1] |= 0x80
		feed(t, p, v1[:2]...)
		feed(t, p, bad)
		feed(t, p, v1[3:]...)
		feed(t, p, v2...)
		feed(t, p, v3...)
		require.Equal(t, []pesOut{f2, f3}, *got)
		require.Equal(t, 1, *errs)
	})

	t.Run("muxer that stuffs inside a PES", func(t *testing.T) {
		p, got, _, errs := testStreamProgram()
		var cc uint8
		// The first packet of each PES carries only 100 bytes and
		// stuffing, as a muxer that does not follow §2.4.3.5 might.
		odd := func(pts int64) [][]byte {
			pes := pesBytes(pts, pts, frame(400), false)
			first := packetize(256, &cc, pes[:100])
			return append(first, packetize(256, &cc, pes[100:])...)
		}
		for i, pkt := range odd(100) {
			if i > 0 {
				pkt[1] &^= 0x40 // continuation, not a new PES
			}
			feed(t, p, pkt)
		}
		require.Equal(t, 1, *errs, "the cut-short frame is reported")
		require.Len(t, *got, 1)
		*got = nil
		for _, pts := range []int64{200, 300} {
			for i, pkt := range odd(pts) {
				if i > 0 {
					pkt[1] &^= 0x40
				}
				feed(t, p, pkt)
			}
		}
		require.Equal(t, []pesOut{{200, 200, frame(400)}}, *got, "from then on a PES ends at the next")
		require.NoError(t, p.end())
		require.Equal(t, []pesOut{{200, 200, frame(400)}, {300, 300, frame(400)}}, *got)
		require.Equal(t, 1, *errs)
	})

	t.Run("other PIDs ignored", func(t *testing.T) {
		p, got, _, _ := testStreamProgram()
		var cc uint8
		feed(t, p, packetize(300, &cc, pesBytes(1, 1, frame(10), true))...)
		require.Empty(t, *got)
	})
}

func TestHasStuffing(t *testing.T) {
	cases := []struct {
		name string
		af   []byte
		want bool
	}{
		{"single stuffing byte", nil, true},
		{"flags only", []byte{0x00}, false},
		{"flags and stuffing", []byte{0x00, 0xFF, 0xFF}, true},
		{"PCR", []byte{0x50, 1, 2, 3, 4, 5, 6}, false},
		{"PCR and stuffing", []byte{0x50, 1, 2, 3, 4, 5, 6, 0xFF}, true},
		{"private data", []byte{0x02, 2, 0xAA, 0xBB}, false},
		{"private data and stuffing", []byte{0x02, 1, 0xAA, 0xFF}, true},
		{"private data length past the end", []byte{0x02}, false},
		{"extension", []byte{0x01, 1, 0x00}, false},
		{"everything", []byte{0x1F, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 9, 0, 0, 0xFF}, true},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, hasStuffing(tc.af), tc.name)
	}
}

// TestPESTooLarge: a PES that never ends is dropped at the limit, without
// the connection, and the next one is handled.
func TestPESTooLarge(t *testing.T) {
	p, got, _, errs := testStreamProgram()
	var cc uint8
	// A start that fills its packet, so no stuffing ends it.
	feed(t, p, packetize(256, &cc, pesBytes(1, 1, make([]byte, tsPacketSize-4-14), false))...)
	for range maxPESBytes/(tsPacketSize-4) + 1 {
		feed(t, p, tsPacket(256, cc, false))
		cc++
	}
	require.Equal(t, 1, *errs)
	feed(t, p, packetize(256, &cc, pesBytes(7, 7, []byte{1}, true))...)
	require.Equal(t, []pesOut{{7, 7, []byte{1}}}, *got)
}

func TestParsePES(t *testing.T) {
	cases := []struct {
		name     string
		in       []byte
		pts, dts int64
		data     []byte
		ok       bool
	}{
		{name: "PTS only", in: pesBytes(90000, 90000, []byte{1, 2}, false), pts: 90000, dts: 90000, data: []byte{1, 2}, ok: true},
		{name: "PTS and DTS", in: pesBytes(1<<33-1, 1<<32, []byte{3}, true), pts: 1<<33 - 1, dts: 1 << 32, data: []byte{3}, ok: true},
		{name: "short", in: []byte{0, 0, 1, 0xE0}},
		{name: "no start code", in: []byte{0, 1, 1, 0xE0, 0, 0, 0x80, 0x80, 5, 0, 0, 0, 0, 0}},
		{name: "no optional header", in: []byte{0, 0, 1, 0xBE, 0, 3, 0xFF, 0xFF, 0xFF}},
		{name: "no PTS", in: []byte{0, 0, 1, 0xE0, 0, 0, 0x80, 0x00, 0}},
		{name: "header beyond packet", in: []byte{0, 0, 1, 0xE0, 0, 0, 0x80, 0x80, 20, 0, 0}},
		{name: "PTS truncated", in: []byte{0, 0, 1, 0xE0, 0, 0, 0x80, 0x80, 2, 0x21, 0}},
		{name: "DTS truncated", in: append([]byte{0, 0, 1, 0xE0, 0, 0, 0x80, 0xC0, 5}, encodeClock(3, 1)...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pts, dts, data, err := parsePES(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, errPESHeader)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.pts, pts)
			require.Equal(t, tc.dts, dts)
			require.Equal(t, tc.data, data)
		})
	}
}
