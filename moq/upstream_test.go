package moq

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// The reconnect delay doubles from 250 ms to 30 s, with equal jitter: each
// delay lies in [d/2, d].
func TestUpstreamBackoff(t *testing.T) {
	u := NewUpstream(NewOrigin(), UpstreamConfig{})
	for n := range 20 {
		d := min(250*time.Millisecond<<n, 30*time.Second)
		seen := map[time.Duration]bool{}
		for range 200 {
			w := u.backoff(n)
			require.GreaterOrEqual(t, w, d/2, "attempt %d", n)
			require.LessOrEqual(t, w, d, "attempt %d", n)
			seen[w] = true
		}
		require.Greater(t, len(seen), 1, "attempt %d: no jitter", n)
	}
	require.LessOrEqual(t, u.backoff(1000), 30*time.Second)

	u = NewUpstream(NewOrigin(), UpstreamConfig{MinBackoff: time.Second, MaxBackoff: 3 * time.Second})
	for n, d := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		w := u.backoff(n)
		require.True(t, w >= d/2 && w <= d, "attempt %d: %v", n, w)
	}
}

// quicListener accepts QUIC connections on addr until the test ends and
// reports the local address each was accepted on.
func quicListener(t testing.TB, addr string) (net.Addr, <-chan string) {
	t.Helper()
	cert, _, err := SelfSignedCert([]string{"localhost", "127.0.0.1", "::1"}, time.Hour)
	require.NoError(t, err)
	ln, closeTransport := listenQUIC(t, addr, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"moq-test"}}, nil)
	accepted := make(chan string, 8)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			qc, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			accepted <- ln.Addr().String()
			wg.Go(func() {
				select {
				case <-qc.Context().Done():
				case <-stop:
					qc.CloseWithError(0, "")
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		close(stop)
		wg.Wait()
		closeTransport()
	})
	return ln.Addr(), accepted
}

// dualStackPort listens on 127.0.0.1 and ::1 with the same port.
func dualStackPort(t *testing.T) (port string, v4, v6 <-chan string) {
	t.Helper()
	for range 20 {
		a4, c4 := quicListener(t, "127.0.0.1:0")
		p := strconv.Itoa(a4.(*net.UDPAddr).Port)
		pc, err := net.ListenPacket("udp", net.JoinHostPort("::1", p))
		if err != nil {
			continue // taken on ::1: try another port
		}
		pc.Close()
		_, c6 := quicListener(t, net.JoinHostPort("::1", p))
		return p, c4, c6
	}
	t.Fatal("no port free on both loopback addresses")
	return "", nil, nil
}

func heTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"moq-test"}}
}

func TestHappyEyeballs(t *testing.T) {
	v6, v4 := []net.IP{net.IPv6loopback}, []net.IP{net.IPv4(127, 0, 0, 1)}
	ctx := testCtx(t)

	t.Run("both families: IPv6 first", func(t *testing.T) {
		port, c4, c6 := dualStackPort(t)
		qc, err := happyEyeballs(ctx, v6, v4, port, heTLS(), nil)
		require.NoError(t, err)
		defer qc.CloseWithError(0, "")
		require.Equal(t, "::1", qc.RemoteAddr().(*net.UDPAddr).IP.String())
		<-c6
		require.Empty(t, c4)
	})
	t.Run("IPv4 only: falls back", func(t *testing.T) {
		a4, c4 := quicListener(t, "127.0.0.1:0")
		port := strconv.Itoa(a4.(*net.UDPAddr).Port)
		qc, err := happyEyeballs(ctx, v6, v4, port, heTLS(), &quic.Config{HandshakeIdleTimeout: 5 * time.Second})
		require.NoError(t, err)
		defer qc.CloseWithError(0, "")
		require.Equal(t, "127.0.0.1", qc.RemoteAddr().(*net.UDPAddr).IP.String())
		<-c4
	})
	t.Run("IPv6 only", func(t *testing.T) {
		a6, c6 := quicListener(t, "[::1]:0")
		port := strconv.Itoa(a6.(*net.UDPAddr).Port)
		qc, err := happyEyeballs(ctx, v6, v4, port, heTLS(), nil)
		require.NoError(t, err)
		defer qc.CloseWithError(0, "")
		require.Equal(t, "::1", qc.RemoteAddr().(*net.UDPAddr).IP.String())
		<-c6
	})
	t.Run("nobody listens", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0") // a port nobody answers on
		require.NoError(t, err)
		defer pc.Close()
		port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		_, err = happyEyeballs(ctx, v6, v4, port, heTLS(), &quic.Config{HandshakeIdleTimeout: 300 * time.Millisecond})
		require.Error(t, err)
		require.ErrorContains(t, err, "::1")
		require.ErrorContains(t, err, "127.0.0.1")
	})
	t.Run("names and literals", func(t *testing.T) {
		a4, _ := quicListener(t, "127.0.0.1:0")
		port := strconv.Itoa(a4.(*net.UDPAddr).Port)
		for _, host := range []string{"localhost", "127.0.0.1"} {
			qc, err := DialHappyEyeballs(ctx, net.JoinHostPort(host, port), heTLS(), nil)
			require.NoError(t, err, host)
			require.Equal(t, "127.0.0.1", qc.RemoteAddr().(*net.UDPAddr).IP.String())
			qc.CloseWithError(0, "")
		}
		_, err := DialHappyEyeballs(ctx, "no-port", heTLS(), nil)
		require.Error(t, err)
	})
}

