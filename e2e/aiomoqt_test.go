//go:build e2e

package e2e

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// aiomoqt (Python, draft-14 only) from scripts/peers.sh's virtualenv.
func aiomoqtPython(t *testing.T) string {
	t.Helper()
	return peerBin(t, "aiomoqt", "python")
}

// TestAiomoqtInterop runs aiomoqt's own interop client against the gateway
// over WebTransport and raw QUIC, with the cases that apply to an endpoint
// that publishes its own streams: SETUP, a SUBSCRIBE refused for an
// unknown track, a SUBSCRIBE before anything is announced. (Its announce
// cases need MoQ ingest.)
func TestAiomoqtInterop(t *testing.T) {
	g := startGateway(t, nil)
	for _, url := range []string{"https://" + g.MoQ + "/moq", "moqt://" + g.MoQ} {
		for _, tc := range []string{"setup-only", "subscribe-error", "subscribe-before-announce"} {
			t.Run(url+"/"+tc, func(t *testing.T) {
				p := startProcess(t, aiomoqtPython(t), "-m", "aiomoqt.examples.moq_interop_client",
					"-r", url, "--tls-disable-verify", "-t", tc)
				require.NoError(t, p.wait(t, 60*time.Second))
				require.Regexp(t, regexp.MustCompile(`(?m)^ok 1 - `+regexp.QuoteMeta(tc)+`$`), p.out.String())
			})
		}
	}
}

// TestAiomoqtSubscriber: a subscriber written on aiomoqt
// (e2e/testdata/aiomoqt_sub.py, which works around aiomoqt 0.5.3's data
// stream bugs) subscribes to the catalog, video and audio of a live stream
// over WebTransport and raw QUIC and receives each track's objects, the
// catalog as MSF JSON.
func TestAiomoqtSubscriber(t *testing.T) {
	g := startGateway(t, nil)
	push := startProcess(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "2", "-i", clip,
		"-c", "copy", "-f", "flv", "rtmp://"+g.RTMP+"/live/cam1")
	defer push.kill()
	g.waitStream(t, "live/cam1", 20*time.Second)
	script, err := filepath.Abs(filepath.Join("testdata", "aiomoqt_sub.py"))
	require.NoError(t, err)
	objects := regexp.MustCompile(`(?m)^track (\w+): objects=(\d+) groups=(\d+)`)
	for _, url := range []string{"https://" + g.MoQ + "/moq", "moqt://" + g.MoQ} {
		t.Run(url, func(t *testing.T) {
			p := startProcess(t, aiomoqtPython(t), script, url, "live/cam1", "-d", "3")
			require.NoError(t, p.wait(t, 60*time.Second), "aiomoqt_sub")
			out := p.out.String()
			require.Contains(t, out, "RESULT PASS")
			require.Contains(t, out, `catalog JSON keys: [`)
			got := map[string]int{}
			for _, m := range objects.FindAllStringSubmatch(out, -1) {
				got[m[1]], _ = strconv.Atoi(m[2])
			}
			require.GreaterOrEqual(t, got["catalog"], 1)
			require.GreaterOrEqual(t, got["video"], 2*clipFPS, "3 s of 30 fps video")
			require.GreaterOrEqual(t, got["audio"], 2*clipFPS)
		})
	}
}
