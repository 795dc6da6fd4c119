package moq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// alpnH3 is HTTP/3, which carries WebTransport.
const alpnH3 = "h3"

// DefaultWebTransportPath is where the server accepts WebTransport sessions.
const DefaultWebTransportPath = "/moq"

// Server serves MoQT sessions on one UDP port: raw QUIC with ALPN moqt-16
// (draft-16) or moq-00 (draft-14, version chosen in SETUP), and WebTransport
// over HTTP/3 at WebTransportPath (draft-16 when the client offers moqt-16
// in WT-Available-Protocols, else draft-14 in SETUP). Every session serves
// Origin's broadcasts and is announced each of them. Set the fields, then
// Listen (to fail start-up on a taken port) and Serve.
type Server struct {
	// Addr is the UDP address to listen on, e.g. ":4443".
	Addr string
	// PacketConn, when set, is served instead of a socket on Addr.
	PacketConn net.PacketConn
	Origin     *Origin
	// TLSConfig holds the certificate; the server sets NextProtos.
	TLSConfig *tls.Config
	// WebTransportPath defaults to DefaultWebTransportPath.
	WebTransportPath string
	// Session configures each accepted session.
	Session SessionConfig
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// QUICConfig overrides the QUIC settings (datagrams and partial reset
	// delivery are always enabled).
	QUICConfig *quic.Config
	// Admit, when set, is asked for each QUIC connection (raw QUIC or
	// WebTransport) once its handshake completed; false closes it at once,
	// and release runs when it ends (ingest.ConnLimiter.Admit fits).
	Admit func(remote net.Addr) (release func(), ok bool)
	// ShutdownTimeout bounds the graceful close of sessions (default 2 s).
	ShutdownTimeout time.Duration
	// Versions limits the drafts served (default 19, 18, 16 and 14): it
	// selects the ALPNs offered on raw QUIC and the WebTransport protocols.
	// A client that offers none of them fails with VERSION_NEGOTIATION_FAILED
	// (raw QUIC: the TLS handshake finds no common ALPN).
	Versions []wire.Version

	ownsConn bool // Listen opened PacketConn: Serve closes it
	mu       sync.Mutex
	sessions map[*Session]struct{}
	ended    SessionStats // summed over the sessions that ended
	stopping bool
	wg       sync.WaitGroup
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Listen binds Addr.
func (s *Server) Listen() error {
	if s.PacketConn != nil {
		return nil
	}
	pc, err := net.ListenPacket("udp", s.Addr)
	if err != nil {
		return fmt.Errorf("moq listen %s: %w", s.Addr, err)
	}
	s.PacketConn, s.ownsConn = pc, true
	return nil
}

// LocalAddr is the bound address, once Listen succeeded.
func (s *Server) LocalAddr() net.Addr {
	if s.PacketConn == nil {
		return nil
	}
	return s.PacketConn.LocalAddr()
}

// quicConfig returns the QUIC settings MoQT needs: DATAGRAM (draft-14 §3.1)
// and, for WebTransport, RESET_STREAM_AT.
func quicConfig(base *quic.Config) *quic.Config {
	var c *quic.Config
	if base != nil {
		c = base.Clone()
	} else {
		c = &quic.Config{
			MaxIdleTimeout:        30 * time.Second,
			KeepAlivePeriod:       10 * time.Second,
			MaxIncomingStreams:    1000,
			MaxIncomingUniStreams: 1000,
		}
	}
	c.EnableDatagrams = true
	c.EnableStreamResetPartialDelivery = true
	return c
}

// Serve accepts sessions (after Listen, which it calls if needed) until
// ctx is done, then closes every session gracefully (PUBLISH_DONE, GOAWAY
// where the peer allows it, NO_ERROR) within ShutdownTimeout and returns
// once all its goroutines have ended.
func (s *Server) Serve(ctx context.Context) error {
	if s.Origin == nil {
		return errors.New("moq: Server.Origin is nil")
	}
	if err := s.Listen(); err != nil {
		return err
	}
	pc := s.PacketConn
	if s.ownsConn {
		defer pc.Close()
	}
	versions, alpns, err := s.versions()
	if err != nil {
		return err
	}
	tlsConf := s.TLSConfig.Clone()
	tlsConf.NextProtos = append(slices.Clone(alpns), alpnH3)
	tr := &quic.Transport{Conn: pc}
	ln, err := tr.Listen(tlsConf, quicConfig(s.QUICConfig))
	if err != nil {
		return fmt.Errorf("moq listen: %w", err)
	}
	s.mu.Lock()
	s.sessions = make(map[*Session]struct{})
	s.stopping = false
	s.mu.Unlock()
	// Sessions outlive ctx until shutdown has closed them gracefully.
	sessCtx, endSessions := context.WithCancel(context.Background())
	defer endSessions()

	path := s.WebTransportPath
	if path == "" {
		path = DefaultWebTransportPath
	}
	mux := http.NewServeMux()
	wt := &webtransport.Server{
		H3: &http3.Server{
			Handler:   mux,
			TLSConfig: tlsConf,
			Logger:    s.logger(),
		},
		ApplicationProtocols: alpns,
		// Browsers from any page may connect: the gateway serves public
		// media, and the certificate hash pins the server.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	// PATH/TOKEN too: relays that take a token in the URL path (as
	// Cloudflare's do) have their clients dial that form.
	handle := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, h)
		mux.HandleFunc(strings.TrimSuffix(pattern, "/")+"/{token}", h)
	}
	handle(path, func(w http.ResponseWriter, r *http.Request) {
		ws, err := wt.Upgrade(w, r)
		if err != nil {
			s.logger().Warn("webtransport upgrade failed", "remote", r.RemoteAddr, "err", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		// No WT-Protocol means a client of a draft before -15, which
		// negotiates in SETUP (draft-16 §3.1).
		v, ok := wire.VersionForALPN(ws.SessionState().ApplicationProtocol)
		if !ok {
			v = wire.Draft14
		}
		if !slices.Contains(versions, v) {
			reason := fmt.Sprintf("client offered WebTransport protocols [%s], server supports %v",
				r.Header.Get("WT-Available-Protocols"), alpns)
			s.logger().Info("moq version negotiation failed", "remote", r.RemoteAddr, "reason", reason)
			ws.CloseWithError(webtransport.SessionErrorCode(wire.SessionVersionNegotiationFailed), reason)
			return
		}
		s.runSession(sessCtx, wtConn{ws}, v, r.URL.RequestURI(), r.PathValue("token"))
	})

	serveCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.wg.Go(func() {
		<-serveCtx.Done()
		ln.Close()
	})
	for {
		qc, err := ln.Accept(serveCtx)
		if err != nil {
			break
		}
		if s.Admit != nil {
			release, ok := s.Admit(qc.RemoteAddr())
			if !ok {
				_ = qc.CloseWithError(quic.ApplicationErrorCode(wire.SessionInternalError), "too many connections from this address")
				continue
			}
			context.AfterFunc(qc.Context(), release)
		}
		alpn := qc.ConnectionState().TLS.NegotiatedProtocol
		if v, ok := wire.VersionForALPN(alpn); ok {
			s.wg.Go(func() { s.runSession(sessCtx, quicConn{qc}, v, "", "") })
			continue
		}
		switch alpn {
		case alpnH3:
			s.wg.Go(func() {
				if err := wt.ServeQUICConn(qc); err != nil && !errors.Is(err, http.ErrServerClosed) {
					s.logger().Debug("http/3 connection ended", "remote", qc.RemoteAddr(), "err", err)
				}
			})
		default:
			_ = qc.CloseWithError(quic.ApplicationErrorCode(wire.SessionProtocolViolation), "unsupported ALPN")
		}
	}
	s.mu.Lock()
	s.stopping = true // refuse sessions that finish their handshake now
	s.mu.Unlock()
	s.shutdown()
	endSessions() // what the graceful close left
	wt.Close()
	s.wg.Wait()
	tr.Close()
	return nil
}

// versions returns the drafts served and their ALPNs, most preferred first.
func (s *Server) versions() ([]wire.Version, []string, error) {
	versions := s.Versions
	if len(versions) == 0 {
		versions = []wire.Version{wire.Draft19, wire.Draft18, wire.Draft16, wire.Draft14}
	}
	alpns := make([]string, 0, len(versions))
	for _, v := range versions {
		a := v.ALPN()
		if a == "" {
			return nil, nil, fmt.Errorf("moq: Server.Versions: %v is not supported", v)
		}
		alpns = append(alpns, a)
	}
	return versions, alpns, nil
}

// runSession runs one session to its end. It recovers from panics so a bug
// triggered by one peer closes only that peer's session.
func (s *Server) runSession(ctx context.Context, c conn, v wire.Version, path, pathToken string) {
	sess := newSession(c, false, v, s.Origin, s.Session, s.logger())
	sess.path, sess.pathToken = path, pathToken
	defer func() {
		if p := recover(); p != nil {
			s.logger().Error("moq session panic", "remote", c.RemoteAddr(), "panic", p, "stack", string(debug.Stack()))
			c.CloseWithError(uint64(wire.SessionInternalError), "internal error")
		}
	}()
	s.mu.Lock()
	if s.sessions == nil || s.stopping {
		s.mu.Unlock()
		c.CloseWithError(uint64(wire.SessionNoError), "server shutting down")
		return
	}
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	defer func() {
		st := sess.Stats()
		s.mu.Lock()
		delete(s.sessions, sess)
		s.ended.add(st)
		s.mu.Unlock()
	}()
	sess.run(ctx)
}

// Totals sums the counters of every session served so far, ended or not
// (Subscriptions counts the live ones), for monotonic metrics.
func (s *Server) Totals() SessionStats {
	s.mu.Lock()
	t := s.ended
	live := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		live = append(live, sess)
	}
	s.mu.Unlock()
	t.Subscriptions = 0
	for _, sess := range live {
		t.add(sess.Stats())
	}
	return t
}

// shutdown closes every session gracefully in parallel.
func (s *Server) shutdown() {
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	s.mu.Lock()
	sessions := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, sess := range sessions {
		wg.Go(func() { sess.CloseGracefully(timeout) })
	}
	wg.Wait()
}

// Sessions returns the sessions currently served.
func (s *Server) Sessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		out = append(out, sess)
	}
	return out
}