// retryLog is an upstream's logger that records the wait (retry_in) it
// logs before each reconnect attempt, and passes records on to next.
type retryLog struct {
	mu    *sync.Mutex
	waits *[]time.Duration
	sig   chan struct{}
	next  slog.Handler
}

func newRetryLog(next slog.Handler) *retryLog {
	if next == nil {
		next = testLogger().Handler()
	}
	return &retryLog{mu: new(sync.Mutex), waits: new([]time.Duration), sig: make(chan struct{}, 1), next: next}
}

func (r *retryLog) logger() *slog.Logger { return slog.New(r) }

func (r *retryLog) Enabled(context.Context, slog.Level) bool { return true }

func (r *retryLog) Handle(ctx context.Context, rec slog.Record) error {
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "retry_in" {
			r.mu.Lock()
			*r.waits = append(*r.waits, a.Value.Duration())
			r.mu.Unlock()
			select {
			case r.sig <- struct{}{}:
			default:
			}
		}
		return true
	})
	if !r.next.Enabled(ctx, rec.Level) {
		return nil
	}
	return r.next.Handle(ctx, rec)
}

func (r *retryLog) WithAttrs(as []slog.Attr) slog.Handler {
	c := *r
	c.next = r.next.WithAttrs(as)
	return &c
}

func (r *retryLog) WithGroup(name string) slog.Handler {
	c := *r
	c.next = r.next.WithGroup(name)
	return &c
}

func (r *retryLog) recorded() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(*r.waits)
}

// runUpstream runs u until the test ends.
func runUpstream(t *testing.T, u *Upstream) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		require.NoError(t, u.Run(ctx))
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return cancel
}

// GOAWAY with a new URI moves the upstream to that relay at once.
func TestUpstreamFollowsGoAway(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			relayB, addrB := testServer(t, NewOrigin(), SessionConfig{AcceptNamespaces: true})
			addrA := rawServer(t, v.ALPN(), func(p *rawPeer) {
				if !p.acceptPublisher() {
					return
				}
				p.send(&wire.GoAway{NewSessionURI: "moqt://" + addrB})
				p.closed()
			})
			u, rec := runCam1Upstream(t, "moqt://"+addrA, v)

			sess := serverSession(t, relayB)
			require.NoError(t, sess.WaitAnnounced(testCtx(t), cam1))
			require.Eventually(t, func() bool { return u.Status()[0].Connected }, rawTimeout, time.Millisecond)
			require.Empty(t, rec.recorded(), "only the drain, no backoff")
		})
	}
}

// A relay that refuses the token: a clear error, and reconnects that back
// off instead of hammering the relay.
func TestUpstreamTokenRefused(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			var mu sync.Mutex
			var tokens [][]byte
			addr := rawServer(t, v.ALPN(), func(p *rawPeer) {
				cs, ok := p.read().(*wire.ClientSetup)
				if !ok {
					return
				}
				p.send(&wire.ServerSetup{SelectedVersion: v, Params: wire.SetupParams{MaxRequestID: 100}})
				pn, ok := p.read().(*wire.PublishNamespace)
				if !ok {
					return
				}
				mu.Lock()
				tokens = append(tokens, cs.Params.AuthorizationTokens...)
				tokens = append(tokens, pn.Params.AuthorizationTokens...)
				mu.Unlock()
				p.send(&wire.RequestError{Kind: wire.KindPublishNamespace, RequestID: pn.RequestID, Code: wire.RequestUnauthorized, Reason: "bad token"})
				p.closed()
			})
			origin := NewOrigin()
			_, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			rec := newRetryLog(nil)
			u := NewUpstream(origin, UpstreamConfig{
				Name: "a", URL: "moqt://" + addr, Versions: []wire.Version{v}, Token: "s3cret",
				MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
				TLSConfig: insecureTLS(), Logger: rec.logger(),
			})
			cancel := runUpstream(t, u)
			for len(rec.recorded()) < 5 {
				select {
				case <-rec.sig:
				case <-time.After(rawTimeout):
					t.Fatal("no reconnect")
				}
			}
			cancel()
			waits := rec.recorded()[:5]
			for i, w := range waits {
				d := min(100*time.Millisecond<<i, time.Second)
				require.True(t, w >= d/2 && w <= d, "wait %d is %v, want %v with jitter", i, w, d)
			}
			st := u.Status()[0]
			require.Contains(t, st.LastError, "relay rejected our token")
			require.Contains(t, st.LastError, "bad token")
			require.False(t, st.Connected)

			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, tokens)
			for _, tok := range tokens {
				parsed, err := wire.ParseToken(tok)
				require.NoError(t, err)
				require.Equal(t, wire.Token{AliasType: wire.TokenUseValue, Value: []byte("s3cret")}, parsed)
			}
		})
	}
}

