//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Eyevinn/moqtransport"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq"
)

// testRelay is a minimal MoQ relay built on Eyevinn/moqtransport v0.9.0 (an
// independent implementation): it accepts sessions over raw QUIC (moq-00,
// moqt-16) and WebTransport (/moq), accepts PUBLISH_NAMESPACE when the
// token matches, and lets the test subscribe upstream through the
// publisher's session, as a relay does for its downstream demand. Like
// moq-dev relays it takes the token from the URL (?jwt= or a path segment): Eyevinn's API does
// not expose AUTHORIZATION_TOKEN parameters, so the relay cannot see those.
type testRelay struct {
	t     *testing.T
	addr  string
	token string
	// certPEM is the relay's self-signed certificate, for a tls: CA file.
	certPEM []byte

	pc     net.PacketConn
	cancel context.CancelFunc
	wg     *sync.WaitGroup

	connections atomic.Int64
	announces   chan relayAnnounce
	mu          sync.Mutex
	sessions    []*moqtransport.Session
	paths       []string
}

type relayAnnounce struct {
	sess *moqtransport.Session
	ns   []string
	path string
}

// startRelay listens on addr ("127.0.0.1:0", "[::1]:0", or a fixed address
// to come back on after a restart).
func startRelay(t *testing.T, addr, token string) *testRelay {
	t.Helper()
	r := &testRelay{t: t, token: token, announces: make(chan relayAnnounce, 16)}
	l := listenEyevinn(t, addr, r.serve)
	r.addr, r.certPEM, r.pc, r.cancel, r.wg = l.addr, l.certPEM, l.pc, l.cancel, l.wg
	t.Cleanup(r.stop)
	return r
}

// serve runs one session; uri is the WebTransport request URI (raw QUIC
// sessions carry theirs in the PATH setup parameter).
func (r *testRelay) serve(ctx context.Context, conn moqtransport.Connection, uri string) {
	r.connections.Add(1)
	var sess *moqtransport.Session
	sess = &moqtransport.Session{
		InitialMaxRequestID: 100,
		Handler: moqtransport.HandlerFunc(func(w moqtransport.ResponseWriter, m *moqtransport.Message) {
			if m.Method != moqtransport.MessageAnnounce {
				return
			}
			path := uri + sess.Path()
			// The token comes as ?jwt= or as a path segment.
			if r.token != "" && !strings.Contains(path, "jwt="+r.token) && !strings.Contains(path+"/", "/"+r.token+"/") {
				_ = w.Reject(0x1, "unauthorized: bad token") // UNAUTHORIZED in both drafts
				return
			}
			_ = w.Accept()
			select {
			case r.announces <- relayAnnounce{sess: sess, ns: m.Namespace, path: path}:
			default:
			}
		}),
	}
	if err := sess.RunContext(ctx, conn); err != nil {
		return
	}
	r.mu.Lock()
	r.sessions = append(r.sessions, sess)
	r.paths = append(r.paths, uri+sess.Path())
	r.mu.Unlock()
	<-ctx.Done()
	sess.Close()
}

// stop shuts the relay down, closing every session and the socket.
func (r *testRelay) stop() {
	r.cancel()
	r.mu.Lock()
	for _, s := range r.sessions {
		s.Close()
	}
	r.mu.Unlock()
	r.pc.Close()
	r.wg.Wait()
}

// waitAnnounce waits for the gateway to announce ns.
func (r *testRelay) waitAnnounce(t *testing.T, timeout time.Duration, ns ...string) relayAnnounce {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case a := <-r.announces:
			if strings.Join(a.ns, "/") == strings.Join(ns, "/") {
				return a
			}
		case <-deadline:
			t.Fatalf("relay: %v not announced within %v", ns, timeout)
		}
	}
}

// gatewayConfig writes a gateway YAML config and returns its path.
func gatewayConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gateway.yaml")
	require.NoError(t, os.WriteFile(p, []byte(yaml), 0o600))
	return p
}

// relayObjects subscribes through the publisher's session and reads n
// objects.
func relayObjects(t *testing.T, ctx context.Context, a relayAnnounce, track string, n int) []*moqtransport.Object {
	t.Helper()
	rt, err := a.sess.Subscribe(ctx, a.ns, track)
	require.NoError(t, err)
	defer rt.Close()
	var objs []*moqtransport.Object
	for len(objs) < n {
		o, err := rt.ReadObject(ctx)
		require.NoError(t, err)
		if len(o.Payload) > 0 {
			objs = append(objs, o)
		}
	}
	return objs
}

