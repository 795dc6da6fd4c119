package moq

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/moqgw/moq-gateway/moq/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLogger logs to stderr at debug level when MOQ_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("MOQ_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testServer runs a Server on 127.0.0.1 until the test ends and returns its
// address.
func testServer(t testing.TB, origin *Origin, cfg SessionConfig) (*Server, string) {
	t.Helper()
	srv := &Server{Origin: origin, Session: cfg}
	return srv, testServerWith(t, srv)
}

// testServerWith runs srv (certificate and logger filled in when unset) on
// 127.0.0.1 until the test ends and returns its address.
func testServerWith(t testing.TB, srv *Server) string {
	t.Helper()
	if srv.TLSConfig == nil {
		cert, _, err := SelfSignedCert([]string{"localhost", "127.0.0.1"}, time.Hour)
		require.NoError(t, err)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if srv.Logger == nil {
		srv.Logger = testLogger()
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv.PacketConn = pc
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
		pc.Close()
	})
	return pc.LocalAddr().String()
}

func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// transports are the ways a client reaches the server.
var transports = []struct {
	name    string
	url     func(addr string) string
	version wire.Version
}{
	{"quic-draft14", func(a string) string { return "moqt://" + a }, wire.Draft14},
	{"quic-draft16", func(a string) string { return "moqt://" + a }, wire.Draft16},
	{"webtransport-draft14", func(a string) string { return "https://" + a + "/moq" }, wire.Draft14},
	{"webtransport-draft16", func(a string) string { return "https://" + a + "/moq" }, wire.Draft16},
	{"quic-draft18", func(a string) string { return "moqt://" + a }, wire.Draft18},
	{"webtransport-draft18", func(a string) string { return "https://" + a + "/moq" }, wire.Draft18},
	{"quic-draft19", func(a string) string { return "moqt://" + a }, wire.Draft19},
	{"webtransport-draft19", func(a string) string { return "https://" + a + "/moq" }, wire.Draft19},
}

// transportsBefore18 are the transports of drafts 14 and 16: what
// Eyevinn/moqtransport v0.9.0 speaks.
func transportsBefore18() []struct {
	name    string
	url     func(addr string) string
	version wire.Version
} {
	out := transports[:0:0]
	for _, tc := range transports {
		if !tc.version.RequestStreams() {
			out = append(out, tc)
		}
	}
	return out
}

func dialTest(t *testing.T, url string, v wire.Version) *Session {
	t.Helper()
	s := dialTestWith(t, url, DialOptions{Versions: []wire.Version{v}})
	require.Equal(t, v, s.Version())
	return s
}

// dialTestWith dials url with opts (test TLS and logger filled in) and
// closes the session when the test ends.
func dialTestWith(t testing.TB, url string, opts DialOptions) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if opts.TLSConfig == nil {
		opts.TLSConfig = insecureTLS()
	}
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	s, err := Dial(ctx, url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSubscribeAllTransports(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(Namespace{"live", "cam1"}, nil)
			require.NoError(t, err)
			tr, err := bc.CreateTrack("video", TrackOptions{})
			require.NoError(t, err)
			_, addr := testServer(t, origin, SessionConfig{})

			// A group before the subscription: the subscriber starts at
			// the newest group's first object.
			require.NoError(t, tr.StartGroup(100))
			require.NoError(t, tr.WriteObject([]byte("g100-o0")))
			require.NoError(t, tr.WriteObject([]byte("g100-o1")))

			s := dialTest(t, tc.url(addr), tc.version)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, s.WaitAnnounced(ctx, Namespace{"live", "cam1"}))
			sub, err := s.Subscribe(ctx, Namespace{"live", "cam1"}, "video", SubscribeOptions{})
			require.NoError(t, err)
			require.Equal(t, &Location{100, 1}, sub.Largest)

			var got []string
			read := func(n int) {
				for n > 0 {
					o, err := sub.ReadObject(ctx)
					require.NoError(t, err)
					if o.Status == wire.StatusEndOfGroup {
						continue
					}
					n--
					if o.Status == wire.StatusEndOfTrack {
						got = append(got, "eot")
						continue
					}
					require.Equal(t, fmt.Sprintf("g%d-o%d", o.Group, o.ID), string(o.Payload))
					got = append(got, string(o.Payload))
				}
			}
			read(2)
			// Groups are written at the pace they are read, as live media
			// is; a subscriber more than a group behind would lose groups.
			for g := uint64(101); g <= 103; g++ {
				require.NoError(t, tr.StartGroup(g))
				for o := range 3 {
					require.NoError(t, tr.WriteObject(fmt.Appendf(nil, "g%d-o%d", g, o)))
				}
				read(3)
			}
			tr.Close()
			read(1)
			for {
				o, err := sub.ReadObject(ctx)
				if err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
				require.Equal(t, wire.StatusEndOfGroup, o.Status, "only the end of the last group follows End of Track")
			}
			require.Equal(t, []string{
				"g100-o0", "g100-o1",
				"g101-o0", "g101-o1", "g101-o2",
				"g102-o0", "g102-o1", "g102-o2",
				"g103-o0", "g103-o1", "g103-o2", "eot",
			}, got)
		})
	}
}

