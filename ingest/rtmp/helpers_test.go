package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTime bounds every wait of the tests; the machine is shared.
const (
	waitTime  = 30 * time.Second
	pollEvery = 5 * time.Millisecond
)

// startServer serves s on a loopback port until the test ends, and checks
// that Serve returns cleanly then.
func startServer(t *testing.T, s *Server, logs *ingesttest.LogCapture) string {
	t.Helper()
	if s.Addr == "" && s.Listener == nil {
		s.Addr = "127.0.0.1:0"
	}
	if logs != nil {
		s.Logger = slog.New(logs)
	}
	require.NoError(t, s.Listen())
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-errc)
	})
	return s.LocalAddr().String()
}

// dial connects a gortmplib publisher. The URL's fragment is the stream
// key, as OBS's "Stream Key" field: rtmp://host/live#cam1.
func dial(t *testing.T, rawURL string, cfg *tls.Config) (*gortmplib.Client, error) {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	c := &gortmplib.Client{URL: u, Publish: true, TLSConfig: cfg}
	ctx, cancel := context.WithTimeout(t.Context(), waitTime)
	defer cancel()
	if err := c.Initialize(ctx); err != nil {
		return nil, err
	}
	t.Cleanup(c.Close)
	return c, nil
}

// h264Pusher publishes a made-up H.264 track (gortmplib's default SPS/PPS)
// at 25 frames a second of media time, as fast as the socket takes it.
type h264Pusher struct {
	w     *gortmplib.Writer
	track *gortmplib.Track
	n     int
}

const pushFrameDur = 40 * time.Millisecond

func newH264Pusher(t *testing.T, c gortmplib.Conn) *h264Pusher {
	t.Helper()
	tr := &gortmplib.Track{Codec: &codecs.H264{}}
	w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{tr}}
	require.NoError(t, w.Initialize())
	return &h264Pusher{w: w, track: tr}
}

// push writes n frames; every 25th is an IDR.
func (p *h264Pusher) push(n int) error {
	for range n {
		typ := byte(0x41) // non-IDR slice
		if p.n%25 == 0 {
			typ = 0x65 // IDR slice
		}
		ts := time.Duration(p.n) * pushFrameDur
		au := [][]byte{{typ, 0x88, byte(p.n), byte(p.n >> 8)}}
		if err := p.w.WriteH264(p.track, ts, ts, au); err != nil {
			return err
		}
		p.n++
	}
	return nil
}

// probeFrames is enough media for gortmplib's 2 s probe.
const probeFrames = 60

// publishH264 connects, publishes and pushes past the probe.
func publishH264(t *testing.T, rawURL string, cfg *tls.Config) (*gortmplib.Client, *h264Pusher) {
	t.Helper()
	c, err := dial(t, rawURL, cfg)
	require.NoError(t, err)
	p := newH264Pusher(t, c)
	require.NoError(t, p.push(probeFrames))
	return c, p
}

// waitClosedByServer reads from nc until the server closes it.
func waitClosedByServer(t *testing.T, nc net.Conn) {
	t.Helper()
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitTime)))
	buf := make([]byte, 4096)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server did not close the connection")
		return
	}
}

// isLine matches a log line by message and attributes, each present and
// equal to the value's fmt.Sprint (the capture keeps values as strings).
func isLine(msg string, attrs ...any) func(ingesttest.LogRecord) bool {
	return func(r ingesttest.LogRecord) bool {
		if r.Msg != msg {
			return false
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if v, ok := r.Attrs[attrs[i].(string)]; !ok || v != fmt.Sprint(attrs[i+1]) {
				return false
			}
		}
		return true
	}
}

// errContains matches a log line whose err attribute contains s.
func errContains(msg, remote, s string) func(ingesttest.LogRecord) bool {
	return func(r ingesttest.LogRecord) bool {
		return r.Msg == msg && r.Attrs["remote"] == remote && r.Attrs["proto"] == proto &&
			strings.Contains(r.Attrs["err"], s)
	}
}

// mergedListener accepts from several listeners, so that one Server sees
// clients of two addresses (127.0.0.1 and ::1).
type mergedListener struct {
	lns   []net.Listener
	conns chan net.Conn
	errs  chan error
}

func mergeListeners(lns ...net.Listener) net.Listener {
	m := &mergedListener{lns: lns, conns: make(chan net.Conn), errs: make(chan error, len(lns))}
	for _, ln := range lns {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					m.errs <- err
					return
				}
				m.conns <- c
			}
		}()
	}
	return m
}

func (m *mergedListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case err := <-m.errs:
		return nil, err
	}
}

func (m *mergedListener) Close() error {
	for _, ln := range m.lns {
		ln.Close()
	}
	return nil
}

func (m *mergedListener) Addr() net.Addr { return m.lns[0].Addr() }
