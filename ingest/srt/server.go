// Package srt is the SRT ingest adapter: a gosrt listener that accepts
// callers publishing MPEG-TS (H.264, H.265, AAC, Opus), checks their stream
// ID, credentials and per-path passphrase during the handshake, demuxes the
// TS (program tables with mediacommon, PES assembly here, in linear time)
// and hands the streams to an ingest.Sink.
//
// gosrt and mediacommon types stay inside this package.
package srt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	srt "github.com/datarhei/gosrt"

	"github.com/moqgw/moq-gateway/ingest"
)

// Defaults for the zero values of Server's fields.
const (
	// DefaultAddr is the port MediaMTX and most SRT guides use.
	DefaultAddr = ":8890"
	// DefaultReadTimeout matches the 10 s read timeout of MediaMTX and the
	// other adapters.
	DefaultReadTimeout = 10 * time.Second
	// DefaultMaxConns bounds concurrent publishers; each costs a few
	// goroutines and up to a GOP of buffers.
	DefaultMaxConns = 1000
)

// Passphrase limits of SRT encryption (SRTO_PASSPHRASE: 10..79 bytes).
const (
	minPassphraseLen = 10
	maxPassphraseLen = 79
)

// Server accepts SRT publishers. Set the exported fields, then call Listen
// (optional) and Serve.
type Server struct {
	// Addr is the UDP address to listen on; empty means DefaultAddr.
	Addr string
	// Sink receives the publications.
	Sink ingest.Sink
	// Auth checks stream-ID credentials and supplies per-path passphrases;
	// nil accepts every publisher unencrypted.
	Auth *ingest.Auth
	// Logger receives the adapter's logs; nil discards them.
	Logger *slog.Logger
	// Latency is the SRT receiver latency (TSBPD delay) the listener
	// offers; the larger of both sides' values is used. 0 means gosrt's
	// 120 ms.
	Latency time.Duration
	// ReadTimeout closes a connection that delivers no data for this long
	// (SRT keepalives alone keep a connection open forever otherwise);
	// 0 means DefaultReadTimeout.
	ReadTimeout time.Duration
	// MaxConns bounds concurrent connections; 0 means DefaultMaxConns.
	MaxConns int
	// MaxConnsPerIP bounds concurrent connections from one IP address,
	// and with it the rate of new ones (ingest.NewAddrLimiter); 0 means
	// ingest.DefaultMaxConnsPerIP, negative no bound beyond MaxConns.
	MaxConnsPerIP int

	ln  srt.Listener
	log *slog.Logger
	wg  sync.WaitGroup

	limits *ingest.ConnLimiter

	stats counters
}

// Stats are cumulative counters of a Server, except Conns.
type Stats struct {
	// Conns is the number of open connections.
	Conns int
	// Accepted and Rejected count handshakes.
	Accepted, Rejected uint64
	// AuthFailures counts handshakes rejected for credentials or
	// passphrase (a subset of Rejected).
	AuthFailures uint64
	// Published counts connections that became publications.
	Published uint64
	// Bytes counts TS bytes received; Frames counts frames handed to the
	// sink.
	Bytes, Frames uint64
	// DecodeErrors counts corrupt input the demuxer skipped, each costing
	// at most the frame it belonged to.
	DecodeErrors uint64
	// LostPackets counts TS packets missing from continuity counters.
	LostPackets uint64
}

type counters struct {
	accepted, rejected, authFailures, published atomic.Uint64
	bytes, frames, decodeErrors, lostPackets    atomic.Uint64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	conns := 0
	if s.limits != nil {
		conns, _ = s.limits.Stats()
	}
	return Stats{
		Conns:        conns,
		Accepted:     s.stats.accepted.Load(),
		Rejected:     s.stats.rejected.Load(),
		AuthFailures: s.stats.authFailures.Load(),
		Published:    s.stats.published.Load(),
		Bytes:        s.stats.bytes.Load(),
		Frames:       s.stats.frames.Load(),
		DecodeErrors: s.stats.decodeErrors.Load(),
		LostPackets:  s.stats.lostPackets.Load(),
	}
}

// Listen binds the UDP socket. Serve calls it when it has not been called.
func (s *Server) Listen() error {
	if s.ln != nil {
		return errors.New("srt: already listening")
	}
	s.log = s.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("proto", "srt")
	addr := s.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	cfg := srt.DefaultConfig()
	if s.Latency > 0 {
		cfg.Latency = s.Latency
	}
	cfg.PeerIdleTimeout = s.readTimeout()
	ln, err := srt.Listen("srt", addr, cfg)
	if err != nil {
		return fmt.Errorf("srt listen %s: %w", addr, err)
	}
	s.ln = ln
	maxConns := s.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	s.limits = ingest.NewAddrLimiter(maxConns, s.MaxConnsPerIP)
	return nil
}