// requireSyncChunk decodes a CMAF chunk (optional prft, moof, mdat) with
// mp4ff and requires its sample to be a sync sample.
func requireSyncChunk(t *testing.T, chunk []byte) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(chunk))
	require.NoError(t, err)
	require.NotEmpty(t, f.Segments)
	frag := f.Segments[0].Fragments[0]
	samples, err := frag.GetFullSamples(nil)
	require.NoError(t, err)
	require.Len(t, samples, 1)
	require.True(t, samples[0].IsSync(), "group starts with a keyframe")
}

// TestRelayPublishing: the gateway ingests RTMP, announces to the relay, the
// relay subscribes, and the objects arrive intact (identical to what a
// direct subscriber gets), for both drafts over raw QUIC and WebTransport.
func TestRelayPublishing(t *testing.T) {
	for _, draft := range []string{"14", "16"} {
		for _, transport := range []string{"quic", "webtransport"} {
			t.Run(transport+"-draft"+draft, func(t *testing.T) {
				relay := startRelay(t, "127.0.0.1:0", "s3cret")
				url := "moqt://" + relay.addr + "/?jwt={token}"
				if transport == "webtransport" {
					url = "https://" + relay.addr + "/moq?jwt={token}"
				}
				cfg := gatewayConfig(t, fmt.Sprintf(`
relays:
  - name: edge
    url: %s
    draft: "%s"
    token: s3cret
    tls: insecure
`, url, draft))
				g := startGateway(t, nil, "-config", cfg)
				push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
				defer push.kill()
				a := relay.waitAnnounce(t, 30*time.Second, "live", "cam1")
				require.Contains(t, a.path, "jwt=s3cret", "token in the URL")

				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				direct, err := moq.Dial(ctx, "moqt://"+g.MoQ, moq.DialOptions{TLSConfig: insecureTLS()})
				require.NoError(t, err)
				defer direct.Close()
				dv, err := direct.Subscribe(ctx, moq.Namespace{"live", "cam1"}, "video", moq.SubscribeOptions{})
				require.NoError(t, err)

				viaRelay := relayObjects(t, ctx, a, "video", 45)
				requireSyncChunk(t, viaRelay[0].Payload)
				require.Zero(t, viaRelay[0].ObjectID)
				// Every object the relay got that the direct subscriber also
				// got must be byte-identical.
				want := map[[2]uint64][]byte{}
				for len(want) < 90 {
					o, err := dv.ReadObject(ctx)
					require.NoError(t, err)
					if len(o.Payload) > 0 {
						want[[2]uint64{o.Group, o.ID}] = o.Payload
					}
				}
				same := 0
				for _, o := range viaRelay {
					if w, ok := want[[2]uint64{o.GroupID, o.ObjectID}]; ok {
						require.Equal(t, w, o.Payload, "object %d/%d", o.GroupID, o.ObjectID)
						same++
					}
				}
				require.Positive(t, same, "no common objects to compare")
				st := g.status(t)["relays"].([]any)[0].(map[string]any)
				require.Equal(t, true, st["connected"])
				require.Equal(t, "draft-"+draft, st["version"])
			})
		}
	}
}

// TestRelayRestart: the relay goes away for 10 s and comes back; the
// gateway reconnects with backoff and the relay receives the stream again
// from a keyframe, while the RTMP publisher never notices.
func TestRelayRestart(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", "")
	addr := relay.addr
	cfg := gatewayConfig(t, fmt.Sprintf("relays:\n  - name: edge\n    url: moqt://%s\n    tls: insecure\n", addr))
	g := startGateway(t, nil, "-config", cfg)
	// 32 s of stream: the clip four times.
	push := startProcess(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "3", "-i", clip, "-c", "copy", "-f", "flv", "rtmp://"+g.RTMP+"/live/cam1")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a := relay.waitAnnounce(t, 30*time.Second, "live", "cam1")
	relayObjects(t, ctx, a, "video", 10)

	relay.stop()
	time.Sleep(10 * time.Second)
	relay2 := startRelay(t, addr, "")
	a = relay2.waitAnnounce(t, 40*time.Second, "live", "cam1")
	objs := relayObjects(t, ctx, a, "video", 10)
	require.Zero(t, objs[0].ObjectID, "resumes at a group start")
	requireSyncChunk(t, objs[0].Payload)

	st := g.status(t)["relays"].([]any)[0].(map[string]any)
	require.Equal(t, true, st["connected"])
	require.GreaterOrEqual(t, st["reconnects"].(float64), 1.0)
	require.NoError(t, push.wait(t, 60*time.Second), "the RTMP publisher ran to its end undisturbed")
	require.NotContains(t, g.logs.String(), "level=ERROR")
}

