package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
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

// shutdownTimeout bounds the graceful close after SIGINT/SIGTERM.
const shutdownTimeout = 5 * time.Second

// certValidity is the self-signed certificate's validity: under the 14 days
// browsers accept for serverCertificateHashes.
const certValidity = 13 * 24 * time.Hour

func runServe(ctx context.Context, args, environ []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("moq-gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML configuration file")
	logFormat := fs.String("log-format", "", "log format: text or json")
	logLevel := fs.String("log-level", "", "log level: debug, info, warn, error")
	rtmpAddr := fs.String("rtmp", "", "RTMP listen address (\"off\" disables)")
	srtAddr := fs.String("srt", "", "SRT listen address (\"off\" disables)")
	rtspAddr := fs.String("rtsp", "", "RTSP listen address (\"off\" disables)")
	moqAddr := fs.String("moq", "", "MoQ UDP listen address, raw QUIC and WebTransport (\"off\" disables)")
	httpAddr := fs.String("http", "", "status, metrics and health listen address (\"off\" disables)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: moq-gateway [flags]\n       moq-gateway sub -h\n       moq-gateway version\n\nflags:")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nEvery configuration key can also be set with %s<KEY_PATH> environment variables, e.g. MOQGW_RTMP_LISTEN.\n", config.EnvPrefix)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	// Problems of the file, the environment and the result are reported
	// together, so one run shows everything to fix.
	cfg, loadErr := config.Load(*cfgPath, environ)
	override := map[string]*string{}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "log-format":
			override["format"] = &cfg.Log.Format
		case "log-level":
			override["level"] = &cfg.Log.Level
		case "rtmp":
			override["rtmp"] = &cfg.RTMP.Listen
		case "srt":
			override["srt"] = &cfg.SRT.Listen
		case "rtsp":
			override["rtsp"] = &cfg.RTSP.Listen
		case "moq":
			override["moq"] = &cfg.MoQ.Listen
		case "http":
			override["http"] = &cfg.HTTP.Listen
		}
	})
	for name, dst := range override {
		v := map[string]string{
			"format": *logFormat, "level": *logLevel, "rtmp": *rtmpAddr, "srt": *srtAddr,
			"rtsp": *rtspAddr, "moq": *moqAddr, "http": *httpAddr,
		}[name]
		if v == "off" {
			v = ""
		}
		*dst = v
	}
	if err := errors.Join(loadErr, cfg.Validate()); err != nil {
		return usageError{fmt.Errorf("invalid configuration:\n%w", err)}
	}
	log := cfg.Log.NewLogger(stderr)
	return serve(ctx, cfg, log)
}

// gateway is the running set of servers.
type gateway struct {
	cfg    config.Config
	log    *slog.Logger
	auth   *ingest.Auth
	origin *moq.Origin
	reg    *stream.Registry
	rtmp   *rtmp.Server
	srt    *srt.Server
	rtsp   []*rtsp.Server
	moq    *moq.Server
	relays *relaySet
}

