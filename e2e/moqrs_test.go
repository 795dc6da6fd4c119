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

	"github.com/moqgw/moq-gateway/moq/wire"
)

// moqRSSets are the cloudflare/moq-rs releases scripts/peers.sh installs,
// by the draft they speak.
var moqRSSets = []struct {
	set   string
	draft string
	v     wire.Version
}{
	{"moq-rs-d14", "14", wire.Draft14},
	{"moq-rs-d16", "16", wire.Draft16},
	{"moq-rs-d18", "18", wire.Draft18},
}

// relayConfig configures one relay for the gateway, trusting the relay's
// certificate.
func relayConfig(t *testing.T, url, draft, caFile string) []string {
	t.Helper()
	return []string{"-config", gatewayConfig(t, fmt.Sprintf(`
relays:
  - name: rs
    url: %s
    draft: "%s"
    tls: %s
`, url, draft, caFile))}
}

// relayStreams waits until the gateway has announced n streams to relay
// "rs" and returns its sessions from /status.
func relayStreams(t *testing.T, g *gateway, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var sessions []map[string]any
		total := 0
		for _, r := range g.status(t)["relays"].([]any) {
			m := r.(map[string]any)
			if m["name"] == "rs" && m["connected"] == true {
				sessions = append(sessions, m)
				total += int(m["streams"].(float64))
			}
		}
		if total >= n {
			return sessions
		}
		require.True(t, time.Now().Before(deadline), "%d of %d streams announced to the relay: %v", total, n, g.status(t)["relays"])
		time.Sleep(100 * time.Millisecond)
	}
}

// packets lists ffprobe's decode times and keyframe flags of one stream.
func packets(t *testing.T, file, stream string) (dts []int64, key []bool) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream,
		"-show_entries", "packet=dts,flags", "-of", "csv=p=0", file).Output()
	require.NoError(t, err, "ffprobe %s", file)
	for line := range strings.FieldsSeq(string(out)) {
		f := strings.Split(line, ",")
		d, err := strconv.ParseInt(f[0], 10, 64)
		require.NoError(t, err, "%q", line)
		dts = append(dts, d)
		key = append(key, len(f) > 1 && strings.HasPrefix(f[1], "K"))
	}
	return dts, key
}

// requireSameFrom requires got (moq-sub's file) to hold the packets of
// stream that want (a direct subscriber's recording, on the same timeline)
// holds from got's first one on, starting with a keyframe.
func requireSameFrom(t *testing.T, got, want, stream string) {
	t.Helper()
	g, gk := packets(t, got, stream)
	w, _ := packets(t, want, "0")
	require.NotEmpty(t, g, "%s: no packets", stream)
	if stream == "v:0" {
		require.True(t, gk[0], "video starts with a keyframe")
	}
	var from []int64
	for _, d := range w {
		if d >= g[0] {
			from = append(from, d)
		}
	}
	// moq-sub is stopped by a signal after the stream ended and may not
	// have written its last fragments.
	require.GreaterOrEqual(t, len(g), len(from)-3, "%s: packets lost", stream)
	require.Equal(t, from[:len(g)], g, "%s: the relayed packets are the direct subscriber's from the join on", stream)
}

// TestMoqRSRelayToMoqSub: the gateway publishes to cloudflare/moq-rs's
// moq-relay-ietf (draft-14 and draft-16; raw QUIC and WebTransport from the
// gateway), and moq-rs's own subscriber, moq-sub, reads the stream through
// it — in the moq-rs track layout the gateway serves beside CMSF. ffmpeg
// decodes its file, and it holds every frame a direct subscriber got from
// moq-sub's join on.
func TestMoqRSRelayToMoqSub(t *testing.T) {
	for _, rs := range moqRSSets {
		for _, wt := range []bool{false, true} {
			name := rs.set + "/quic"
			if wt {
				name = rs.set + "/webtransport"
			}
			t.Run(name, func(t *testing.T) {
				relay := startMoqRSRelay(t, rs.set, rs.v, freeUDP(t))
				url := "moqt://" + relay.addr
				if wt {
					url = "https://" + relay.addr + "/"
				}
				g := startGateway(t, map[string]string{"MOQGW_GRACE": "1s"}, relayConfig(t, url, rs.draft, relay.certFile)...)
				ref, refDir := sub(t, "-url", "moqt://"+g.MoQ, "-namespace", "live/cam1", "-wait", "30s", "-duration", "60s", "-wallclock")
				push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
				sessions := relayStreams(t, g, 1)
				require.Equal(t, "draft-"+rs.draft, sessions[0]["version"])
				ms := startMoqSub(t, rs.set, url, "live/cam1")
				require.NoError(t, push.wait(t, 60*time.Second), "ffmpeg")
				require.NoError(t, ref.wait(t, 30*time.Second), "sub")
				file := ms.stop(t)
				requireDecodes(t, file)
				requireSameFrom(t, file, filepath.Join(refDir, "video.mp4"), "v:0")
				requireSameFrom(t, file, filepath.Join(refDir, "audio.mp4"), "a:0")
				require.NotContains(t, relay.proc.out.String(), "Unimplemented message")
				if wt {
					// quinn has no RESET_STREAM_AT, which webtransport-go's
					// client requires: the gateway uses the relay's raw QUIC.
					require.Contains(t, g.logs.String(), "lacks RESET_STREAM_AT")
				}
			})
		}
	}
}

// tinyClip is a 160x90 10 fps H.264 + AAC clip of seconds, cheap to push
// many times at once.
func tinyClip(t *testing.T, seconds int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "tiny.mp4")
	enc := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "32k", "-ac", "1", out)
	msg, err := enc.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	return out
}

