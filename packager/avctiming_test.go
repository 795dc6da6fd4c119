package packager

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestH264FrameRate(t *testing.T) {
	tests := []struct {
		name    string
		sps     []byte
		want    float64
		wantErr bool
	}{
		// Both carry emulation prevention bytes (00 00 03) in the timing info.
		{"x264 main 30 fps", h264SPS, 30, false},
		{"x264 baseline 25 fps", h264SPS640, 25, false},
		{"no vui", mustHex("6742c01ef40a0fc8"), 0, false},
		{"truncated", h264SPS[:10], 0, true},
		// A 25-byte SPS whose HRD parameters claim 2^32 CPBs: the timing
		// info comes before them, nothing else is read.
		{"hostile hrd", []byte("'000$X0\xbf7\xc01\x00\x00\x00\x04\x03\x00\x00\x03\x00\xc8<X\xba\x80"), 0, false},
		{"empty", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h264FrameRate(tt.sps)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.InDelta(t, tt.want, got, 0.001)
		})
	}
}
