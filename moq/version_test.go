package moq

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// testServerVersions is testServer restricted to versions.
func testServerVersions(t testing.TB, origin *Origin, versions []wire.Version, log *slog.Logger) string {
	t.Helper()
	return testServerWith(t, &Server{Origin: origin, Versions: versions, Logger: log})
}

func TestVersionNegotiationFails(t *testing.T) {
	cases := []struct {
		name   string
		server wire.Version
		client wire.Version
		url    func(addr string) string
		// wantText are parts of the error that name the offers.
		wantText []string
	}{
		{
			"quic server draft-14, client draft-16", wire.Draft14, wire.Draft16,
			func(a string) string { return "moqt://" + a },
			[]string{"moqt-16"},
		},
		{
			"quic server draft-16, client draft-14", wire.Draft16, wire.Draft14,
			func(a string) string { return "moqt://" + a },
			[]string{"moq-00"},
		},
		{
			"webtransport server draft-16, client draft-14", wire.Draft16, wire.Draft14,
			func(a string) string { return "https://" + a + "/moq" },
			[]string{`"moq-00"`, "moqt-16"},
		},
		{
			"webtransport server draft-14, client draft-16", wire.Draft14, wire.Draft16,
			func(a string) string { return "https://" + a + "/moq" },
			[]string{"moqt-16"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := testServerVersions(t, NewOrigin(), []wire.Version{tc.server}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := Dial(ctx, tc.url(addr), DialOptions{
				Versions: []wire.Version{tc.client}, TLSConfig: insecureTLS(), Logger: testLogger(),
			})
			require.Nil(t, s)
			require.ErrorIs(t, err, ErrVersionNegotiation)
			for _, want := range tc.wantText {
				require.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestVersionNegotiationPicksCommon(t *testing.T) {
	for _, server := range []wire.Version{wire.Draft14, wire.Draft16} {
		for _, tr := range []string{"moqt://%s", "https://%s/moq"} {
			t.Run(server.String()+"/"+tr[:4], func(t *testing.T) {
				addr := testServerVersions(t, NewOrigin(), []wire.Version{server}, nil)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				url := "moqt://" + addr
				if tr[0] == 'h' {
					url = "https://" + addr + "/moq"
				}
				s, err := Dial(ctx, url, DialOptions{TLSConfig: insecureTLS(), Logger: testLogger()})
				require.NoError(t, err)
				defer s.Close()
				require.Equal(t, server, s.Version())
			})
		}
	}
}

func TestServerRejectsUnknownVersion(t *testing.T) {
	cert, _, err := SelfSignedCert([]string{"127.0.0.1"}, time.Hour)
	require.NoError(t, err)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	srv := &Server{
		Origin: NewOrigin(), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Versions: []wire.Version{0xff000017},
	}
	srv.PacketConn = pc
	require.ErrorContains(t, srv.Serve(context.Background()), "not supported")
}

// A moq-00 CLIENT_SETUP without draft-14 in its version list ends the
// session with VERSION_NEGOTIATION_FAILED and a reason naming both lists.
func TestSetupVersionListWithoutDraft14(t *testing.T) {
	for _, webTransport := range []bool{false, true} {
		name := "quic"
		if webTransport {
			name = "webtransport"
		}
		t.Run(name, func(t *testing.T) {
			_, addr := testServer(t, NewOrigin(), SessionConfig{})
			p := newRawPeer(t, dialRawConn(t, addr, webTransport, wire.ALPNDraft14, nil), wire.Draft14)
			cs := &wire.ClientSetup{
				Versions: []wire.Version{0xff00000d, 0xff00000f},
				Params:   wire.SetupParams{MaxRequestID: 10},
			}
			if !webTransport {
				path := ""
				cs.Params.Path = &path
			}
			p.send(cs)
			code, reason := p.closed()
			require.Equal(t, wire.SessionVersionNegotiationFailed, code)
			require.Contains(t, reason, "0xff00000d")
			require.Contains(t, reason, "0xff00000f")
			require.Contains(t, reason, "draft-14")
		})
	}
}

// A moq-00 CLIENT_SETUP whose list also names versions the gateway does
// not know (moq-lite's, other drafts) selects draft-14 and ignores the rest.
func TestSetupVersionListWithUnknownVersions(t *testing.T) {
	for _, webTransport := range []bool{false, true} {
		name := "quic"
		if webTransport {
			name = "webtransport"
		}
		t.Run(name, func(t *testing.T) {
			_, addr := testServer(t, NewOrigin(), SessionConfig{})
			p := newRawPeer(t, dialRawConn(t, addr, webTransport, wire.ALPNDraft14, nil), wire.Draft14)
			cs := &wire.ClientSetup{
				Versions: []wire.Version{0xff0bad00, 0xff00000d, wire.Draft14, 0xff000011},
				Params:   wire.SetupParams{MaxRequestID: 10},
			}
			if !webTransport {
				path := ""
				cs.Params.Path = &path
			}
			p.send(cs)
			ss, ok := p.read().(*wire.ServerSetup)
			require.True(t, ok)
			require.Equal(t, wire.Draft14, ss.SelectedVersion)
		})
	}
}

// WebTransport sessions are served at the configured path only.
func TestWebTransportPath(t *testing.T) {
	srv := &Server{Origin: NewOrigin(), WebTransportPath: "/relay/moq"}
	addr := testServerWith(t, srv)
	ctx := testCtx(t)
	s, err := Dial(ctx, "https://"+addr+"/relay/moq", DialOptions{TLSConfig: insecureTLS(), Logger: testLogger()})
	require.NoError(t, err)
	s.Close()
	_, err = Dial(ctx, "https://"+addr+DefaultWebTransportPath, DialOptions{TLSConfig: insecureTLS(), Logger: testLogger()})
	require.ErrorContains(t, err, "HTTP 404")
}

// A SERVER_SETUP that selects a version we did not offer fails the dial.
func TestClientRejectsUnofferedVersion(t *testing.T) {
	ln := rawServer(t, wire.ALPNDraft14, func(p *rawPeer) {
		m := p.read()
		_, ok := m.(*wire.ClientSetup)
		require.True(t, ok)
		p.send(&wire.ServerSetup{SelectedVersion: 0xff00000d, Params: wire.SetupParams{MaxRequestID: 10}})
		p.closed()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, "moqt://"+ln, DialOptions{
		Versions: []wire.Version{wire.Draft14}, TLSConfig: insecureTLS(), Logger: testLogger(),
	})
	require.ErrorIs(t, err, ErrVersionNegotiation)
	require.ErrorContains(t, err, "0xff00000d")
	require.ErrorContains(t, err, "draft-14")
}

// The negotiated version is logged when the session is established.
func TestNegotiatedVersionLogged(t *testing.T) {
	for _, v := range []wire.Version{wire.Draft14, wire.Draft16} {
		t.Run(v.String(), func(t *testing.T) {
			var srvLog, cliLog syncBuffer
			addr := testServerVersions(t, NewOrigin(), nil, slog.New(slog.NewTextHandler(&srvLog, nil)))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := Dial(ctx, "moqt://"+addr, DialOptions{
				Versions: []wire.Version{v}, TLSConfig: insecureTLS(),
				Logger: slog.New(slog.NewTextHandler(&cliLog, nil)),
			})
			require.NoError(t, err)
			defer s.Close()
			require.Equal(t, v, s.Version())
			require.Contains(t, cliLog.String(), "version="+v.String())
			require.Eventually(t, func() bool {
				return bytes.Contains([]byte(srvLog.String()), []byte("moq session established"))
			}, 5*time.Second, 5*time.Millisecond)
			require.Contains(t, srvLog.String(), "version="+v.String())
		})
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent log writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
