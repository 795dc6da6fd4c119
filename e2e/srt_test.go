//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The H.265+Opus clip: small, so encoding it once costs about a second.
const (
	hevcSeconds = 6
	hevcFrames  = hevcSeconds * clipFPS
	hevcWidth   = 640
	hevcHeight  = 360
)

// hevcClipOnce encodes the H.265+Opus clip next to the H.264 one (TestMain
// removes that directory at exit).
var hevcClipOnce = sync.OnceValues(func() (string, error) {
	out := filepath.Join(filepath.Dir(clip), "clip-hevc-opus.mp4")
	enc := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", hevcWidth, hevcHeight, clipFPS),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(hevcSeconds),
		"-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-x265-params", fmt.Sprintf("log-level=error:bframes=2:keyint=%d:min-keyint=%d:scenecut=0", clipGOP, clipGOP),
		"-c:a", "libopus", "-b:a", "96k", "-ac", "2",
		out)
	if msg, err := enc.CombinedOutput(); err != nil {
		return "", fmt.Errorf("encode H.265+Opus clip: %w: %s", err, msg)
	}
	return out, nil
})

// hevcClip is a pre-encoded hevcSeconds 640x360 30 fps H.265 (B-frames,
// GOP 30) + Opus 48 kHz stereo MP4.
func hevcClip(t *testing.T) string {
	t.Helper()
	p, err := hevcClipOnce()
	require.NoError(t, err)
	return p
}

// writeConfig writes a gateway YAML configuration (for stream rules, which
// MOQGW_* variables cannot set) and returns the arguments that load it.
func writeConfig(t *testing.T, yaml string) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "moq-gateway.yaml")
	require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
	return []string{"-config", p}
}

// Credentials of the stream rules the SRT and RTSP tests configure.
const (
	testPassphrase = "correct-horse-battery"
	testUser       = "alice"
	testPass       = "hunter2"
	testKey        = "s3cret"
)

// authConfig opens live/*, and guards secret/* with an SRT passphrase,
// user/* with a user and password (plus a passphrase for SRT), keyed/*
// with a stream key. Nothing else may be published.
const authConfig = `
streams:
  - path: live/*
  - path: secret/*
    passphrase: ` + testPassphrase + `
  - path: user/*
    user: ` + testUser + `
    pass: ` + testPass + `
    passphrase: ` + testPassphrase + `
  - path: keyed/*
    key: ` + testKey + `
`

// srtURL is the ffmpeg (libsrt) URL publishing with streamID; extra is
// appended to the query ("&passphrase=…"). linger keeps ffmpeg's SRT socket
// open after the last packet, so less of the end is lost when it exits.
func srtURL(g *gateway, streamID, extra string) string {
	return fmt.Sprintf("srt://%s?streamid=%s&pkt_size=1316&linger=3%s", g.SRT, streamID, extra)
}

