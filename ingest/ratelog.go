package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultLogEvery is how often a RateLog logs a recurring event by default:
// a lossy link produces decode errors per packet, and anyone can open
// connections that fail; a log line each would cost more than the event.
const DefaultLogEvery = 10 * time.Second

// RateLog logs the first of a recurring event at once and later ones at
// most once per Every, with the number left out in between. It is safe for
// concurrent use (gortsplib calls back on several goroutines; accept loops
// and connections share one).
type RateLog struct {
	Logger *slog.Logger
	Level  slog.Level
	Msg    string
	Every  time.Duration // default DefaultLogEvery

	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// NewRateLog returns a RateLog of msg at level, once per DefaultLogEvery.
func NewRateLog(logger *slog.Logger, level slog.Level, msg string) *RateLog {
	return &RateLog{Logger: logger, Level: level, Msg: msg}
}

// Log logs args (slog key-value pairs) with the count left out since the
// last line, unless that line is younger than Every.
func (l *RateLog) Log(args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.next) {
		l.suppressed++
		return
	}
	every := l.Every
	if every <= 0 {
		every = DefaultLogEvery
	}
	l.Logger.Log(context.Background(), l.Level, l.Msg, append(args, "suppressed", l.suppressed)...)
	l.suppressed = 0
	l.next = now.Add(every)
}
