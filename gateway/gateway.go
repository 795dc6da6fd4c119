// Package gateway wires moq-gateway together: the ingest servers (RTMP,
// SRT, RTSP) feed the stream registry, which packages each publication and
// publishes it on the MoQ origin; the MoQ server serves the origin to
// subscribers, the relay set publishes it onward, and the HTTP listener
// serves status, metrics and health.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/rtmp"
	"github.com/moqgw/moq-gateway/ingest/rtsp"
	"github.com/moqgw/moq-gateway/ingest/srt"
	"github.com/moqgw/moq-gateway/internal/buildinfo"
	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/packager"
	"github.com/moqgw/moq-gateway/stream"
)

// ShutdownTimeout bounds the graceful close once Run's context ends.
const ShutdownTimeout = 5 * time.Second

// certValidity is the self-signed certificate's validity: under the 14 days
// browsers accept for serverCertificateHashes.
const certValidity = 13 * 24 * time.Hour

// Implementation is the gateway's MOQT_IMPLEMENTATION, before its version.
const Implementation = "moq-gateway"

// Gateway is the running set of servers.
type Gateway struct {
	cfg    config.Config
	log    *slog.Logger
	auth   *ingest.Auth
	origin *moq.Origin
	reg    *stream.Registry
	rtmp   []*rtmp.Server
	srt    *srt.Server
	rtsp   []*rtsp.Server
	moq    *moq.Server
	http   *http.Server
	httpLn net.Listener
	relays *relaySet
	hints  []hint
}

// listener is the shape every ingest and MoQ server has: bind at New (so a
// taken port fails start-up, not a half-running gateway), serve in Run.
type listener interface {
	Listen() error
	LocalAddr() net.Addr
	Serve(ctx context.Context) error
}