// pushSRT pushes src in real time as MPEG-TS over SRT, without re-encoding.
func pushSRT(t *testing.T, src, url string) *process {
	t.Helper()
	return startProcess(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", src, "-c", "copy", "-f", "mpegts", url)
}

// subURL is the MoQ URL of g for a transport: raw QUIC or WebTransport.
func subURL(g *gateway, webTransport bool) string {
	if webTransport {
		return "https://" + g.MoQ + "/moq"
	}
	return "moqt://" + g.MoQ
}

// subscriberCase is one publisher and the subscriber waiting for it.
type subscriberCase struct {
	name         string
	path         string
	draft        string
	webTransport bool
	hevc         bool
	// url is where the publisher pushes.
	url string
	// minVideo is the fewest video frames the subscriber may receive.
	minVideo int

	sub  *process
	dir  string
	push *process
}

// startSub starts the case's subscriber, waiting for the stream to appear.
func (c *subscriberCase) startSub(t *testing.T, g *gateway) {
	t.Helper()
	c.sub, c.dir = sub(t, "-url", subURL(g, c.webTransport), "-namespace", c.path, "-draft", c.draft,
		"-wait", "30s", "-duration", "60s")
}

// check waits for the push and the subscriber, then judges the files.
func (c *subscriberCase) check(t *testing.T) {
	t.Helper()
	if c.push != nil { // nil: the caller waited for a publisher it shares
		require.NoError(t, c.push.wait(t, 60*time.Second), "ffmpeg")
	}
	// The stream ends one grace period after the publisher left; the
	// subscriber then sees PUBLISH_DONE and exits.
	require.NoError(t, c.sub.wait(t, 30*time.Second), "sub")
	out := c.sub.out.String()
	require.Contains(t, out, "version=draft-"+c.draft)
	transport := "quic"
	if c.webTransport {
		transport = "webtransport"
	}
	require.Contains(t, out, "transport="+transport)
	for line := range strings.Lines(out) {
		if strings.Contains(line, "track received") {
			t.Log(strings.TrimSpace(line))
		}
	}
	if c.hevc {
		requireHEVCOpusTracks(t, c.dir, c.minVideo)
	} else {
		// requireClipTracks accepts one GOP less than it is given.
		requireClipTracks(t, c.dir, c.minVideo+clipGOP)
	}
}

// requireHEVCOpusTracks is requireClipTracks for the H.265+Opus clip:
// codec, resolution, frame counts, and the catalog's codec strings.
func requireHEVCOpusTracks(t *testing.T, dir string, minVideo int) {
	t.Helper()
	v := probe(t, filepath.Join(dir, "video.mp4"))
	require.Equal(t, "hevc", v.Codec)
	require.Equal(t, hevcWidth, v.Width)
	require.Equal(t, hevcHeight, v.Height)
	require.True(t, v.FirstKey, "video starts with a keyframe")
	require.GreaterOrEqual(t, v.Packets, minVideo, "video frames")
	require.LessOrEqual(t, v.Packets, hevcFrames, "video frames")
	a := probe(t, filepath.Join(dir, "audio.mp4"))
	require.Equal(t, "opus", a.Codec)
	require.Equal(t, 48000, a.SampleRate)
	require.Equal(t, 2, a.Channels)
	require.Positive(t, a.Packets)
	require.InDelta(t, v.Duration, a.Duration, float64(clipGOP)/clipFPS+0.1)

	codecs := catalogCodecs(t, dir)
	require.True(t, strings.HasPrefix(codecs["video"], "hvc1."), "video codec %q", codecs["video"])
	require.Equal(t, "opus", codecs["audio"])
}

// catalogCodecs maps the track names of the catalog a subscriber wrote to
// their codec strings.
func catalogCodecs(t *testing.T, dir string) map[string]string {
	t.Helper()
	var cat struct {
		Tracks []struct {
			Name  string `json:"name"`
			Codec string `json:"codec"`
		} `json:"tracks"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "catalog.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &cat))
	codecs := map[string]string{}
	for _, tr := range cat.Tracks {
		codecs[tr.Name] = tr.Codec
	}
	return codecs
}

// srtLossMargin is how many video frames an ffmpeg SRT push may lose at its
// end: libsrt can drop its last second when ffmpeg exits, linger or not.
const srtLossMargin = clipFPS

// TestSRTPush: ffmpeg pushes over SRT with each stream-ID form, with and
// without a passphrase, H.264+AAC and H.265+Opus, and a subscriber waiting
// for each stream (both drafts, raw QUIC and WebTransport) receives it
// whole but for the end libsrt may lose. The pushes run at the same time
// on one gateway.
func TestSRTPush(t *testing.T) {
	hevc := hevcClip(t)
	g := startGateway(t, map[string]string{"MOQGW_GRACE": "1s"}, writeConfig(t, authConfig)...)
	cases := []*subscriberCase{
		{
			name: "access control form", path: "live/cam1", draft: "14",
			url: srtURL(g, "#!::r=live/cam1,m=publish", ""),
		},
		{
			name: "bare form", path: "live/cam2", draft: "16", webTransport: true,
			url: srtURL(g, "live/cam2", ""),
		},
		{
			name: "mediamtx form with passphrase", path: "secret/cam1", draft: "16", webTransport: true,
			url: srtURL(g, "publish:secret/cam1", "&passphrase="+testPassphrase),
		},
		{
			name: "bare form with stream key", path: "keyed/cam1", draft: "16",
			url: srtURL(g, "keyed/cam1?key="+testKey, ""),
		},
		{
			name: "H.265 Opus mediamtx form with credentials and AES-256", path: "user/hevc", draft: "14", webTransport: true, hevc: true,
			url: srtURL(g, "publish:user/hevc:"+testUser+":"+testPass, "&passphrase="+testPassphrase+"&pbkeylen=32"),
		},
	}
	for _, c := range cases {
		c.startSub(t, g)
	}
	for _, c := range cases {
		src, frames := clip, clipFrames
		if c.hevc {
			src, frames = hevc, hevcFrames
		}
		c.minVideo = frames - srtLossMargin
		c.push = pushSRT(t, src, c.url)
	}
	for _, c := range cases {
		requireProto(t, g, c.path, "srt")
	}
	for _, c := range cases {
		t.Run(c.name, c.check)
	}
	require.Empty(t, g.logLines("authentication failed"))
	requireNoPanic(t, g)
}

// requireNoStreams requires /status to list no stream at all.
func requireNoStreams(t *testing.T, g *gateway) {
	t.Helper()
	streams, ok := g.status(t)["streams"].([]any)
	require.True(t, ok, "/status streams")
	require.Empty(t, streams, "/status lists streams")
}

// requireSawNothing requires a subscriber started with a short -wait to
// have given up waiting for its namespace, without writing a file.
func requireSawNothing(t *testing.T, s *process, dir string) {
	t.Helper()
	require.Error(t, s.wait(t, 30*time.Second), "sub received a stream:\n%s", s.out.String())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "sub wrote files")
}

// logLines returns the gateway log lines containing every one of substrs.
func (g *gateway) logLines(substrs ...string) []string {
	var out []string
	for line := range strings.Lines(g.logs.String()) {
		ok := true
		for _, s := range substrs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// TestSRTRejected: wrong or missing passphrases and credentials, paths no
// rule allows, and malformed stream IDs are refused in the SRT handshake:
// ffmpeg fails, no stream appears, subscribers waiting for the paths see
// nothing, and the gateway logs why.
func TestSRTRejected(t *testing.T) {
	g := startGateway(t, nil, writeConfig(t, authConfig)...)
	cases := []struct {
		name, streamID, extra string
		// log is what the gateway's rejection line contains.
		log []string
	}{
		{
			"wrong passphrase", "publish:secret/cam1", "&passphrase=not-the-passphrase",
			[]string{`msg="authentication failed"`, "path=secret/cam1", `reason="wrong passphrase"`},
		},
		{
			"missing passphrase", "#!::r=secret/cam2,m=publish", "",
			[]string{`msg="authentication failed"`, "path=secret/cam2", `reason="passphrase missing"`},
		},
		{
			"wrong password", "publish:user/cam1:" + testUser + ":wrong", "&passphrase=" + testPassphrase,
			[]string{`msg="authentication failed"`, "path=user/cam1", "reason=credentials"},
		},
		{
			"wrong user", "#!::r=user/cam2,m=publish,u=bob,s=" + testPass, "&passphrase=" + testPassphrase,
			[]string{`msg="authentication failed"`, "path=user/cam2", "reason=credentials"},
		},
		{
			"wrong stream key", "keyed/cam1?key=nope", "",
			[]string{`msg="authentication failed"`, "path=keyed/cam1", "reason=credentials"},
		},
		{
			"path without a rule", "#!::r=other/cam1,m=publish", "",
			[]string{`msg="authentication failed"`, "path=other/cam1", "reason=credentials"},
		},
		{
			"encrypted caller on a path without passphrase", "live/cam9", "&passphrase=" + testPassphrase,
			[]string{`msg="authentication failed"`, "path=live/cam9", "caller encrypts"},
		},
		{
			"access control without resource", "#!::m=publish", "",
			[]string{`msg="srt: bad stream id"`, "no r= resource"},
		},
		{
			"access control reading", "#!::r=live/cam1,m=request", "",
			[]string{`msg="srt: bad stream id"`, "m=request"},
		},
		{
			"mediamtx form with a user but no password", "publish:live/cam1:" + testUser, "",
			[]string{`msg="srt: bad stream id"`, "want publish:path or publish:path:user:pass"},
		},
		{
			"mediamtx form reading", "read:live/cam1", "",
			[]string{`msg="srt: bad stream id"`, "mode is not publish: read"},
		},
		{
			"unknown #! syntax", "#!live/cam1", "",
			[]string{`msg="srt: bad stream id"`, "access-control syntax"},
		},
		{
			"dot-dot path", "live/../cam1", "",
			[]string{`msg="srt: bad stream id"`, `\"..\" segment`},
		},
	}
	// Subscribers wait for the paths a rejected publisher named.
	var subs []*process
	var dirs []string
	for _, path := range []string{"secret/cam1", "user/cam1", "live/cam1"} {
		s, dir := sub(t, "-url", subURL(g, false), "-namespace", path, "-wait", "4s", "-duration", "30s")
		subs, dirs = append(subs, s), append(dirs, dir)
	}
	pushes := make([]*process, len(cases))
	for i, c := range cases {
		pushes[i] = pushSRT(t, clip, srtURL(g, c.streamID, c.extra))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Error(t, pushes[i].wait(t, 30*time.Second), "ffmpeg was not refused:\n%s", pushes[i].out.String())
			// ffmpeg may exit before the gateway's log line has come
			// through its pipe.
			require.Eventually(t, func() bool { return len(g.logLines(c.log...)) > 0 }, 10*time.Second, 20*time.Millisecond,
				"no log line with %q:\n%s", c.log, g.logs.String())
		})
	}
	requireNoStreams(t, g)
	for i := range subs {
		requireSawNothing(t, subs[i], dirs[i])
	}
	requireNoStreams(t, g)
	require.Empty(t, g.logLines(`msg="srt: publishing"`))
	requireNoPanic(t, g)
}