func authRules(cfg config.Config) []ingest.PathRule {
	rules := make([]ingest.PathRule, 0, len(cfg.Streams))
	for _, s := range cfg.Streams {
		r := ingest.PathRule{Path: s.Path, User: s.User, Pass: s.Pass, Passphrase: s.Passphrase, Policy: ingest.Policy(s.Policy)}
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

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	g := &gateway{cfg: cfg, log: log, auth: ingest.NewAuth(authRules(cfg)), origin: moq.NewOrigin()}
	if g.auth.Open() {
		log.Warn("PUBLISHING IS OPEN: no streams are configured, so anyone who can reach the ingest ports may publish any path; add a 'streams' list with keys to restrict it")
	}
	for _, p := range openWildcards(cfg.Streams) {
		log.Warn("PUBLISHING IS OPEN below a path: a rule without key or password matches every path under it", "path", p)
	}
	cert, userCert, err := loadCert(cfg, log)
	if err != nil {
		return err
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

	// Bind every listener before serving, so a port conflict fails start-up
	// with a clear error instead of leaving a half-running gateway.
	var (
		tasks   []func(context.Context) error
		hints   []hint
		closers []io.Closer
	)
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	listenTCP := func(name, addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s listen %s: %w", name, addr, err)
		}
		closers = append(closers, ln)
		log.Info("listening", "proto", name, "addr", ln.Addr().String())
		return ln, nil
	}
	if !userCert && (cfg.RTMP.RTMPSListen != "" || cfg.RTSP.RTSPSListen != "") {
		// The self-signed MoQ certificate would fail every encoder's check.
		log.Info("RTMPS and RTSPS are off: they need tls.cert and tls.key")
	}
	if cfg.RTMP.Listen != "" {
		g.rtmp = &rtmp.Server{Sink: g.reg, Auth: g.auth, Logger: log, MaxConnsPerIP: cfg.RTMP.MaxConnsPerIP}
		ln, err := listenTCP("rtmp", cfg.RTMP.Listen)
		if err != nil {
			return err
		}
		hints = append(hints, hint{"publish", "rtmp", "ffmpeg -re -i IN -c copy -f flv rtmp://" + hostPort(ln.Addr()) + "/live/NAME"})
		tasks = append(tasks, func(ctx context.Context) error { return g.rtmp.Serve(ctx, ln) })
		if userCert && cfg.RTMP.RTMPSListen != "" {
			lns, err := listenTCP("rtmps", cfg.RTMP.RTMPSListen)
			if err != nil {
				return err
			}
			tasks = append(tasks, func(ctx context.Context) error { return g.rtmp.ServeTLS(ctx, lns, tlsConf) })
		}
	}
	if cfg.SRT.Listen != "" {
		g.srt = &srt.Server{Addr: cfg.SRT.Listen, Sink: g.reg, Auth: g.auth, Latency: time.Duration(cfg.SRT.Latency), Logger: log}
		if err := g.srt.Listen(); err != nil {
			return fmt.Errorf("srt listen %s: %w", cfg.SRT.Listen, err)
		}
		log.Info("listening", "proto", "srt", "addr", g.srt.LocalAddr().String())
		hints = append(hints, hint{"publish", "srt", "ffmpeg -re -i IN -c copy -f mpegts 'srt://" + hostPort(g.srt.LocalAddr()) + "?streamid=publish:live/NAME'"})
		tasks = append(tasks, g.srt.Serve)
	}
	if cfg.RTSP.Listen != "" {
		servers := []*rtsp.Server{{
			Addr: cfg.RTSP.Listen, UDPRTPAddr: cfg.RTSP.UDPRTP, UDPRTCPAddr: cfg.RTSP.UDPRTCP,
			Sink: g.reg, Auth: g.auth, Logger: log, MaxConnsPerIP: cfg.RTSP.MaxConnsPerIP,
		}}
		if userCert && cfg.RTSP.RTSPSListen != "" {
			servers = append(servers, &rtsp.Server{
				Addr: cfg.RTSP.RTSPSListen, TLSConfig: tlsConf,
				Sink: g.reg, Auth: g.auth, Logger: log, MaxConnsPerIP: cfg.RTSP.MaxConnsPerIP,
			})
		}
		for _, s := range servers {
			if err := s.Listen(); err != nil {
				return fmt.Errorf("rtsp listen %s: %w", s.Addr, err)
			}
			log.Info("listening", "proto", "rtsp", "addr", s.LocalAddr().String(), "tls", s.TLSConfig != nil)
			if s.TLSConfig == nil {
				hints = append(hints, hint{"publish", "rtsp", "ffmpeg -re -i IN -c copy -f rtsp -rtsp_transport tcp rtsp://" + hostPort(s.LocalAddr()) + "/live/NAME"})
			}
			tasks = append(tasks, s.Serve)
		}
		g.rtsp = servers
	}
	if cfg.MoQ.Listen != "" {
		pc, err := net.ListenPacket("udp", cfg.MoQ.Listen)
		if err != nil {
			return fmt.Errorf("moq listen %s: %w", cfg.MoQ.Listen, err)
		}
		closers = append(closers, pc)
		g.moq = &moq.Server{
			Origin:           g.origin,
			TLSConfig:        tlsConf,
			WebTransportPath: cfg.MoQ.WebTransportPath,
			Session:          moq.SessionConfig{Implementation: implementation + "/" + buildinfo.Version()},
			Logger:           log.With("component", "moq"),
			ShutdownTimeout:  2 * time.Second,
		}
		log.Info("listening", "proto", "moq", "addr", pc.LocalAddr().String(),
			"quic", "moqt://"+pc.LocalAddr().String(), "webtransport", "https://"+pc.LocalAddr().String()+cfg.MoQ.WebTransportPath)
		insecure := ""
		if !userCert {
			insecure = " -insecure"
		}
		hints = append(hints, hint{"watch", "moq", "moq-gateway sub -url moqt://" + hostPort(pc.LocalAddr()) + " -namespace live/NAME" + insecure + " -stdout video | ffplay -"})
		tasks = append(tasks, func(ctx context.Context) error { return g.moq.Serve(ctx, pc) })
	}
	g.relays = newRelaySet(cfg, g.origin, log)
	tasks = append(tasks, g.relays.run)
	if cfg.HTTP.Listen != "" {
		ln, err := listenTCP("http", cfg.HTTP.Listen)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: g.statusHandler(), ReadHeaderTimeout: 5 * time.Second}
		tasks = append(tasks, func(ctx context.Context) error {
			go func() {
				<-ctx.Done()
				shut, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_ = srv.Shutdown(shut)
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}

	eg, egCtx := errgroup.WithContext(ctx)
	for _, t := range tasks {
		eg.Go(func() error { return t(egCtx) })
	}
	log.Info("moq-gateway running", "version", buildinfo.Version(), "streams_configured", len(cfg.Streams), "relays", len(cfg.Relays))
	for _, h := range hints {
		log.Info(h.what, "proto", h.proto, "try", h.cmd)
	}
	<-egCtx.Done()
	if ctx.Err() != nil {
		log.Info("shutting down", "deadline", shutdownTimeout)
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
		log.Info("stopped")
		return nil
	case <-time.After(shutdownTimeout):
		log.Warn("shutdown deadline passed; exiting with work still running")
		return nil
	}
}

// implementation is our MOQT_IMPLEMENTATION.
const implementation = "moq-gateway"

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
