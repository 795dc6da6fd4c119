//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rtspConfig requires alice's credentials on live/*; nothing else may be
// published.
const rtspConfig = `
streams:
  - path: live/*
    user: ` + testUser + `
    pass: ` + testPass + `
`

// rtpPortPair returns MOQGW_* settings for the RTSP UDP transport on a free
// even RTP port and the odd RTCP port after it, below the ephemeral range
// the other tests' free ports come from.
func rtpPortPair(t *testing.T) map[string]string {
	t.Helper()
	for range 100 {
		p := 20000 + 2*rand.IntN(5000)
		rtp, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		rtcp, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+1))
		rtp.Close()
		if err != nil {
			continue
		}
		rtcp.Close()
		return map[string]string{
			"MOQGW_RTSP_UDP_RTP":  "127.0.0.1:" + strconv.Itoa(p),
			"MOQGW_RTSP_UDP_RTCP": "127.0.0.1:" + strconv.Itoa(p+1),
		}
	}
	t.Fatal("no free RTP/RTCP port pair")
	return nil
}

// rtspURL is the URL ffmpeg publishes path to, with credentials when
// userinfo is not empty ("user:pass").
func rtspURL(g *gateway, userinfo, path string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return fmt.Sprintf("rtsp://%s%s/%s", userinfo, g.RTSP, path)
}

// pushRTSP pushes src in real time over RTSP (ANNOUNCE/RECORD) with
// transport tcp or udp, without re-encoding.
func pushRTSP(t *testing.T, src, transport, url string) *process {
	t.Helper()
	return startProcess(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", src, "-c", "copy",
		"-f", "rtsp", "-rtsp_transport", transport, url)
}

// requireProto requires /status to list path as published over proto.
func requireProto(t *testing.T, g *gateway, path, proto string) {
	t.Helper()
	g.waitStream(t, path, 20*time.Second)
	for _, s := range g.status(t)["streams"].([]any) {
		if m := s.(map[string]any); m["path"] == path {
			require.Equal(t, proto, m["proto"], "proto of %s", path)
			return
		}
	}
	t.Fatalf("stream %s left /status", path)
}

// rtspUDPLossMargin is how many video frames an RTSP push over UDP may lose
// at its end: ffmpeg sends TEARDOWN over TCP right after the last RTP
// packets over UDP, and the gateway may read it first. Over TCP, every
// frame arrives.
const rtspUDPLossMargin = 3

// TestRTSPPush: ffmpeg records H.264+AAC and H.265+Opus over TCP and UDP
// with credentials (ffmpeg answers the 401 challenge), and a subscriber
// waiting for each stream (both drafts, raw QUIC and WebTransport)
// receives it whole. The pushes run at the same time on one gateway.
func TestRTSPPush(t *testing.T) {
	hevc := hevcClip(t)
	env := rtpPortPair(t)
	env["MOQGW_GRACE"] = "1s"
	g := startGateway(t, env, writeConfig(t, rtspConfig)...)
	type rtspCase struct {
		subscriberCase
		transport string
	}
	creds := testUser + ":" + testPass
	cases := []*rtspCase{
		{subscriberCase{name: "TCP H.264 AAC", path: "live/tcp", draft: "16", url: rtspURL(g, creds, "live/tcp")}, "tcp"},
		{subscriberCase{
			name: "UDP H.264 AAC", path: "live/udp", draft: "14", webTransport: true,
			url: rtspURL(g, creds, "live/udp"),
		}, "udp"},
		{subscriberCase{
			name: "TCP H.265 Opus", path: "live/tcp-hevc", draft: "14", hevc: true,
			url: rtspURL(g, creds, "live/tcp-hevc"),
		}, "tcp"},
		{subscriberCase{
			name: "UDP H.265 Opus", path: "live/udp-hevc", draft: "16", webTransport: true, hevc: true,
			url: rtspURL(g, creds, "live/udp-hevc"),
		}, "udp"},
	}
	for _, c := range cases {
		c.startSub(t, g)
	}
	for _, c := range cases {
		src, frames := clip, clipFrames
		if c.hevc {
			src, frames = hevc, hevcFrames
		}
		c.minVideo = frames
		if c.transport == "udp" {
			c.minVideo -= rtspUDPLossMargin
		}
		c.push = pushRTSP(t, src, c.transport, c.url)
	}
	for _, c := range cases {
		requireProto(t, g, c.path, "rtsp")
	}
	for _, c := range cases {
		t.Run(c.name, c.check)
	}
	require.Len(t, g.logLines(`msg="rtsp: publishing"`, "transport=UDP"), 2)
	require.Empty(t, g.logLines("authentication failed"))
	requireNoPanic(t, g)
}

// TestRTSPRejected: wrong or missing credentials, a path no rule allows
// and a malformed path are refused at ANNOUNCE: ffmpeg fails, no stream
// appears, subscribers waiting for the paths see nothing, and the gateway
// logs why.
func TestRTSPRejected(t *testing.T) {
	g := startGateway(t, rtpPortPair(t), writeConfig(t, rtspConfig)...)
	cases := []struct {
		name, transport, userinfo, path string
		// log is what the gateway's rejection line contains; nil for a
		// client that never answers the 401 challenge.
		log []string
	}{
		{
			"wrong password", "tcp", testUser + ":wrong", "live/cam1",
			[]string{`msg="authentication failed"`, "proto=rtsp", "path=live/cam1"},
		},
		{
			"wrong password over UDP", "udp", testUser + ":wrong", "live/cam2",
			[]string{`msg="authentication failed"`, "proto=rtsp", "path=live/cam2"},
		},
		{
			"wrong user", "tcp", "bob:" + testPass, "live/cam3",
			[]string{`msg="authentication failed"`, "proto=rtsp", "path=live/cam3"},
		},
		{
			"path without a rule", "tcp", testUser + ":" + testPass, "other/cam1",
			[]string{`msg="authentication failed"`, "proto=rtsp", "path=other/cam1"},
		},
		{"no credentials", "tcp", "", "live/cam4", nil},
		{
			"dot-dot path", "tcp", testUser + ":" + testPass, "live/../cam1",
			[]string{`msg="rtsp: bad path"`, "proto=rtsp", `\"..\" segment`},
		},
	}
	var subs []*process
	var dirs []string
	for _, path := range []string{"live/cam1", "live/cam2", "other/cam1"} {
		s, dir := sub(t, "-url", subURL(g, true), "-namespace", path, "-wait", "4s", "-duration", "30s")
		subs, dirs = append(subs, s), append(dirs, dir)
	}
	pushes := make([]*process, len(cases))
	for i, c := range cases {
		pushes[i] = pushRTSP(t, clip, c.transport, rtspURL(g, c.userinfo, c.path))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Error(t, pushes[i].wait(t, 30*time.Second), "ffmpeg was not refused:\n%s", pushes[i].out.String())
			if c.log != nil {
				// ffmpeg may exit before the gateway's log line has come
				// through its pipe.
				require.Eventually(t, func() bool { return len(g.logLines(c.log...)) > 0 }, 10*time.Second, 20*time.Millisecond,
					"no log line with %q:\n%s", c.log, g.logs.String())
			} else {
				require.Contains(t, pushes[i].out.String(), "401 Unauthorized")
			}
		})
	}
	requireNoStreams(t, g)
	for i := range subs {
		requireSawNothing(t, subs[i], dirs[i])
	}
	requireNoStreams(t, g)
	require.Empty(t, g.logLines(`msg="rtsp: publishing"`))
	requireNoPanic(t, g)
}