// TestMoqRSRelayRequestBudget: 55 streams to a draft-14 moq-relay-ietf,
// which allows 50 requests per session and closes a session that receives
// MAX_REQUEST_ID, REQUESTS_BLOCKED or GOAWAY: the gateway recognises it
// from its SETUP, spreads the streams over two sessions, sends none of
// those, and moq-sub reads streams from both sessions through the relay.
func TestMoqRSRelayRequestBudget(t *testing.T) {
	const n = 55
	relay := startMoqRSRelay(t, "moq-rs-d14", wire.Draft14, freeUDP(t))
	url := "moqt://" + relay.addr
	// One ffmpeg pushes every stream from one address: above the default
	// 32 connections per address.
	g := startGateway(t, map[string]string{"MOQGW_LOG_LEVEL": "info", "MOQGW_RTMP_MAX_CONNS_PER_IP": "-1"}, relayConfig(t, url, "14", relay.certFile)...)
	// One ffmpeg, n RTMP outputs.
	args := []string{"-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "2", "-i", tinyClip(t, 6)}
	for i := range n {
		args = append(args, "-map", "0", "-c", "copy", "-f", "flv", fmt.Sprintf("rtmp://%s/live/s%02d", g.RTMP, i))
	}
	push := startProcess(t, "ffmpeg", args...)
	sessions := relayStreams(t, g, n)
	require.GreaterOrEqual(t, len(sessions), 2, "more than 50 requests need a second session: %v", sessions)
	for _, s := range sessions {
		require.LessOrEqual(t, int(s["streams"].(float64)), 50)
		require.Zero(t, s["reconnects"], "no session was closed by the relay: %v", s)
	}
	subs := map[int]*moqSub{}
	for _, i := range []int{0, n / 2, n - 1} {
		subs[i] = startMoqSub(t, "moq-rs-d14", url, fmt.Sprintf("live/s%02d", i))
	}
	for i, ms := range subs {
		ms.waitPackets(t, "v:0", 30, 30*time.Second) // three GOPs of the tiny clip
		ms.stop(t)
		dts, key := packets(t, ms.file, "v:0")
		require.Greater(t, len(dts), 10, "live/s%02d through the relay: %s", i, ms.errs.String())
		require.True(t, key[0])
		requireDecodes(t, ms.file)
	}
	for _, s := range relayStreams(t, g, n) {
		require.Zero(t, s["reconnects"])
	}
	require.NotContains(t, relay.proc.out.String(), "Unimplemented message")
	require.NotContains(t, g.logs.String(), "session failed")
	push.kill()
}

// TestMoqRSRelayRestart: the draft-14 moq-relay-ietf restarts mid-stream;
// the gateway reconnects and announces again, and a moq-sub that joins
// afterwards gets the stream from a keyframe, decodable.
func TestMoqRSRelayRestart(t *testing.T) {
	relay := startMoqRSRelay(t, "moq-rs-d14", wire.Draft14, freeUDP(t))
	url := "moqt://" + relay.addr
	g := startGateway(t, nil, relayConfig(t, url, "14", relay.certFile)...)
	push := startProcess(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "3", "-i", clip,
		"-c", "copy", "-f", "flv", "rtmp://"+g.RTMP+"/live/cam1")
	defer push.kill()
	relayStreams(t, g, 1)
	relay.restart(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if sessions := relayStreams(t, g, 1); sessions[0]["reconnects"].(float64) >= 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the gateway did not reconnect")
		time.Sleep(100 * time.Millisecond)
	}
	ms := startMoqSub(t, "moq-rs-d14", url, "live/cam1")
	ms.waitPackets(t, "v:0", 3*clipGOP, 30*time.Second)
	file := ms.stop(t)
	dts, key := packets(t, file, "v:0")
	require.Greater(t, len(dts), clipGOP, "video after the restart")
	require.True(t, key[0], "it comes back at a keyframe")
	requireDecodes(t, file)
}

// TestMoqPubThroughMoqRSRelayToSub: moq-rs's publisher, moq-pub, publishes
// an fMP4 (from ffmpeg) into moq-relay-ietf, and `moq-gateway sub` reads it
// back through the relay in moq-pub's layout: playable files.
func TestMoqPubThroughMoqRSRelayToSub(t *testing.T) {
	for _, rs := range moqRSSets {
		t.Run(rs.set, func(t *testing.T) {
			relay := startMoqRSRelay(t, rs.set, rs.v, freeUDP(t))
			url := "https://" + relay.addr
			pub := startProcess(t, "bash", "-c", fmt.Sprintf(
				"set -o pipefail; ffmpeg -hide_banner -loglevel error -re -i %q -c copy -f mp4 "+
					"-movflags empty_moov+frag_every_frame+separate_moof+omit_tfhd_offset - | RUST_LOG=off %q --name live/pub --tls-disable-verify %s",
				clip, peerBin(t, rs.set, "moq-pub"), url))
			defer pub.kill()
			s, dir := sub(t, "-url", "moqt://"+relay.addr, "-namespace", "live/pub", "-draft", rs.draft, "-wait", "20s", "-duration", "12s")
			require.NoError(t, s.wait(t, 40*time.Second), "sub")
			require.Contains(t, s.out.String(), "moq-rs layout")
			v := probe(t, filepath.Join(dir, "video.mp4"))
			require.Equal(t, "h264", v.Codec)
			require.Equal(t, 1280, v.Width)
			require.True(t, v.FirstKey)
			require.Greater(t, v.Packets, 3*clipGOP, "video frames")
			a := probe(t, filepath.Join(dir, "audio.mp4"))
			require.Equal(t, "aac", a.Codec)
			require.Greater(t, a.Packets, 100)
			requireDecodes(t, filepath.Join(dir, "video.mp4"))
			requireDecodes(t, filepath.Join(dir, "audio.mp4"))
		})
	}
}
