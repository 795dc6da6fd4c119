// Package rtsp is the RTSP ingest adapter: a gortsplib server that accepts
// publishers (ANNOUNCE/RECORD over TCP-interleaved and UDP transport, RTSPS
// when a certificate is configured), authenticates them, depacketizes
// H.264, H.265, AAC and Opus, derives the DTS RTP does not carry and hands
// the streams to an ingest.Sink. It serves no readers: DESCRIBE and PLAY are
// answered 501 Not Implemented.
//
// gortsplib types stay inside this package.
package rtsp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/auth"

	"github.com/moqgw/moq-gateway/ingest"
)

// Defaults for the zero values of Server's fields.
const (
	// DefaultAddr is the registered RTSP port (8554 rather than 554, which
	// needs privileges; MediaMTX's default too).
	DefaultAddr = ":8554"
	// DefaultTimeout bounds reads and writes, as in MediaMTX and the other
	// adapters.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxConns bounds concurrent TCP connections.
	DefaultMaxConns = 1000
)

// Server accepts RTSP publishers. Set the exported fields, then call Listen
// (optional) and Serve.
type Server struct {
	// Addr is the TCP address for RTSP (RTSPS when TLSConfig is set);
	// empty means DefaultAddr.
	Addr string
	// UDPRTPAddr and UDPRTCPAddr enable the UDP transport, e.g. ":8000"
	// and ":8001"; the RTP port must be even and the RTCP port the next
	// one. Empty means TCP-interleaved transport only.
	UDPRTPAddr, UDPRTCPAddr string
	// TLSConfig, when set, makes the server RTSPS only (SRTP on the UDP
	// ports).
	TLSConfig *tls.Config
	// Sink receives the publications.
	Sink ingest.Sink
	// Auth checks publish credentials; nil lets everyone publish.
	Auth *ingest.Auth
	// Logger receives the adapter's logs; nil discards them.
	Logger *slog.Logger
	// ReadTimeout and WriteTimeout bound each read and write; a RECORD
	// session that receives no packets for ReadTimeout ends. 0 means
	// DefaultTimeout.
	ReadTimeout, WriteTimeout time.Duration
	// MaxConns bounds concurrent connections; 0 means DefaultMaxConns.
	MaxConns int
	// MaxConnsPerIP bounds concurrent connections from one IP address, so
	// that one client cannot hold every slot; 0 means
	// ingest.DefaultMaxConnsPerIP, negative means no bound beyond MaxConns.
	MaxConnsPerIP int

	log       *slog.Logger
	ln        *limitListener
	rtp, rtcp net.PacketConn
	// Rate-limited logs of events anyone can cause at will.
	connErrs, playback *ingest.RateLog

	stats counters
}

// Stats are cumulative counters of a Server, except Conns.
type Stats struct {
	// Conns is the number of open TCP connections.
	Conns int
	// RefusedConns counts connections closed at once for the limits.
	RefusedConns uint64
	// AuthFailures counts ANNOUNCEs with wrong credentials.
	AuthFailures uint64
	// Published counts sessions that became publications.
	Published uint64
	// Frames counts frames handed to the sink.
	Frames uint64
	// Bytes counts the RTP packets received for publications (header and
	// payload).
	Bytes uint64
	// DecodeErrors counts packets or frames lost to undecodable input.
	DecodeErrors uint64
	// LostPackets counts RTP packets missing from sequence numbers.
	LostPackets uint64
	// ConnErrors counts connections that ended on a protocol error.
	ConnErrors uint64
}

type counters struct {
	authFailures, published, frames atomic.Uint64
	bytes                           atomic.Uint64
	decodeErrors, lostPackets       atomic.Uint64
	connErrors                      atomic.Uint64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	st := Stats{
		AuthFailures: s.stats.authFailures.Load(),
		Published:    s.stats.published.Load(),
		Frames:       s.stats.frames.Load(),
		Bytes:        s.stats.bytes.Load(),
		DecodeErrors: s.stats.decodeErrors.Load(),
		LostPackets:  s.stats.lostPackets.Load(),
		ConnErrors:   s.stats.connErrors.Load(),
	}
	if s.ln != nil {
		st.Conns, st.RefusedConns = s.ln.stats()
	}
	return st
}

// Listen binds the TCP listener and, when configured, the UDP ports. Serve
// calls it when it has not been called.
func (s *Server) Listen() (err error) {
	if s.ln != nil {
		return errors.New("rtsp: already listening")
	}
	s.log = s.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("proto", "rtsp")
	s.connErrs = ingest.NewRateLog(s.log, slog.LevelInfo, "rtsp: connection closed on error")
	s.playback = ingest.NewRateLog(s.log, slog.LevelInfo, "rtsp: refusing playback, the gateway only ingests")
	if (s.UDPRTPAddr == "") != (s.UDPRTCPAddr == "") {
		return errors.New("rtsp: set both UDP RTP and RTCP addresses, or neither")
	}
	addr := s.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("rtsp listen %s: %w", addr, err)
	}
	defer func() {
		if err != nil {
			tcp.Close()
			for _, pc := range []net.PacketConn{s.rtp, s.rtcp} {
				if pc != nil {
					pc.Close()
				}
			}
			s.rtp, s.rtcp = nil, nil
		}
	}()
	if s.UDPRTPAddr != "" {
		if s.rtp, err = net.ListenPacket("udp", s.UDPRTPAddr); err != nil {
			return fmt.Errorf("rtsp listen RTP %s: %w", s.UDPRTPAddr, err)
		}
		if s.rtcp, err = net.ListenPacket("udp", s.UDPRTCPAddr); err != nil {
			return fmt.Errorf("rtsp listen RTCP %s: %w", s.UDPRTCPAddr, err)
		}
		rtpPort, rtcpPort := port(s.rtp.LocalAddr()), port(s.rtcp.LocalAddr())
		// RFC 3550 §11: RTP on an even port, RTCP on the next.
		if rtpPort%2 != 0 || rtcpPort != rtpPort+1 {
			return fmt.Errorf("rtsp: RTP port %d must be even and RTCP port %d the next one", rtpPort, rtcpPort)
		}
	}
	maxConns := s.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	s.ln = &limitListener{
		Listener: tcp, limits: ingest.NewAddrLimiter(maxConns, s.MaxConnsPerIP), idle: timeout(s.ReadTimeout),
		log: ingest.NewRateLog(s.log, slog.LevelWarn, "rtsp: connection limit reached"),
	}
	return nil
}

