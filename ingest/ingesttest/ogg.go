package ingesttest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// OggPackets returns the packets of an Ogg stream with one logical stream
// (RFC 3533), e.g. ffmpeg's `-f opus` output: OpusHead, OpusTags, then the
// audio packets.
func OggPackets(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var packets [][]byte
	var cur []byte
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 27)
		require.Equal(t, "OggS", string(b[:4]))
		nseg := int(b[26])
		require.GreaterOrEqual(t, len(b), 27+nseg)
		segs := b[27 : 27+nseg]
		data := b[27+nseg:]
		for _, l := range segs {
			require.GreaterOrEqual(t, len(data), int(l))
			cur = append(cur, data[:l]...)
			data = data[l:]
			if l < 255 {
				packets = append(packets, cur)
				cur = nil
			}
		}
		b = data
	}
	return packets
}