// New builds the gateway from a validated cfg and binds every listener.
func New(cfg config.Config, log *slog.Logger) (_ *Gateway, err error) {
	g := &Gateway{cfg: cfg, log: log, auth: ingest.NewAuth(authRules(cfg)), origin: moq.NewOrigin()}
	if g.auth.Tokens, err = tokenKeys(cfg.Tokens); err != nil {
		return nil, err
	}
	if cfg.AuthHook.URL != "" {
		g.auth.Hook = &ingest.AuthHook{URL: cfg.AuthHook.URL, Timeout: time.Duration(cfg.AuthHook.Timeout)}
		log.Info("publish and read are decided by the auth hook", "url", cfg.AuthHook.URL)
	}
	if g.auth.Open() {
		log.Warn("PUBLISHING IS OPEN: no streams are configured, so anyone who can reach the ingest ports may publish any path; add a 'streams' list with keys to restrict it")
	}
	for _, p := range openWildcards(cfg.Streams) {
		log.Warn("PUBLISHING IS OPEN below a path: a rule without key or password matches every path under it", "path", p)
	}
	cert, userCert, err := loadCert(cfg, log)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}}
	audio := moq.DeliveryStream
	if cfg.MoQ.AudioDelivery == "datagram" {
		audio = moq.DeliveryDatagram
	}
	g.reg = stream.New(stream.Config{
		Origin: g.origin,
		Auth:   g.auth,
		Packager: packager.Config{
			ExactDurations:        cfg.Packager.ExactDurations,
			ProducerReferenceTime: cfg.Packager.ProducerReferenceTime,
		},
		Grace:         time.Duration(cfg.Grace),
		AudioDelivery: audio,
		Logger:        log.With("component", "stream"),
	})
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	if !userCert && (cfg.RTMP.RTMPSListen != "" || cfg.RTSP.RTSPSListen != "") {
		// The self-signed MoQ certificate would fail every encoder's check.
		log.Info("RTMPS and RTSPS are off: they need tls.cert and tls.key")
	}
	listen := func(proto string, l listener, attrs ...any) error {
		if err := l.Listen(); err != nil {
			return err
		}
		log.Info("listening", append([]any{"proto", proto, "addr", l.LocalAddr().String()}, attrs...)...)
		return nil
	}
	if cfg.RTMP.Listen != "" {
		servers := []*rtmp.Server{{Addr: cfg.RTMP.Listen}}
		if userCert && cfg.RTMP.RTMPSListen != "" {
			servers = append(servers, &rtmp.Server{Addr: cfg.RTMP.RTMPSListen, TLSConfig: tlsConf})
		}
		for _, s := range servers {
			s.Sink, s.Auth, s.Logger, s.MaxConnsPerIP = g.reg, g.auth, log, cfg.RTMP.MaxConnsPerIP
			if err := listen("rtmp", s, "tls", s.TLSConfig != nil); err != nil {
				return nil, err
			}
			g.rtmp = append(g.rtmp, s)
		}
		g.hints = append(g.hints, hint{"publish", "rtmp", "ffmpeg -re -i IN -c copy -f flv rtmp://" + hostPort(servers[0].LocalAddr()) + "/live/NAME"})
	}
	if cfg.SRT.Listen != "" {
		g.srt = &srt.Server{
			Addr: cfg.SRT.Listen, Sink: g.reg, Auth: g.auth, Latency: time.Duration(cfg.SRT.Latency),
			MaxConnsPerIP: cfg.SRT.MaxConnsPerIP, Logger: log,
		}
		if err := listen("srt", g.srt); err != nil {
			return nil, fmt.Errorf("srt listen %s: %w", cfg.SRT.Listen, err)
		}
		g.hints = append(g.hints, hint{"publish", "srt", "ffmpeg -re -i IN -c copy -f mpegts 'srt://" + hostPort(g.srt.LocalAddr()) + "?streamid=publish:live/NAME'"})
	}
	if cfg.RTSP.Listen != "" {
		servers := []*rtsp.Server{{Addr: cfg.RTSP.Listen, UDPRTPAddr: cfg.RTSP.UDPRTP, UDPRTCPAddr: cfg.RTSP.UDPRTCP}}
		if userCert && cfg.RTSP.RTSPSListen != "" {
			servers = append(servers, &rtsp.Server{Addr: cfg.RTSP.RTSPSListen, TLSConfig: tlsConf})
		}
		for _, s := range servers {
			s.Sink, s.Auth, s.Logger, s.MaxConnsPerIP = g.reg, g.auth, log, cfg.RTSP.MaxConnsPerIP
			if err := listen("rtsp", s, "tls", s.TLSConfig != nil); err != nil {
				return nil, fmt.Errorf("rtsp listen %s: %w", s.Addr, err)
			}
			g.rtsp = append(g.rtsp, s)
		}
		g.hints = append(g.hints, hint{"publish", "rtsp", "ffmpeg -re -i IN -c copy -f rtsp -rtsp_transport tcp rtsp://" + hostPort(servers[0].LocalAddr()) + "/live/NAME"})
	}
	if cfg.MoQ.Listen != "" {
		g.moq = &moq.Server{
			Addr:             cfg.MoQ.Listen,
			Origin:           g.origin,
			TLSConfig:        tlsConf,
			WebTransportPath: cfg.MoQ.WebTransportPath,
			Session: moq.SessionConfig{
				Implementation: Implementation + "/" + buildinfo.Version(),
				Authorize:      g.authorize,
			},
			Logger:          log.With("component", "moq"),
			ShutdownTimeout: 2 * time.Second,
			Admit:           moqLimiter(cfg.MoQ.MaxConnsPerIP, log).Admit,
		}
		if err := g.moq.Listen(); err != nil {
			return nil, err
		}
		addr := g.moq.LocalAddr().String()
		log.Info("listening", "proto", "moq", "addr", addr,
			"quic", "moqt://"+addr, "webtransport", "https://"+addr+cfg.MoQ.WebTransportPath)
		insecure := ""
		if !userCert {
			insecure = " -insecure"
		}
		g.hints = append(g.hints, hint{"watch", "moq", "moq-gateway sub -url moqt://" + hostPort(g.moq.LocalAddr()) + " -namespace live/NAME" + insecure + " -stdout video | ffplay -"})
	}
	g.relays = newRelaySet(cfg, g.origin, log)
	if cfg.HTTP.Listen != "" {
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return nil, fmt.Errorf("http listen %s: %w", cfg.HTTP.Listen, err)
		}
		log.Info("listening", "proto", "http", "addr", ln.Addr().String())
		g.httpLn = ln
		g.http = &http.Server{Handler: g.statusHandler(), ReadHeaderTimeout: 5 * time.Second}
	}
	return g, nil
}

// Bounds on MoQ connections: in all, and from one address by default.
const (
	maxMoQConns          = 10000
	defaultMoQConnsPerIP = 256
)

// moqLimiter bounds the MoQ server's connections (perIP: 0 the default,
// -1 none) and logs its refusals, rate-limited.
func moqLimiter(perIP int, log *slog.Logger) *admitLog {
	if perIP == 0 {
		perIP = defaultMoQConnsPerIP
	}
	return &admitLog{l: ingest.NewAddrLimiter(maxMoQConns, perIP), log: ingest.NewRateLog(log, slog.LevelWarn, "moq: connection limit reached")}
}