// TestRelayDualStack: the gateway reaches relays on ::1 and on 127.0.0.1.
func TestRelayDualStack(t *testing.T) {
	v6 := startRelay(t, "[::1]:0", "")
	v4 := startRelay(t, "127.0.0.1:0", "")
	cfg := gatewayConfig(t, fmt.Sprintf(`
relays:
  - name: v6
    url: moqt://%s
    tls: insecure
  - name: v4
    url: moqt://%s
    tls: insecure
`, v6.addr, v4.addr))
	g := startGateway(t, nil, "-config", cfg)
	push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	defer push.kill()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, r := range []*testRelay{v6, v4} {
		a := r.waitAnnounce(t, 30*time.Second, "live", "cam1")
		relayObjects(t, ctx, a, "video", 5)
	}
}

// TestRelayWrongToken: a relay that refuses the token gets a clear error in
// the gateway's log and reconnect attempts with backoff, not a hammering;
// the token also reaches the relay in the URL ({token}).
func TestRelayWrongToken(t *testing.T) {
	relay := startRelay(t, "127.0.0.1:0", "good")
	cfg := gatewayConfig(t, fmt.Sprintf(`
relays:
  - name: edge
    url: moqt://%s/?jwt={token}
    token: bad
    tls: insecure
`, relay.addr))
	g := startGateway(t, nil, "-config", cfg)
	push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	defer push.kill()
	g.waitLog(t, "relay rejected the token", 30*time.Second)
	start := relay.connections.Load()
	time.Sleep(6 * time.Second)
	attempts := relay.connections.Load() - start
	// Backoff doubles from 250 ms: at most about five attempts in 6 s, and
	// at least one retry.
	require.GreaterOrEqual(t, attempts, int64(1), "it retries")
	require.LessOrEqual(t, attempts, int64(7), "it backs off")
	relay.mu.Lock()
	require.Contains(t, relay.paths[0], "jwt=bad")
	relay.mu.Unlock()
	st := g.status(t)["relays"].([]any)[0].(map[string]any)
	require.Contains(t, st["last_error"], "token")
}

// TestRelaySelectionPrefixAndPathToken: per-path relay selection sends each
// stream to its relays only; one relay takes the token as a path segment
// (which never shows in the gateway's logs or status), the other gets the
// streams under a namespace prefix, verified with a CA file, and serves a
// subscription in the prefixed namespace.
func TestRelaySelectionPrefixAndPathToken(t *testing.T) {
	const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlZGdlIn0.c2ln"
	a := startRelay(t, "127.0.0.1:0", token)
	b := startRelay(t, "127.0.0.1:0", "")
	ca := filepath.Join(t.TempDir(), "relay-ca.pem")
	require.NoError(t, os.WriteFile(ca, b.certPEM, 0o600))
	cfg := gatewayConfig(t, fmt.Sprintf(`
relays:
  - name: a
    url: moqt://%s/relay/{token}
    token: %s
    tls: insecure
  - name: b
    url: moqt://%s
    namespace_prefix: eu/west
    tls: %s
streams:
  - path: live/cam1
    relays: [a]
  - path: live/cam2
    relays: [b]
`, a.addr, token, b.addr, ca))
	g := startGateway(t, nil, "-config", cfg)
	for _, cam := range []string{"cam1", "cam2"} {
		p := pushRTMP(t, "rtmp://"+g.RTMP+"/live/"+cam)
		defer p.cmd.Process.Kill()
	}
	ann := a.waitAnnounce(t, 30*time.Second, "live", "cam1")
	require.Contains(t, ann.path, "/relay/"+token)
	bAnn := b.waitAnnounce(t, 30*time.Second, "eu", "west", "live", "cam2")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	objs := relayObjects(t, ctx, bAnn, "video", 5)
	requireSyncChunk(t, objs[0].Payload)
	relayObjects(t, ctx, ann, "video", 5)

	// Neither relay saw the other's stream.
	time.Sleep(time.Second)
	for name, r := range map[string]*testRelay{"a": a, "b": b} {
		select {
		case x := <-r.announces:
			t.Fatalf("relay %s got %v", name, x.ns)
		default:
		}
	}
	st := g.status(t)["relays"].([]any)
	require.Len(t, st, 2)
	for _, r := range st {
		require.Equal(t, true, r.(map[string]any)["connected"], "%v", r)
	}
	require.NotContains(t, g.logs.String(), token)
	require.NotContains(t, fmt.Sprint(st), token)
}
