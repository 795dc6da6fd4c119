//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSRTAndRTSPRecordingsMuxClean: ffmpeg publishes over SRT and RTSP;
// subscribers over drafts 14 and 16, raw QUIC and WebTransport, record; each
// recording's video and audio muxed into one MP4 by ffmpeg give no warning
// (a decode time that does not increase is one), decode with no error, and
// every stream's decode times increase.
func TestSRTAndRTSPRecordingsMuxClean(t *testing.T) {
	g := startGateway(t, map[string]string{"MOQGW_GRACE": "1s"})
	var cases []*subscriberCase
	for _, proto := range []string{"srt", "rtsp"} {
		for _, draft := range []string{"14", "16"} {
			for _, wt := range []bool{false, true} {
				c := &subscriberCase{
					name: fmt.Sprintf("%s/draft-%s/webtransport=%v", proto, draft, wt),
					path: "live/" + proto, draft: draft, webTransport: wt,
				}
				c.startSub(t, g)
				cases = append(cases, c)
			}
		}
	}
	srt := pushSRT(t, clip, srtURL(g, "publish:live/srt", ""))
	rtsp := pushRTSP(t, clip, "tcp", rtspURL(g, "", "live/rtsp"))
	require.NoError(t, srt.wait(t, 60*time.Second), "ffmpeg SRT")
	require.NoError(t, rtsp.wait(t, 60*time.Second), "ffmpeg RTSP")
	for _, c := range cases {
		c.minVideo = clipFrames - clipGOP // SRT may lose the first GOP's start
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.check(t)
			rec := filepath.Join(c.dir, "rec.mp4")
			out, err := exec.Command("ffmpeg", "-hide_banner", "-v", "warning", "-y",
				"-i", filepath.Join(c.dir, "video.mp4"), "-i", filepath.Join(c.dir, "audio.mp4"),
				"-map", "0", "-map", "1", "-c", "copy", rec).CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Empty(t, strings.TrimSpace(string(out)), "muxing video and audio")
			requireDecodes(t, rec)
			for _, st := range []string{"v:0", "a:0"} {
				requireIncreasingDTS(t, rec, st)
			}
		})
	}
}

// requireIncreasingDTS requires the decode times of one stream of file to
// increase packet by packet.
func requireIncreasingDTS(t *testing.T, file, stream string) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream,
		"-show_entries", "packet=dts", "-of", "csv=p=0", file).Output()
	require.NoError(t, err)
	prev := int64(-1 << 62)
	n := 0
	for f := range strings.FieldsSeq(string(out)) {
		dts, err := strconv.ParseInt(strings.TrimSuffix(f, ","), 10, 64)
		require.NoError(t, err, "%q", f)
		require.Greater(t, dts, prev, "%s %s: packet %d", file, stream, n)
		prev = dts
		n++
	}
	require.Positive(t, n)
}