func TestSubscribeUnknownTrack(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			_, err := origin.Publish(Namespace{"live", "cam1"}, nil)
			require.NoError(t, err)
			_, addr := testServer(t, origin, SessionConfig{})
			s := dialTest(t, tc.url(addr), tc.version)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = s.Subscribe(ctx, Namespace{"live", "cam1"}, "nope", SubscribeOptions{})
			require.ErrorIs(t, err, ErrTrackDoesNotExist)
			_, err = s.Subscribe(ctx, Namespace{"live", "cam9"}, "video", SubscribeOptions{})
			require.ErrorIs(t, err, ErrTrackDoesNotExist)
			_, err = s.TrackStatus(ctx, Namespace{"live", "cam9"}, "video")
			require.ErrorIs(t, err, ErrTrackDoesNotExist)
		})
	}
}

// Server.Totals keeps counting what sessions sent after they end, for
// monotonic metrics.
func TestServerTotalsOutliveSessions(t *testing.T) {
	origin := NewOrigin()
	bc, err := origin.Publish(cam1, nil)
	require.NoError(t, err)
	tr, err := bc.CreateTrack("video", TrackOptions{})
	require.NoError(t, err)
	require.NoError(t, tr.StartGroup(1))
	require.NoError(t, tr.WriteObject([]byte("g1-o0")))
	srv, addr := testServer(t, origin, SessionConfig{})
	ctx := testCtx(t)
	var last uint64
	for range 2 {
		s := dialTest(t, "moqt://"+addr, wire.Draft16)
		sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{})
		require.NoError(t, err)
		require.Equal(t, objs("g1-o0"), readPayloads(t, ctx, sub, 1))
		require.Equal(t, 1, srv.Totals().Subscriptions)
		require.NoError(t, s.Close())
		require.Eventually(t, func() bool { return len(srv.Sessions()) == 0 }, 5*time.Second, 10*time.Millisecond)
		tot := srv.Totals()
		require.Zero(t, tot.Subscriptions)
		require.Equal(t, last+1, tot.ObjectsSent, "the ended session's objects still count")
		require.Positive(t, tot.BytesSent)
		last = tot.ObjectsSent
	}
}

// Requests made at once from many goroutines reach the peer in request ID
// order, which it enforces (draft-14 §9.1): none closes the session.
func TestConcurrentRequestsKeepIDOrder(t *testing.T) {
	for _, tc := range transports[:2] {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			for i := range 20 {
				_, err := bc.CreateTrack(fmt.Sprintf("t%d", i), TrackOptions{})
				require.NoError(t, err)
			}
			_, addr := testServer(t, origin, SessionConfig{})
			s := dialTest(t, tc.url(addr), tc.version)
			ctx := testCtx(t)
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					if i%2 == 0 {
						_, _ = s.TrackStatus(ctx, cam1, fmt.Sprintf("t%d", i))
						return
					}
					_, err := s.Subscribe(ctx, cam1, fmt.Sprintf("t%d", i), SubscribeOptions{})
					assert.NoError(t, err)
				})
			}
			wg.Wait()
			require.NoError(t, s.Err())
		})
	}
}