func port(a net.Addr) int {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.Port
	}
	return 0
}

// LocalAddr is the bound TCP address, nil before Listen.
func (s *Server) LocalAddr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve accepts publishers until ctx is done, then closes every connection
// and session and returns once all of their goroutines have ended. It
// returns nil after ctx is done and an error when the server fails.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	if s.Sink == nil {
		s.closeSockets()
		return errors.New("rtsp: no sink")
	}
	h := &handler{s: s, ctx: ctx, sessions: make(map[*gortsplib.ServerSession]*session)}
	var methods []auth.VerifyMethod
	if s.Auth != nil && (s.Auth.Hook != nil || s.Auth.Tokens != nil) {
		// The hook, or a JWT as the password, needs the password itself,
		// which Digest never sends.
		methods = []auth.VerifyMethod{auth.VerifyMethodBasic}
	}
	srv := &gortsplib.Server{
		AuthMethods:  methods,
		Handler:      h,
		RTSPAddress:  s.ln.Addr().String(),
		ReadTimeout:  timeout(s.ReadTimeout),
		WriteTimeout: timeout(s.WriteTimeout),
		TLSConfig:    s.TLSConfig,
		// The sockets are bound in Listen; gortsplib gets them here.
		Listen: func(string, string) (net.Listener, error) { return s.ln, nil },
		ListenPacket: func(_, address string) (net.PacketConn, error) {
			switch {
			case s.rtp != nil && address == s.rtp.LocalAddr().String():
				return s.rtp, nil
			case s.rtcp != nil && address == s.rtcp.LocalAddr().String():
				return s.rtcp, nil
			}
			return nil, fmt.Errorf("no bound UDP socket for %s", address)
		},
	}
	if s.rtp != nil {
		srv.UDPRTPAddress = s.rtp.LocalAddr().String()
		srv.UDPRTCPAddress = s.rtcp.LocalAddr().String()
	}
	if err := srv.Start(); err != nil {
		s.closeSockets()
		return fmt.Errorf("rtsp start: %w", err)
	}
	s.log.Info("rtsp: listening", "addr", s.ln.Addr().String(), "udp", srv.UDPRTPAddress, "tls", s.TLSConfig != nil)

	// srv.Wait returns when the server fails or after srv.Close.
	var waitErr error
	stopped := make(chan struct{})
	go func() {
		waitErr = srv.Wait()
		close(stopped)
	}()
	var err error
	select {
	case <-ctx.Done():
		srv.Close()
		<-stopped
	case <-stopped:
		err = fmt.Errorf("rtsp: %w", waitErr)
	}
	h.wg.Wait()
	return err
}

// proto names the server's protocol for the auth hook.
func (s *Server) proto() string {
	if s.TLSConfig != nil {
		return "rtsps"
	}
	return "rtsp"
}

// closeSockets releases what Listen bound when Serve cannot start.
func (s *Server) closeSockets() {
	s.ln.Close()
	for _, pc := range []net.PacketConn{s.rtp, s.rtcp} {
		if pc != nil {
			pc.Close()
		}
	}
}

// limitListener closes connections beyond the limits as soon as they are
// accepted (RTSP has no cheaper way to refuse), and closes a connection
// that sends nothing for idle — a request left unfinished too.
type limitListener struct {
	net.Listener
	limits *ingest.ConnLimiter
	idle   time.Duration
	log    *ingest.RateLog
}

// Accept implements net.Listener.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, ok := l.limits.Admit(c.RemoteAddr())
		if !ok {
			l.log.Log("remote", c.RemoteAddr().String())
			c.Close()
			continue
		}
		return &limitConn{Conn: c, release: release, idle: l.idle}, nil
	}
}

func (l *limitListener) stats() (open int, refused uint64) { return l.limits.Stats() }

type limitConn struct {
	net.Conn
	release    func()
	idle       time.Duration
	publishing atomic.Bool // RECORD accepted: no idle bound
}

// Read implements net.Conn: until the connection publishes, each read waits
// at most idle, whatever deadline the RTSP library set (it sets none
// between requests).
func (c *limitConn) Read(b []byte) (int, error) {
	if c.idle > 0 && !c.publishing.Load() {
		_ = c.SetReadDeadline(time.Now().Add(c.idle))
	}
	return c.Conn.Read(b)
}

// startPublishing lifts the idle bound, also from the read under way.
func (c *limitConn) startPublishing() {
	c.publishing.Store(true)
	_ = c.SetReadDeadline(time.Time{})
}

// Close implements net.Conn.
func (c *limitConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// timeout is d, or DefaultTimeout when d is not positive.
func timeout(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return DefaultTimeout
}
