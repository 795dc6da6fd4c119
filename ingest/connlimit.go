package ingest

import (
	"net"
	"sync"
	"time"
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

	// rate and burst bound new connections per IP (a token bucket); rate
	// <= 0: no bound.
	rate  float64
	burst float64

	mu       sync.Mutex
	open     int
	byIP     map[string]int
	buckets  map[string]*bucket
	prunedAt time.Time
	refused  uint64
}

// bucket is one IP's allowance of new connections.
type bucket struct {
	tokens float64
	at     time.Time
}

// Default bound on new connections from one IP: a burst of
// DefaultConnBurst, then DefaultConnRate a second — far more than an
// encoder's reconnects or an office of viewers reloading, far less than a
// handshake flood.
const (
	DefaultConnRate  = 20
	DefaultConnBurst = 50
)

// maxBuckets bounds the rate table; past it, buckets that have refilled
// (their IPs idle) are dropped.
const maxBuckets = 4096

// NewConnLimiter bounds connections to maxConns in all and perIP from one
// address; a bound <= 0 is no bound.
func NewConnLimiter(maxConns, perIP int) *ConnLimiter {
	return &ConnLimiter{max: maxConns, perIP: perIP, byIP: make(map[string]int), buckets: make(map[string]*bucket)}
}

// addrKey is the address a connection counts against: its IP, or for
// IPv6 its /64, which one subscriber line usually holds whole.
func addrKey(remote net.Addr) string {
	host := remote.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// NewAddrLimiter is the limiter every listener uses: maxConns open in all
// (<= 0: no bound), perIP from one address (0: DefaultMaxConnsPerIP,
// negative: no bound) and, when perIP is bounded, DefaultConnRate new
// connections a second from one address after a burst of DefaultConnBurst.
func NewAddrLimiter(maxConns, perIP int) *ConnLimiter {
	if perIP == 0 {
		perIP = DefaultMaxConnsPerIP
	}
	l := NewConnLimiter(maxConns, perIP)
	if perIP > 0 {
		l.WithRate(DefaultConnRate, DefaultConnBurst)
	}
	return l
}

// WithRate bounds new connections from one IP to burst at once and rate
// a second after that (rate <= 0: no bound). It returns l.
func (l *ConnLimiter) WithRate(rate float64, burst int) *ConnLimiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate, l.burst = rate, float64(max(burst, 1))
	return l
}

// takeLocked spends one of ip's new-connection tokens, if it has one.
func (l *ConnLimiter) takeLocked(ip string, now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	b := l.buckets[ip]
	if b == nil {
		if len(l.buckets) >= maxBuckets && now.Sub(l.prunedAt) >= time.Second {
			l.prunedAt = now
			for k, o := range l.buckets {
				if o.tokens+now.Sub(o.at).Seconds()*l.rate >= l.burst {
					delete(l.buckets, k)
				}
			}
		}
		if len(l.buckets) >= maxBuckets {
			// Every tracked address is busy: this one is not rate-bounded,
			// but the per-address and total bounds still hold.
			return true
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[ip] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Admit counts a connection from remote and returns the function that
// releases it (call it once, when the connection closes), or false when a
// bound is reached.
func (l *ConnLimiter) Admit(remote net.Addr) (release func(), ok bool) {
	ip := addrKey(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	if (l.max > 0 && l.open >= l.max) || (l.perIP > 0 && l.byIP[ip] >= l.perIP) || !l.takeLocked(ip, time.Now()) {
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
