//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
	"github.com/moqgw/moq-gateway/packager"
)

// moqDevRelay is a running moq-dev moq-relay.
type moqDevRelay struct {
	addr     string
	certFile string
	proc     *process
}

// startMoqDevRelay runs moq-dev's moq-relay on addr (a free loopback UDP
// address), open to anonymous publishers and subscribers, and waits until
// it completes a draft-14 SETUP. extra are further flags (clustering).
func startMoqDevRelay(t *testing.T, addr string, extra ...string) *moqDevRelay {
	t.Helper()
	certFile, keyFile := testCert(t)
	r := &moqDevRelay{addr: addr, certFile: certFile}
	args := append([]string{
		"--listen", addr, "--listen-tls-cert", certFile, "--listen-tls-key", keyFile,
		"--auth-public", "**", "--log-level", "info",
	}, extra...)
	r.proc = startProcess(t, peerBin(t, "moq-dev", "moq-relay"), args...)
	waitSetup(t, r.proc, addr, wire.Draft14)
	return r
}

// requirePlayable requires sub's recording in dir to hold decodable video
// (from a keyframe, at least frames of it) and audio.
func requirePlayable(t *testing.T, dir string, frames int) {
	t.Helper()
	v := probe(t, filepath.Join(dir, "video.mp4"))
	require.Equal(t, "h264", v.Codec)
	require.Equal(t, 1280, v.Width)
	require.True(t, v.FirstKey, "video starts with a keyframe")
	require.GreaterOrEqual(t, v.Packets, frames, "video frames")
	a := probe(t, filepath.Join(dir, "audio.mp4"))
	require.Equal(t, "aac", a.Codec)
	require.Greater(t, a.Packets, frames, "audio frames (AAC: 1024 samples at 48 kHz, more than video's)")
	requireDecodes(t, filepath.Join(dir, "video.mp4"))
	requireDecodes(t, filepath.Join(dir, "audio.mp4"))
}

// TestMoqDevRelay: the gateway publishes to moq-dev's moq-relay on each
// IETF draft both speak (14 and 16; raw QUIC and WebTransport from the
// gateway), and `moq-gateway sub` reads the stream back through the relay
// on that draft: playable files holding the stream from its current group
// on. The relay subscribes to the namespace with an empty prefix and joins
// tracks with a FETCH, which the gateway meets as the text has it.
func TestMoqDevRelay(t *testing.T) {
	for _, d := range []struct {
		draft string
		v     wire.Version
	}{{"14", wire.Draft14}, {"16", wire.Draft16}, {"18", wire.Draft18}, {"19", wire.Draft19}} {
		for _, wt := range []bool{false, true} {
			name := "draft" + d.draft + "/quic"
			if wt {
				name = "draft" + d.draft + "/webtransport"
			}
			t.Run(name, func(t *testing.T) {
				relay := startMoqDevRelay(t, freeUDP(t))
				url := "moqt://" + relay.addr
				if wt {
					url = "https://" + relay.addr + "/"
				}
				g := startGateway(t, nil, relayConfig(t, url, d.draft, relay.certFile)...)
				push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
				sessions := relayStreams(t, g, 1)
				require.Equal(t, "draft-"+d.draft, sessions[0]["version"])
				// Join mid-stream, two GOPs in: the current group comes whole.
				time.Sleep(2 * time.Second)
				s, dir := sub(t, "-url", "moqt://"+relay.addr, "-namespace", "live/cam1", "-draft", d.draft, "-wait", "10s", "-duration", "4s")
				require.NoError(t, s.wait(t, 30*time.Second), "sub")
				requirePlayable(t, dir, 3*clipGOP)
				require.NoError(t, push.wait(t, 30*time.Second), "ffmpeg")
				require.Zero(t, sessions[0]["reconnects"])
				require.NotContains(t, g.logs.String(), "session failed")
				require.NotContains(t, relay.proc.out.String(), "duplicate")
			})
		}
	}
}

// TestMoqDevRelayCluster: two moq-dev relays clustered — the leaf dials the
// root with --cluster-connect — the gateway publishes to the root, and a
// subscriber of the leaf gets the stream.
func TestMoqDevRelayCluster(t *testing.T) {
	root := startMoqDevRelay(t, freeUDP(t), "--cluster-id", "1")
	leaf := startMoqDevRelay(t, freeUDP(t), "--cluster-id", "2",
		"--cluster-connect", "https://"+root.addr+"/", "--connect-tls-root", root.certFile)
	g := startGateway(t, nil, relayConfig(t, "moqt://"+root.addr, "14", root.certFile)...)
	push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	relayStreams(t, g, 1)
	for _, draft := range []string{"14", "16"} {
		s, dir := sub(t, "-url", "moqt://"+leaf.addr, "-namespace", "live/cam1", "-draft", draft, "-wait", "10s", "-duration", "3s")
		require.NoError(t, s.wait(t, 30*time.Second), "sub through the leaf on draft-%s", draft)
		requirePlayable(t, dir, 2*clipGOP)
	}
	require.NoError(t, push.wait(t, 30*time.Second), "ffmpeg")
}

// TestMoqDevCLIPublisherThroughRelay: moq-dev's CLI publishes ffmpeg's
// CMAF (`moq import fmp4`) into moq-dev's relay, and `moq-gateway sub`
// reads it back through the relay on drafts 14 and 16 by its MSF catalog:
// playable files. (The CLI as a subscriber cannot read MSF CMAF tracks,
// its own included: moq-mux 0.10.19 takes their samples for Annex B.)
func TestMoqDevCLIPublisherThroughRelay(t *testing.T) {
	relay := startMoqDevRelay(t, freeUDP(t))
	pub := startProcess(t, "bash", "-c", fmt.Sprintf(
		"set -o pipefail; ffmpeg -hide_banner -loglevel error -re -i %q -c copy -f mp4 "+
			"-movflags cmaf+frag_keyframe+empty_moov+default_base_moof - | %q --log-level warn --connect moqt://%s --connect-tls-insecure import --broadcast live/cli fmp4",
		clip, peerBin(t, "moq-dev", "moq"), relay.addr))
	defer pub.kill()
	for _, draft := range []string{"14", "16"} {
		s, dir := sub(t, "-url", "moqt://"+relay.addr, "-namespace", "live/cli", "-draft", draft, "-wait", "15s", "-duration", "3s")
		require.NoError(t, s.wait(t, 40*time.Second), "sub on draft-%s", draft)
		var video, audio string
		b, err := os.ReadFile(filepath.Join(dir, "catalog.json"))
		require.NoError(t, err)
		c, err := packager.ParseCatalog(b)
		require.NoError(t, err, "the CLI's MSF catalog")
		for _, tr := range c.Tracks {
			switch tr.Role {
			case "video":
				video = filepath.Join(dir, tr.Name+".mp4")
			case "audio":
				audio = filepath.Join(dir, tr.Name+".mp4")
			}
		}
		require.NotEmpty(t, video, "a video track in the CLI's catalog")
		v := probe(t, video)
		require.Equal(t, "h264", v.Codec)
		require.Equal(t, 1280, v.Width)
		require.True(t, v.FirstKey)
		require.GreaterOrEqual(t, v.Packets, clipGOP)
		requireDecodes(t, video)
		require.NotEmpty(t, audio, "an audio track in the CLI's catalog")
		require.Equal(t, "aac", probe(t, audio).Codec)
		requireDecodes(t, audio)
	}
}
