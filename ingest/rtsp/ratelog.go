package rtsp

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// errorLogInterval bounds how often one recurring event is logged: a lossy
// link produces decode errors per packet, and anyone can open connections
// that fail; a log line each would cost more than the event.
const errorLogInterval = 10 * time.Second

// rateLog logs the first of a recurring event at once and later ones at
// most once per errorLogInterval, with the number left out in between. It
// is safe for concurrent use: gortsplib calls back on several goroutines.
type rateLog struct {
	logger *slog.Logger
	level  slog.Level
	msg    string

	mu         sync.Mutex
	next       time.Time
	suppressed int
}

func newRateLog(logger *slog.Logger, level slog.Level, msg string) *rateLog {
	return &rateLog{logger: logger, level: level, msg: msg}
}

// log logs args (slog key-value pairs) unless the interval has not passed.
func (l *rateLog) log(args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.next) {
		l.suppressed++
		return
	}
	l.logger.Log(context.Background(), l.level, l.msg, append(args, "suppressed", l.suppressed)...)
	l.suppressed = 0
	l.next = now.Add(errorLogInterval)
}