// admitLog is a ConnLimiter whose refusals are logged.
type admitLog struct {
	l   *ingest.ConnLimiter
	log *ingest.RateLog
}

func (a *admitLog) Admit(remote net.Addr) (func(), bool) {
	release, ok := a.l.Admit(remote)
	if !ok {
		a.log.Log("remote", remote.String())
	}
	return release, ok
}

// close releases what New bound, for a gateway that will not Run.
func (g *Gateway) close() {
	for _, c := range g.closers() {
		c.Close()
	}
	g.reg.Close()
}

func (g *Gateway) closers() []io.Closer {
	var cs []io.Closer
	if g.httpLn != nil {
		cs = append(cs, g.httpLn)
	}
	if g.moq != nil && g.moq.PacketConn != nil {
		cs = append(cs, g.moq.PacketConn)
	}
	return cs
}

// Run serves until ctx is done or a server fails, then shuts down within
// ShutdownTimeout. The end of ctx is a normal end (nil).
func (g *Gateway) Run(ctx context.Context) error {
	eg, egCtx := errgroup.WithContext(ctx)
	var servers []listener
	for _, s := range g.rtmp {
		servers = append(servers, s)
	}
	if g.srt != nil {
		servers = append(servers, g.srt)
	}
	for _, s := range g.rtsp {
		servers = append(servers, s)
	}
	if g.moq != nil {
		servers = append(servers, g.moq)
	}
	for _, s := range servers {
		eg.Go(func() error { return s.Serve(egCtx) })
	}
	eg.Go(func() error { return g.relays.run(egCtx) })
	if g.http != nil {
		eg.Go(func() error {
			go func() {
				<-egCtx.Done()
				shut, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_ = g.http.Shutdown(shut)
			}()
			if err := g.http.Serve(g.httpLn); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	g.log.Info("moq-gateway running", "version", buildinfo.Version(), "streams_configured", len(g.cfg.Streams), "relays", len(g.cfg.Relays))
	for _, h := range g.hints {
		g.log.Info(h.what, "proto", h.proto, "try", h.cmd)
	}
	<-egCtx.Done()
	if ctx.Err() != nil {
		g.log.Info("shutting down", "deadline", ShutdownTimeout)
	}
	done := make(chan error, 1)
	go func() {
		err := eg.Wait()
		g.reg.Close()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil && ctx.Err() == nil {
			return err
		}
		g.log.Info("stopped")
		return nil
	case <-time.After(ShutdownTimeout):
		g.log.Warn("shutdown deadline passed; exiting with work still running")
		return nil
	}
}

func authRules(cfg config.Config) []ingest.PathRule {
	rules := make([]ingest.PathRule, 0, len(cfg.Streams))
	for _, s := range cfg.Streams {
		r := ingest.PathRule{
			Path: s.Path, User: s.User, Pass: s.Pass, Passphrase: s.Passphrase,
			Policy: ingest.Policy(s.Policy), Read: ingest.ReadPolicy(s.Read), ReadKey: s.ReadKey,
		}
		if s.Key != "" {
			r.Pass = s.Key
		}
		rules = append(rules, r)
	}
	return rules
}

// loadCert returns the configured certificate, or a self-signed one whose
// SHA-256 a browser can pin.
func loadCert(cfg config.Config, log *slog.Logger) (tls.Certificate, bool, error) {
	if cfg.TLS.Cert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
		if err != nil {
			return cert, false, fmt.Errorf("tls: %w", err)
		}
		return cert, true, nil
	}
	cert, hash, err := moq.SelfSignedCert(cfg.TLS.Hosts, certValidity)
	if err != nil {
		return cert, false, err
	}
	log.Info("generated a self-signed certificate for MoQ; browsers pin it with serverCertificateHashes",
		"sha256", moq.CertHash(hash), "hosts", cfg.TLS.Hosts, "valid_until", cert.Leaf.NotAfter.Format(time.RFC3339))
	return cert, false, nil
}

// openWildcards returns the wildcard rules that let anyone publish: no key,
// no password (an SRT passphrase alone leaves RTMP and RTSP open).
func openWildcards(rules []config.StreamRule) []string {
	var open []string
	for _, r := range rules {
		if r.Key == "" && r.Pass == "" && strings.HasSuffix(r.Path, "*") {
			open = append(open, r.Path)
		}
	}
	return open
}

// hint is a start-up line telling how to publish or watch.
type hint struct{ what, proto, cmd string }

// hostPort renders a listener's address for a command line: a wildcard
// listener as localhost.
func hostPort(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
