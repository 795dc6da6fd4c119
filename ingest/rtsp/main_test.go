package rtsp

import (
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logRecord is one captured log line.
type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// logCapture is a slog.Handler that keeps records for assertions and echoes
// them to the test log.
type logCapture struct {
	t     *testing.T
	mu    *sync.Mutex
	recs  *[]logRecord
	attrs []slog.Attr
}

func newLogCapture(t *testing.T) *logCapture {
	return &logCapture{t: t, mu: &sync.Mutex{}, recs: &[]logRecord{}}
}

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (h *logCapture) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, rec)
	h.t.Logf("%s %s %v", r.Level, r.Message, rec.Attrs)
	return nil
}

func (h *logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}

func (h *logCapture) WithGroup(string) slog.Handler { return h }

func (h *logCapture) find(msg string) []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRecord
	for _, r := range *h.recs {
		if r.Msg == msg {
			out = append(out, r)
		}
	}
	return out
}

// requireFFmpeg fails (never skips) a test that needs ffmpeg when it is
// missing.
func requireFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("install ffmpeg: apt-get install -y ffmpeg")
	}
}

// ffmpeg runs ffmpeg with args and returns its combined output. Pushes are
// bounded by -t; the context bounds a hung ffmpeg.
func ffmpeg(t *testing.T, args ...string) (string, error) {
	t.Helper()
	requireFFmpeg(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	args = append([]string{"-hide_banner", "-nostdin", "-loglevel", "warning", "-y"}, args...)
	out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput()
	t.Logf("ffmpeg %s\n%s", strings.Join(args, " "), out)
	return string(out), err
}
