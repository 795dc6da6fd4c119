package rtmp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/moqgw/moq-gateway/ingest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTime bounds every wait of the tests; the machine is shared.
const (
	waitTime  = 30 * time.Second
	pollEvery = 5 * time.Millisecond
)

// fakeSink records publications.
type fakeSink struct {
	mu   sync.Mutex
	pubs []*fakePub
	// publish, when set, decides on each request before it is recorded.
	publish func(req ingest.PublishRequest, earlier []*fakePub) error
}

func (s *fakeSink) Publish(_ context.Context, req ingest.PublishRequest) (ingest.Publication, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publish != nil {
		if err := s.publish(req, s.pubs); err != nil {
			return nil, err
		}
	}
	p := &fakePub{req: req, done: make(chan struct{})}
	s.pubs = append(s.pubs, p)
	return p, nil
}

func (s *fakeSink) publications() []*fakePub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pubs)
}

// waitPublications waits for n publications.
func (s *fakeSink) waitPublications(t *testing.T, n int) []*fakePub {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.publications()) >= n }, waitTime, pollEvery,
		"waiting for %d publications", n)
	return s.publications()
}

// fakePub records frames, with copies of their bytes.
type fakePub struct {
	req ingest.PublishRequest

	mu       sync.Mutex
	frames   []ingest.Frame
	closed   bool
	writeErr error
	done     chan struct{}
	doneOnce sync.Once
}

func (p *fakePub) WriteFrame(f ingest.Frame) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.writeErr != nil {
		return p.writeErr
	}
	au := make([][]byte, len(f.AU))
	for i, b := range f.AU {
		au[i] = bytes.Clone(b)
	}
	f.AU = au
	p.frames = append(p.frames, f)
	return nil
}

func (p *fakePub) Done() <-chan struct{} { return p.done }

func (p *fakePub) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// end ends the publication from the sink's side.
func (p *fakePub) end() { p.doneOnce.Do(func() { close(p.done) }) }

func (p *fakePub) failWrites(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeErr = err
}

func (p *fakePub) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *fakePub) waitClosed(t *testing.T) {
	t.Helper()
	require.Eventually(t, p.isClosed, waitTime, pollEvery, "waiting for the publication to close")
}

// trackFrames returns the frames of one track.
func (p *fakePub) trackFrames(track int) []ingest.Frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ingest.Frame
	for _, f := range p.frames {
		if f.Track == track {
			out = append(out, f)
		}
	}
	return out
}

// logRecord is one captured log line with its attributes flattened.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]any
}

// logStore captures log lines; tests assert on them.
type logStore struct {
	mu   sync.Mutex
	recs []logRecord
}

func (s *logStore) logger() *slog.Logger { return slog.New(&logHandler{store: s}) }

func (s *logStore) find(match func(logRecord) bool) (logRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if match(r) {
			return r, true
		}
	}
	return logRecord{}, false
}

func (s *logStore) wait(t *testing.T, what string, match func(logRecord) bool) logRecord {
	t.Helper()
	var rec logRecord
	require.Eventually(t, func() bool {
		var ok bool
		rec, ok = s.find(match)
		return ok
	}, waitTime, pollEvery, "waiting for log line: %s", what)
	return rec
}

func (s *logStore) dump(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		t.Logf("%s %s %v", r.level, r.msg, r.attrs)
	}
}

type logHandler struct {
	store *logStore
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: make(map[string]any)}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.Any()
		return true
	})
	h.store.mu.Lock()
	h.store.recs = append(h.store.recs, rec)
	h.store.mu.Unlock()
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{store: h.store, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }

// startServer serves s on a loopback port until the test ends, and checks
// that Serve returns cleanly then.
func startServer(t *testing.T, s *Server, logs *logStore) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return serveOn(t, s, logs, ln, nil)
}

func serveOn(t *testing.T, s *Server, logs *logStore, ln net.Listener, cfg *tls.Config) string {
	t.Helper()
	if logs != nil {
		s.Logger = logs.logger()
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		if cfg != nil {
			errc <- s.ServeTLS(ctx, ln, cfg)
		} else {
			errc <- s.Serve(ctx, ln)
		}
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-errc)
		if t.Failed() && logs != nil {
			logs.dump(t)
		}
	})
	return ln.Addr().String()
}

func requireFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("install ffmpeg: apt-get install -y ffmpeg")
	}
}

// ffmpeg runs ffmpeg with args and returns its error and output.
func ffmpeg(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	requireFFmpeg(t)
	ctx, cancel := context.WithTimeout(t.Context(), waitTime)
	defer cancel()
	args = append([]string{"-hide_banner", "-nostdin", "-loglevel", "error"}, args...)
	return exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput()
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

// isLine matches a log line by message and attributes.
func isLine(msg string, attrs ...any) func(logRecord) bool {
	return func(r logRecord) bool {
		if r.msg != msg {
			return false
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if fmt.Sprint(r.attrs[attrs[i].(string)]) != fmt.Sprint(attrs[i+1]) {
				return false
			}
		}
		return true
	}
}

// errContains matches a log line whose err attribute contains s.
func errContains(msg, remote, s string) func(logRecord) bool {
	return func(r logRecord) bool {
		return r.msg == msg && r.attrs["remote"] == remote && r.attrs["proto"] == proto &&
			strings.Contains(fmt.Sprint(r.attrs["err"]), s)
	}
}
