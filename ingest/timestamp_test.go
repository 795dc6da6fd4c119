package ingest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnwrapperCrossesWrap(t *testing.T) {
	cases := []struct {
		name string
		bits uint
		raw  []uint64
		want []int64
	}{
		{
			name: "rtmp 32-bit ms wrap",
			bits: RTMPTimestampBits,
			raw:  []uint64{0xFFFF_FFF0, 0xFFFF_FFFF, 0x0000_0010, 0x0000_0050},
			want: []int64{0xFFFF_FFF0, 0xFFFF_FFFF, 0x1_0000_0010, 0x1_0000_0050},
		},
		{
			name: "rtmp 24-bit extended timestamp boundary is no wrap",
			bits: RTMPTimestampBits,
			raw:  []uint64{0xFF_FFF0, 0xFF_FFFF, 0x100_0000, 0x100_0021},
			want: []int64{0xFF_FFF0, 0xFF_FFFF, 0x100_0000, 0x100_0021},
		},
		{
			name: "mpeg-ts 33-bit 90 kHz wrap",
			bits: MPEGTSClockBits,
			raw:  []uint64{1<<33 - 3003, 1<<33 - 1, 3002, 6005},
			want: []int64{1<<33 - 3003, 1<<33 - 1, 1<<33 + 3002, 1<<33 + 6005},
		},
		{
			name: "rtp 32-bit wrap at 90 kHz",
			bits: RTPTimestampBits,
			raw:  []uint64{1<<32 - 1500, 1500, 4500},
			want: []int64{1<<32 - 1500, 1<<32 + 1500, 1<<32 + 4500},
		},
		{
			name: "backward step just after wrap goes back across it",
			bits: RTPTimestampBits,
			raw:  []uint64{1<<32 - 10, 20, 1<<32 - 5, 40},
			want: []int64{1<<32 - 10, 1<<32 + 20, 1<<32 - 5, 1<<32 + 40},
		},
		{
			name: "several wraps accumulate",
			bits: 4,
			raw:  []uint64{14, 2, 6, 12, 1, 5},
			want: []int64{14, 18, 22, 28, 33, 37},
		},
		{
			name: "raw wider than the counter is masked",
			bits: RTMPTimestampBits,
			raw:  []uint64{1<<40 + 7},
			want: []int64{7},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := Unwrapper{Bits: tc.bits}
			got := make([]int64, 0, len(tc.raw))
			for _, r := range tc.raw {
				got = append(got, u.Unwrap(r))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestUnwrapperLongRun(t *testing.T) {
	// Ten wraps of a 33-bit clock in 1-second steps of 90 kHz ticks: the
	// unwrapped timeline must advance by exactly the step every time.
	u := Unwrapper{Bits: MPEGTSClockBits}
	const step = 90000
	raw := uint64(1<<33 - 5*step)
	prev := u.Unwrap(raw)
	for range 10 * (1 << 33) / step {
		raw += step
		got := u.Unwrap(raw)
		require.Equal(t, prev+step, got)
		prev = got
	}
}

func FuzzUnwrapper(f *testing.F) {
	f.Add(uint8(32), uint64(0xFFFF_FFF0), uint32(100))
	f.Add(uint8(33), uint64(1<<33-1), uint32(3003))
	f.Fuzz(func(t *testing.T, bits uint8, start uint64, step uint32) {
		b := uint(bits%62) + 2
		if uint64(step) >= uint64(1)<<(b-1) {
			return // steps of half the range or more are ambiguous by design
		}
		u := Unwrapper{Bits: b}
		prev := u.Unwrap(start)
		raw := start
		for range 8 {
			raw += uint64(step)
			got := u.Unwrap(raw)
			require.Equal(t, prev+int64(step), got)
			prev = got
		}
	})
}
