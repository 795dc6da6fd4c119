//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestShutdownIsANormalEndForSubscribers: SIGTERM to the gateway while
// `moq-gateway sub` records over raw QUIC and WebTransport: each gets GOAWAY
// and PUBLISH_DONE (GOING_AWAY), logs the end at INFO, exits 0, and leaves
// files ffmpeg decodes.
func TestShutdownIsANormalEndForSubscribers(t *testing.T) {
	g := startGateway(t, nil)
	pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	g.waitStream(t, "live/cam1", 20*time.Second)
	type rec struct {
		p   *process
		dir string
	}
	var recs []rec
	for _, wt := range []bool{false, true} {
		p, dir := sub(t, "-url", subURL(g, wt), "-namespace", "live/cam1")
		recs = append(recs, rec{p, dir})
	}
	for _, r := range recs {
		waitFileSize(t, filepath.Join(r.dir, "video.mp4"), 200<<10, 20*time.Second)
	}
	g.stop(t)
	for _, r := range recs {
		require.NoError(t, r.p.wait(t, 20*time.Second), "sub exits 0 when the gateway shuts down:\n%s", r.p.out.String())
		require.Contains(t, r.p.out.String(), `level=INFO msg="stream ended"`)
		require.NotContains(t, r.p.out.String(), "level=WARN")
		requireDecodes(t, filepath.Join(r.dir, "video.mp4"))
		requireDecodes(t, filepath.Join(r.dir, "audio.mp4"))
	}
	require.NotContains(t, g.logs.String(), "session failed")
}
