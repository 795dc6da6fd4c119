package moq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/quic-go/quic-go"
)

// HappyEyeballsDelay is how long an IPv6 attempt runs alone before IPv4
// joins (RFC 8305 §5 recommends 250 ms).
const HappyEyeballsDelay = 250 * time.Millisecond

// DialHappyEyeballs opens a QUIC connection to host:port racing the host's
// IPv6 and IPv4 addresses: IPv6 first, IPv4 after HappyEyeballsDelay or as
// soon as every IPv6 attempt failed (RFC 8305). The first handshake to
// complete wins; the other attempts are cancelled. Use it as
// DialOptions.DialQUIC.
func DialHappyEyeballs(ctx context.Context, addr string, tlsConf *tls.Config, qconf *quic.Config) (*quic.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var v6, v4 []net.IP
	if ip := net.ParseIP(host); ip != nil {
		if ip.To4() != nil {
			v4 = []net.IP{ip}
		} else {
			v6 = []net.IP{ip}
		}
	} else {
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		for _, ip := range ips {
			if ip.IP.To4() != nil {
				v4 = append(v4, ip.IP)
			} else {
				v6 = append(v6, ip.IP)
			}
		}
	}
	if len(v4)+len(v6) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return happyEyeballs(ctx, v6, v4, port, tlsConf, qconf)
}

// happyEyeballs races QUIC handshakes to the addresses: the families
// interleaved, IPv6 first, a new attempt every HappyEyeballsDelay or as soon
// as every running one failed.
func happyEyeballs(ctx context.Context, v6, v4 []net.IP, port string, tlsConf *tls.Config, qconf *quic.Config) (*quic.Conn, error) {
	// Interleave the families, IPv6 first (RFC 8305 §4).
	var order []net.IP
	for i := 0; i < max(len(v6), len(v4)); i++ {
		if i < len(v6) {
			order = append(order, v6[i])
		}
		if i < len(v4) {
			order = append(order, v4[i])
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		c   *quic.Conn
		err error
	}
	results := make(chan result, len(order))
	started := 0
	start := func(ip net.IP) {
		started++
		go func() {
			c, err := quic.DialAddr(ctx, net.JoinHostPort(ip.String(), port), tlsConf, qconf)
			results <- result{c, err}
		}()
	}
	start(order[0])
	next := 1
	timer := time.NewTimer(HappyEyeballsDelay)
	defer timer.Stop()
	var errs []error
	var winner *quic.Conn
	for received := 0; received < started || next < len(order); {
		if next < len(order) && received == started {
			// Everything so far failed: try the next address now.
			start(order[next])
			next++
			continue
		}
		select {
		case <-timer.C:
			if next < len(order) {
				start(order[next])
				next++
				timer.Reset(HappyEyeballsDelay)
			}
		case r := <-results:
			received++
			if r.err != nil {
				errs = append(errs, r.err)
				continue
			}
			if winner == nil {
				winner = r.c
				cancel() // stop the others; late winners are closed below
				next = len(order)
				continue
			}
			_ = r.c.CloseWithError(0, "lost the race")
		}
	}
	if winner != nil {
		return winner, nil
	}
	return nil, fmt.Errorf("dial %v port %s: %w", order, port, errors.Join(errs...))
}
