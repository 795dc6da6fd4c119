package srt

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// tsPacket builds a 188-byte packet whose payload is filled with 0xAB.
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

func join(ps ...[]byte) []byte { return bytes.Join(ps, nil) }

// readAll drains a tsReader past its probing phase.
func readAll(r io.Reader) (out []byte, errs int, err error) {
	tr := newTSReader(r, func(int) {}, func(error) { errs++ })
	tr.endProbe()
	for {
		p, err := tr.next()
		if err != nil {
			return out, errs, err
		}
		out = append(out, p...)
	}
}

func TestTSReader(t *testing.T) {
	a0, a1, a2 := tsPacket(256, 0, true), tsPacket(256, 1, false), tsPacket(256, 2, false)
	b0 := tsPacket(257, 7, true)
	null := tsPacket(tsNullPID, 0, false)
	cases := []struct {
		name string
		in   io.Reader
		want []byte
		errs int
	}{
		{name: "aligned", in: bytes.NewReader(join(a0, b0, a1, a2)), want: join(a0, b0, a1, a2)},
		{name: "one byte per read", in: iotest.OneByteReader(bytes.NewReader(join(a0, a1, a2))), want: join(a0, a1, a2)},
		{name: "null packets dropped", in: bytes.NewReader(join(a0, null, a1)), want: join(a0, a1)},
		{name: "garbage skipped, reported once per read", in: bytes.NewReader(join([]byte{1, 2, 3}, a0, []byte{9}, a1)), want: join(a0, a1), errs: 1},
		{name: "garbage only", in: bytes.NewReader(bytes.Repeat([]byte{0x11}, 1000)), errs: 1},
		{name: "truncated tail held back", in: bytes.NewReader(join(a0, a1[:100])), want: a0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, err := readAll(tc.in)
			require.ErrorIs(t, err, io.EOF)
			require.Equal(t, tc.want, out)
			require.Equal(t, tc.errs, errs)
		})
	}
}

// TestTSReaderProbe: what the prober reads, consumed or not, is recorded
// for the replay, and the live phase continues after it.
func TestTSReaderProbe(t *testing.T) {
	var in []byte
	for i := range 20 {
		in = append(in, tsPacket(256, uint8(i), i == 0)...)
	}
	tr := newTSReader(iotest.HalfReader(bytes.NewReader(in)), func(int) {}, func(error) {})
	buf := make([]byte, 300) // the prober consumes part of what was read
	_, err := io.ReadFull(tr, buf)
	require.NoError(t, err)
	rec := tr.endProbe()
	require.Zero(t, len(rec)%tsPacketSize)
	require.GreaterOrEqual(t, len(rec), 2*tsPacketSize)
	rest, _, err := func() ([]byte, int, error) {
		var out []byte
		for {
			p, err := tr.next()
			if err != nil {
				return out, 0, err
			}
			out = append(out, p...)
		}
	}()
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, in, append(rec, rest...), "every packet exactly once")
}

func TestTSReaderProbeBound(t *testing.T) {
	in := bytes.Repeat(tsPacket(256, 0, false), maxProbeBytes/tsPacketSize+10)
	_, err := io.ReadAll(newTSReader(bytes.NewReader(in), func(int) {}, func(error) {}))
	require.ErrorIs(t, err, errProbeTooLarge)
}
