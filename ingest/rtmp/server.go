package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moqgw/moq-gateway/ingest"
)

// Defaults of the Server's zero fields.
const (
	// DefaultTimeout is the read and write timeout: MediaMTX's, which OBS
	// and ffmpeg users know.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxConns bounds concurrent connections: far above what 2 cores
	// package, far below the file descriptors a flood would exhaust.
	DefaultMaxConns = 1000
)

// proto is the protocol name in logs and publish requests.
const proto = "rtmp"

// Accept retry delays after errors such as EMFILE, as net/http does.
const (
	acceptDelayMin = 5 * time.Millisecond
	acceptDelayMax = time.Second
)

// Server accepts RTMP and RTMPS publishers (OBS, ffmpeg; legacy H.264 and
// AAC, and Enhanced RTMP H.265, AV1, Opus and multitrack) and hands their
// streams to Sink. Play requests are refused: the gateway only ingests over
// RTMP. Set the fields, then Listen (to fail start-up on a taken port) and
// Serve; one Server serves one listener, RTMP or (with TLSConfig) RTMPS.
type Server struct {
	// Addr is the TCP address to listen on, e.g. ":1935".
	Addr string
	// Listener, when set, is served instead of a listener on Addr (a
	// socket handed over by systemd, say).
	Listener net.Listener
	// TLSConfig makes the listener RTMPS; the TLS handshake runs within
	// HandshakeTimeout, on the connection's goroutine.
	TLSConfig *tls.Config
	// Sink receives the publications.
	Sink ingest.Sink
	// Auth decides who may publish where; nil or no rules means open.
	Auth *ingest.Auth
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger

	// ReadTimeout bounds each read from a publisher and WriteTimeout each
	// write to it; 0 means DefaultTimeout.
	ReadTimeout, WriteTimeout time.Duration
	// HandshakeTimeout bounds each of the two setup stages: from accept to
	// the publish command, and the probe that follows, in which gortmplib
	// reads 2 s of media to find every track. 0 means DefaultTimeout.
	HandshakeTimeout time.Duration
	// MaxConns bounds concurrent connections; further ones are closed at
	// once. 0 means DefaultMaxConns, negative means no limit.
	MaxConns int
	// MaxConnsPerIP bounds the concurrent connections from one IP address,
	// so that one client cannot hold every slot. 0 means
	// ingest.DefaultMaxConnsPerIP, negative means no limit.
	MaxConnsPerIP int

	ln         net.Listener
	adobe      adobeKey
	limitsOnce sync.Once
	limits     *ingest.ConnLimiter
	limitLog   *ingest.RateLog // refusals: a flood must not flood the logs too

	conns, publishers  atomic.Int64
	accepted, rejected atomic.Uint64
	authFailures, errs atomic.Uint64
	bytesIn, frames    atomic.Uint64
}

// Stats are the Server's counters, for the gateway's metrics.
type Stats struct {
	// Conns is the number of open connections.
	Conns int64
	// Publishers is the number of connections that are publishing.
	Publishers int64
	// Accepted counts accepted connections.
	Accepted uint64
	// Rejected counts connections refused by policy: over MaxConns, failed
	// authentication, busy path, bad path, play requests, no supported codec.
	Rejected uint64
	// AuthFailures counts failed authentications (they are also Rejected).
	AuthFailures uint64
	// Errors counts connections that ended with a protocol error, bad input,
	// a timeout or a panic.
	Errors uint64
	// BytesReceived counts bytes read from publishers.
	BytesReceived uint64
	// Frames counts frames handed to the Sink.
	Frames uint64
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Conns:         s.conns.Load(),
		Publishers:    s.publishers.Load(),
		Accepted:      s.accepted.Load(),
		Rejected:      s.rejected.Load(),
		AuthFailures:  s.authFailures.Load(),
		Errors:        s.errs.Load(),
		BytesReceived: s.bytesIn.Load(),
		Frames:        s.frames.Load(),
	}
}

// Listen binds Addr.
func (s *Server) Listen() error {
	if s.ln != nil {
		return errors.New("rtmp: Listen called twice")
	}
	ln := s.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.Addr); err != nil {
			return fmt.Errorf("rtmp listen %s: %w", s.Addr, err)
		}
	}
	if s.TLSConfig != nil {
		ln = tls.NewListener(ln, s.TLSConfig)
	}
	s.ln = ln
	return nil
}

// LocalAddr is the bound address, once Listen succeeded.
func (s *Server) LocalAddr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve accepts connections (after Listen, which it calls if needed) until
// ctx is done, then closes the listener and every connection and returns
// after all its goroutines ended. It returns nil after ctx is done and the
// accept error otherwise.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	ln := s.ln
	if s.Sink == nil {
		ln.Close()
		return errors.New("rtmp: Server.Sink is nil")
	}
	// Deferred in this order so that cancel runs first: it stops the
	// goroutines wg waits for.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
	})

	log := s.logger()
	delay := time.Duration(0)
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("rtmp: accept: %w", err)
			}
			// EMFILE, ECONNABORTED…: wait and try again.
			delay = min(max(2*delay, acceptDelayMin), acceptDelayMax)
			log.Warn("accept failed", "proto", proto, "err", err, "retry_in", delay)
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		delay = 0
		release, ok := s.admit(nc.RemoteAddr())
		if !ok {
			nc.Close()
			continue
		}
		s.accepted.Add(1)
		wg.Go(func() {
			defer s.conns.Add(-1)
			defer release()
			s.serveConn(ctx, nc)
		})
	}
}

// admit counts a new connection, or refuses it over MaxConns or
// MaxConnsPerIP.
func (s *Server) admit(remote net.Addr) (release func(), ok bool) {
	s.limitsOnce.Do(func() {
		s.limits = ingest.NewAddrLimiter(orDefaultInt(s.MaxConns, DefaultMaxConns), s.MaxConnsPerIP)
		s.limitLog = ingest.NewRateLog(s.logger(), slog.LevelWarn, "too many connections, refusing")
	})
	if release, ok := s.limits.Admit(remote); ok {
		s.conns.Add(1)
		return release, true
	}
	s.rejected.Add(1)
	s.limitLog.Log("proto", proto, "remote", remote.String(),
		"max_conns", orDefaultInt(s.MaxConns, DefaultMaxConns), "max_conns_per_ip", orDefaultInt(s.MaxConnsPerIP, ingest.DefaultMaxConnsPerIP))
	return nil, false
}

// orDefaultInt is v, or def when v is 0.
func orDefaultInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) readTimeout() time.Duration      { return orDefault(s.ReadTimeout) }
func (s *Server) writeTimeout() time.Duration     { return orDefault(s.WriteTimeout) }
func (s *Server) handshakeTimeout() time.Duration { return orDefault(s.HandshakeTimeout) }

func orDefault(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultTimeout
	}
	return d
}