// An unreachable relay is retried with growing delays too.
func TestUpstreamUnreachable(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	rec := newRetryLog(nil)
	u := NewUpstream(NewOrigin(), UpstreamConfig{
		Name: "down", URL: "moqt://" + pc.LocalAddr().String(), DialTimeout: 100 * time.Millisecond,
		TLSConfig: insecureTLS(), Logger: rec.logger(),
	})
	cancel := runUpstream(t, u)
	for len(rec.recorded()) < 3 {
		<-rec.sig
	}
	cancel()
	waits := rec.recorded()
	require.LessOrEqual(t, waits[0], 250*time.Millisecond)
	require.GreaterOrEqual(t, waits[2], 500*time.Millisecond)
	require.NotEmpty(t, u.Status()[0].LastError)
}

// A token carried as a URL path segment stays out of the logs and the
// status, also when the relay answers the WebTransport request with an
// HTTP error that quotes the URL.
func TestUpstreamHidesPathToken(t *testing.T) {
	_, addr := testServer(t, NewOrigin(), SessionConfig{})
	const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJnYXRld2F5In0.c2lnbmF0dXJl"
	var logs bytes.Buffer
	var logMu sync.Mutex
	rec := newRetryLog(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	u := NewUpstream(NewOrigin(), UpstreamConfig{
		Name: "a", URL: "https://" + addr + "/not-moq/{token}", Token: token,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		TLSConfig: insecureTLS(),
		Logger:    rec.logger(),
	})
	cancel := runUpstream(t, u)
	for len(rec.recorded()) < 2 {
		select {
		case <-rec.sig:
		case <-time.After(rawTimeout):
			t.Fatal("no retry")
		}
	}
	cancel()
	st := u.Status()[0]
	require.Contains(t, st.LastError, "HTTP 404", "the relay's answer is reported")
	require.Contains(t, st.LastError, "/not-moq/…")
	require.NotContains(t, st.LastError, token)
	require.NotContains(t, st.URL, token)
	logMu.Lock()
	defer logMu.Unlock()
	require.Contains(t, logs.String(), "relay connection failed")
	require.NotContains(t, logs.String(), token)
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// runCam1Upstream runs an upstream publishing cam1 to url until the test
// ends, recording its waits.
func runCam1Upstream(t *testing.T, url string, v wire.Version) (*Upstream, *retryLog) {
	t.Helper()
	origin := NewOrigin()
	_, err := origin.Publish(cam1, nil)
	require.NoError(t, err)
	rec := newRetryLog(nil)
	u := NewUpstream(origin, UpstreamConfig{
		Name: "a", URL: url, Versions: []wire.Version{v},
		TLSConfig: insecureTLS(), Logger: rec.logger(),
	})
	runUpstream(t, u)
	return u, rec
}

// GOAWAY without a URI: the upstream drains and reconnects to the same
// relay at once.
func TestUpstreamGoAwayWithoutURI(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			var mu sync.Mutex
			conns := 0
			again := make(chan struct{})
			addr := rawServer(t, v.ALPN(), func(p *rawPeer) {
				mu.Lock()
				conns++
				n := conns
				mu.Unlock()
				if !p.acceptPublisher() {
					return
				}
				if n == 1 {
					p.send(&wire.GoAway{})
				} else {
					close(again)
				}
				p.closed()
			})
			_, rec := runCam1Upstream(t, "moqt://"+addr, v)
			select {
			case <-again:
			case <-time.After(rawTimeout):
				t.Fatal("no reconnect after GOAWAY")
			}
			require.Empty(t, rec.recorded(), "only the drain, no backoff")
		})
	}
}