// LocalAddr is the bound UDP address, nil before Listen.
func (s *Server) LocalAddr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve accepts publishers until ctx is done, then closes the listener and
// every connection and returns once all of its goroutines have ended. It
// returns nil after ctx is done and an error when the listener fails.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	if s.Sink == nil {
		s.ln.Close()
		return errors.New("srt: no sink")
	}
	s.log.Info("srt: listening", "addr", s.ln.Addr().String())
	stop := context.AfterFunc(ctx, s.ln.Close)
	defer stop()
	for {
		req, err := s.ln.Accept2()
		if err != nil {
			s.ln.Close()
			s.wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("srt accept: %w", err)
		}
		// Limits first: a flood from one address costs no parsing or auth.
		release, ok := s.limits.Admit(req.RemoteAddr())
		if !ok {
			s.reject(req, srt.REJX_OVERLOAD, s.log.With("remote", req.RemoteAddr().String()), "srt: connection limit reached", nil)
			continue
		}
		// Off the accept loop: the auth hook may take its timeout to
		// answer, and other callers must not wait for it.
		s.wg.Go(func() { s.handshake(ctx, req, release) })
	}
}

func (s *Server) readTimeout() time.Duration {
	if s.ReadTimeout > 0 {
		return s.ReadTimeout
	}
	return DefaultReadTimeout
}

// handshake decides on a connection request the limits admitted, and
// serves it: stream ID, credentials and passphrase are all checked before
// the caller is accepted, so a refused caller gets an SRT rejection code
// and no stream exists. release frees the request's slot.
func (s *Server) handshake(ctx context.Context, req srt.ConnRequest, release func()) {
	remote := req.RemoteAddr().String()
	log := s.log.With("remote", remote)
	admitted := false
	defer func() {
		if !admitted {
			release()
		}
	}()

	id, err := parseStreamID(req.StreamId())
	if err != nil {
		code := srt.REJX_BAD_REQUEST
		if errors.Is(err, ErrNotPublish) {
			code = srt.REJX_BAD_MODE
		}
		s.reject(req, code, log, "srt: bad stream id", err)
		return
	}
	log = log.With("path", id.Path)

	creds := id.Creds
	creds.Proto, creds.Remote = "srt", req.RemoteAddr().String()
	if err := s.Auth.CheckPublish(id.Path, creds); err != nil {
		s.stats.authFailures.Add(1)
		s.reject(req, srt.REJX_UNAUTHORIZED, log, ingest.ErrAuth.Error(), errors.New("credentials"))
		return
	}
	if code, reason := s.checkPassphrase(req, id.Path); code != 0 {
		if code == srt.REJX_ISE {
			s.reject(req, code, log, "srt: misconfigured passphrase", reason)
			return
		}
		s.stats.authFailures.Add(1)
		s.reject(req, code, log, ingest.ErrAuth.Error(), reason)
		return
	}

	conn, err := req.Accept()
	if err != nil {
		s.stats.rejected.Add(1)
		log.Warn("srt: accept failed", "error", err)
		return
	}
	s.stats.accepted.Add(1)
	admitted = true
	defer release()
	s.serveConn(ctx, conn, id.Path, log)
}

// checkPassphrase applies the path's passphrase. A path with one refuses
// unencrypted callers and wrong passphrases. A path without one refuses
// encrypted callers too: their payload could not be decrypted, and
// accepting them would only turn a configuration mismatch into a silent,
// undecodable stream.
func (s *Server) checkPassphrase(req srt.ConnRequest, path string) (srt.RejectionReason, error) {
	pp := s.Auth.Passphrase(path)
	switch {
	case pp == "" && req.IsEncrypted():
		return srt.REJ_UNSECURE, errors.New("caller encrypts but the path has no passphrase")
	case pp == "":
		return 0, nil
	case len(pp) < minPassphraseLen || len(pp) > maxPassphraseLen:
		return srt.REJX_ISE, fmt.Errorf("passphrase of the path is %d bytes, SRT needs %d..%d", len(pp), minPassphraseLen, maxPassphraseLen)
	case !req.IsEncrypted():
		return srt.REJ_UNSECURE, errors.New("passphrase missing")
	}
	if err := req.SetPassphrase(pp); err != nil {
		return srt.REJ_BADSECRET, errors.New("wrong passphrase")
	}
	return 0, nil
}

func (s *Server) reject(req srt.ConnRequest, code srt.RejectionReason, log *slog.Logger, msg string, reason error) {
	s.stats.rejected.Add(1)
	if reason != nil {
		log.Warn(msg, "reason", reason.Error(), "code", int(code))
	} else {
		log.Warn(msg, "code", int(code))
	}
	req.Reject(code)
}
