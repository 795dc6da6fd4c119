package ingest

import (
	"net"
	"sync"
)

// DefaultMaxConnsPerIP bounds the connections one address may hold open on
// an ingest listener, so that one client cannot take every slot: an
// encoder pushing many streams from one address needs a higher bound
// (config rtmp/rtsp max_conns_per_ip).
const DefaultMaxConnsPerIP = 32

// ConnLimiter counts the open connections of one or more listeners, in all
// and per remote IP address.
type ConnLimiter struct {
	max, perIP int // <= 0: no bound

	mu      sync.Mutex
	open    int
	byIP    map[string]int
	refused uint64
}

// NewConnLimiter bounds connections to maxConns in all and perIP from one
// address; a bound <= 0 is no bound.
func NewConnLimiter(maxConns, perIP int) *ConnLimiter {
	return &ConnLimiter{max: maxConns, perIP: perIP, byIP: make(map[string]int)}
}

// Admit counts a connection from remote and returns the function that
// releases it (call it once, when the connection closes), or false when a
// bound is reached.
func (l *ConnLimiter) Admit(remote net.Addr) (release func(), ok bool) {
	ip := remote.String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if (l.max > 0 && l.open >= l.max) || (l.perIP > 0 && l.byIP[ip] >= l.perIP) {
		l.refused++
		return nil, false
	}
	l.open++
	l.byIP[ip]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.open--
			if l.byIP[ip]--; l.byIP[ip] <= 0 {
				delete(l.byIP, ip)
			}
		})
	}, true
}

// Stats reports the open connections and how many were refused so far.
func (l *ConnLimiter) Stats() (open int, refused uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.refused
}
