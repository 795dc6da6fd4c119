package ingesttest

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// LogRecord is one captured log line.
type LogRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// LogCapture is a slog.Handler that keeps records for assertions and
// echoes them to the test log.
type LogCapture struct {
	t     *testing.T
	mu    *sync.Mutex
	recs  *[]LogRecord
	attrs []slog.Attr
}

// NewLogCapture returns a LogCapture logging to t.
func NewLogCapture(t *testing.T) *LogCapture {
	return &LogCapture{t: t, mu: &sync.Mutex{}, recs: &[]LogRecord{}}
}

// Enabled implements slog.Handler: every level is kept.
func (h *LogCapture) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (h *LogCapture) Handle(_ context.Context, r slog.Record) error {
	rec := LogRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
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

// WithAttrs implements slog.Handler.
func (h *LogCapture) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}

// WithGroup implements slog.Handler (groups are flattened).
func (h *LogCapture) WithGroup(string) slog.Handler { return h }

// Find returns the records with message msg.
func (h *LogCapture) Find(msg string) []LogRecord {
	return h.FindFunc(func(r LogRecord) bool { return r.Msg == msg })
}

// FindFunc returns the records match accepts, for assertions on attributes
// as well as the message.
func (h *LogCapture) FindFunc(match func(LogRecord) bool) []LogRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []LogRecord
	for _, r := range *h.recs {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

// WaitFunc polls until a record that match accepts is logged and returns
// the first one. Adapters log from their connections' goroutines, after
// the client saw the outcome, so a test cannot just look once. what names
// the awaited line in the failure message.
func (h *LogCapture) WaitFunc(t *testing.T, what string, match func(LogRecord) bool) LogRecord {
	t.Helper()
	var rec LogRecord
	require.Eventually(t, func() bool {
		recs := h.FindFunc(match)
		if len(recs) == 0 {
			return false
		}
		rec = recs[0]
		return true
	}, waitTime, 10*time.Millisecond, "waiting for log line: %s", what)
	return rec
}
