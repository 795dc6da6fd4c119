package srt

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// tsPacket builds a 188-byte packet with a payload.
func tsPacket(pid uint16, cc uint8, start bool) []byte {
	p := make([]byte, tsPacketSize)
	p[0] = tsSyncByte
	p[1] = byte(pid>>8) & 0x1F
	if start {
		p[1] |= 0x40
	}
	p[2] = byte(pid)
	p[3] = 0x10 | cc&0x0F // payload only
	for i := 4; i < len(p); i++ {
		p[i] = 0xAB
	}
	return p
}

// withDiscontinuity sets the adaptation field's discontinuity indicator.
func withDiscontinuity(p []byte) []byte {
	p[3] |= 0x20
	p[4] = 1
	p[5] = 0x80
	return p
}

type tsResult struct {
	out          []byte
	lost, errors int
	err          error
}

func readTS(r io.Reader) tsResult {
	var res tsResult
	tr := newTSReader(r, func(int) {}, func(n int) { res.lost += n }, func(error) { res.errors++ })
	res.out, res.err = io.ReadAll(tr)
	return res
}

func join(ps ...[]byte) []byte { return bytes.Join(ps, nil) }

func TestTSReader(t *testing.T) {
	a0, a1, a2 := tsPacket(256, 0, true), tsPacket(256, 1, false), tsPacket(256, 2, false)
	b0 := tsPacket(257, 7, true)
	null := tsPacket(tsNullPID, 0, false)
	cases := []struct {
		name       string
		in         io.Reader
		want       []byte
		lost, errs int
	}{
		{name: "aligned", in: bytes.NewReader(join(a0, b0, a1, a2)), want: join(a0, b0, a1, a2)},
		{name: "one byte per read", in: iotest.OneByteReader(bytes.NewReader(join(a0, a1, a2))), want: join(a0, a1, a2)},
		{name: "null packets dropped", in: bytes.NewReader(join(a0, null, a1)), want: join(a0, a1)},
		{name: "garbage skipped", in: bytes.NewReader(join([]byte{1, 2, 3}, a0, []byte{9}, a1)), want: join(a0, a1), errs: 1},
		{name: "garbage only", in: bytes.NewReader(bytes.Repeat([]byte{0x11}, 1000)), want: []byte{}, errs: 1},
		{name: "continuity gap counted", in: bytes.NewReader(join(a0, tsPacket(256, 4, false))), want: join(a0, tsPacket(256, 4, false)), lost: 3},
		{name: "gap across counter wrap", in: bytes.NewReader(join(tsPacket(256, 15, true), tsPacket(256, 1, false))), want: join(tsPacket(256, 15, true), tsPacket(256, 1, false)), lost: 1},
		{name: "duplicate is not a loss", in: bytes.NewReader(join(a0, a1, a1)), want: join(a0, a1, a1)},
		{
			name: "discontinuity indicator is not a loss",
			in:   bytes.NewReader(join(a0, withDiscontinuity(tsPacket(256, 9, true)))), want: join(a0, withDiscontinuity(tsPacket(256, 9, true))),
		},
		{name: "truncated tail held back", in: bytes.NewReader(join(a0, a1[:100])), want: a0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := readTS(tc.in)
			require.NoError(t, res.err)
			require.Equal(t, tc.want, res.out)
			require.Equal(t, tc.lost, res.lost, "lost")
			require.Equal(t, tc.errs, res.errors, "errors (one per read with garbage)")
		})
	}
}

// TestTSReaderBoundsPES feeds one PES that never ends: the reader fails
// instead of letting the demuxer buffer it without limit.
func TestTSReaderBoundsPES(t *testing.T) {
	n := maxPESBytes/(tsPacketSize-4) + 2
	var b bytes.Buffer
	for i := range n {
		b.Write(tsPacket(256, uint8(i), i == 0))
	}
	res := readTS(&b)
	require.ErrorIs(t, res.err, errPESTooLarge)
	require.Less(t, len(res.out), n*tsPacketSize, "the oversized PES is not passed on whole")
}
