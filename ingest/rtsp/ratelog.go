package rtsp

import (
	"log/slog"
	"time"
)

// errorLogInterval bounds how often one connection logs its recurring
// non-fatal errors: a lossy link produces them per packet, and a log line per
// packet would cost more than the stream.
const errorLogInterval = 10 * time.Second

// rateLog logs the first of a connection's recurring errors at once and
// later ones at most once per errorLogInterval, with the number left out in
// between. Callers serialize its use.
type rateLog struct {
	logger     *slog.Logger
	msg        string
	next       time.Time
	suppressed int
}

func (l *rateLog) log(err error) {
	now := time.Now()
	if now.Before(l.next) {
		l.suppressed++
		return
	}
	l.logger.Warn(l.msg, "error", err, "suppressed", l.suppressed)
	l.suppressed = 0
	l.next = now.Add(errorLogInterval)
}
