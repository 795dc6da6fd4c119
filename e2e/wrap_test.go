//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTimestampWrapsThroughTheBinary: a publisher whose timestamps wrap
// mid-stream — RTMP at ffmpeg's 31-bit millisecond limit (its FLV muxer
// keeps 31 bits), MPEG-TS over SRT at 33 bits of 90 kHz — is recorded by
// `moq-gateway sub` with decode times that only grow, every frame there,
// and ffmpeg decodes the files clean.
func TestTimestampWrapsThroughTheBinary(t *testing.T) {
	g := startGateway(t, nil)
	cases := []struct {
		name, path string
		args       []string
	}{
		// 2^31 ms is 2147483.648 s: the wrap comes 3.6 s in.
		{"rtmp 31-bit ms", "live/wrap-rtmp", []string{"-output_ts_offset", "2147480", "-f", "flv", "rtmp://" + g.RTMP + "/live/wrap-rtmp"}},
		// 2^33 / 90 kHz is 95443.718 s: the wrap comes 3.7 s in.
		{"mpeg-ts 33-bit", "live/wrap-srt", []string{"-output_ts_offset", "95440", "-f", "mpegts", srtURL(g, "publish:live/wrap-srt", "")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := sub(t, "-url", "moqt://"+g.MoQ, "-namespace", tc.path, "-wait", "20s", "-duration", "11s")
			push := startProcess(t, "ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-re", "-i", clip, "-c", "copy"}, tc.args...)...)
			defer push.kill()
			require.NoError(t, push.wait(t, 60*time.Second))
			require.NoError(t, s.wait(t, 60*time.Second), s.out.String())
			for _, st := range []struct{ file, stream string }{{"video.mp4", "v:0"}, {"audio.mp4", "a:0"}} {
				file := filepath.Join(dir, st.file)
				dts, _ := packets(t, file, st.stream)
				for i := 1; i < len(dts); i++ {
					require.Greater(t, dts[i], dts[i-1], "%s packet %d: decode time goes back (%d after %d)", st.file, i, dts[i], dts[i-1])
				}
				requireDecodes(t, file)
				if st.stream == "v:0" {
					require.GreaterOrEqual(t, len(dts), clipFrames-clipGOP, "video frames across the wrap")
				}
			}
		})
	}
}
