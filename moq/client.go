package moq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// DialOptions configure Dial.
type DialOptions struct {
	// Origin holds the broadcasts this session publishes to the peer (nil
	// for a pure subscriber).
	Origin *Origin
	// Session tunes the session.
	Session SessionConfig
	// Versions are the drafts offered, most preferred first (default
	// draft-16 then draft-14).
	Versions []wire.Version
	// TLSConfig verifies the server (nil: system roots); NextProtos is set
	// by Dial.
	TLSConfig  *tls.Config
	QUICConfig *quic.Config
	// DialQUIC opens the QUIC connection of a moqt:// URL (default
	// quic.DialAddr); relays plug Happy Eyeballs in here.
	DialQUIC func(ctx context.Context, addr string, tlsConf *tls.Config, qconf *quic.Config) (*quic.Conn, error)
	Logger   *slog.Logger
	// Secret is text of the URL, such as a token in a path segment, that
	// Dial's logs and errors must not show.
	Secret string
}

// Dial opens a MoQT session to rawURL: moqt://host:port[/path] over raw
// QUIC (ALPNs moqt-19, moqt-18, moqt-16 and/or moq-00, PATH from the URL)
// or https://host:port/path over WebTransport (WT-Available-Protocols
// moqt-19, moqt-18 and moqt-16, else draft-14 in SETUP), the newest
// preferred. The returned session runs until Close or until
// the peer ends it; Version reports the negotiated draft. A peer that speaks
// none of the offered versions yields an error matching
// ErrVersionNegotiation that names both sides' offers where known.
func Dial(ctx context.Context, rawURL string, opts DialOptions) (*Session, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("moq dial: %w", err)
	}
	versions := opts.Versions
	if len(versions) == 0 {
		versions = []wire.Version{wire.Draft19, wire.Draft18, wire.Draft16, wire.Draft14}
	}
	alpns := make([]string, 0, len(versions))
	for _, v := range versions {
		if a := v.ALPN(); a != "" {
			alpns = append(alpns, a)
		}
	}
	if len(alpns) == 0 {
		return nil, fmt.Errorf("moq dial: no supported version in %s", versionList(versions))
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	tlsConf := &tls.Config{}
	if opts.TLSConfig != nil {
		tlsConf = opts.TLSConfig.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = u.Hostname()
	}
	qconf := quicConfig(opts.QUICConfig)
	// draft-16 §3.1.2: a moqt:// URI without a port means 443, as https:// does.
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}

	var (
		c conn
		v wire.Version
	)
	switch u.Scheme {
	case "moqt":
		tlsConf.NextProtos = alpns
		dial := opts.DialQUIC
		if dial == nil {
			dial = quic.DialAddr
		}
		qc, err := dial(ctx, addr, tlsConf, qconf)
		if err != nil {
			return nil, dialError(err, alpns)
		}
		v, _ = wire.VersionForALPN(qc.ConnectionState().TLS.NegotiatedProtocol)
		c = quicConn{qc}
	case "https":
		tlsConf.NextProtos = []string{alpnH3}
		tr := &webtransport.Transport{TLSClientConfig: tlsConf, QUICConfig: qconf, ApplicationProtocols: alpns}
		if opts.DialQUIC != nil {
			tr.DialAddr = opts.DialQUIC
		}
		wtURL := *u
		wtURL.Host = addr
		rsp, ws, err := tr.Dial(ctx, wtURL.String(), http.Header{})
		if rne, ok := errors.AsType[*webtransport.RequirementsNotMetError](err); ok && strings.Contains(rne.Message, "partial delivery") {
			// webtransport-go v0.13.0 refuses servers without RESET_STREAM_AT
			// (quinn-based ones: moq-rs, moq-dev relays), which serve raw
			// QUIC on the same port.
			raw := *u
			raw.Scheme = "moqt"
			log.Warn("the server's WebTransport lacks RESET_STREAM_AT, which webtransport-go requires: using raw QUIC on the same port",
				"url", redactURL(&raw, opts.Secret))
			return Dial(ctx, raw.String(), opts)
		}
		if err != nil {
			if rsp != nil {
				return nil, fmt.Errorf("moq dial %s: HTTP %d: %w", redactURL(u, opts.Secret), rsp.StatusCode, err)
			}
			return nil, dialError(err, alpns)
		}
		switch p := ws.SessionState().ApplicationProtocol; p {
		case wire.ALPNDraft16, wire.ALPNDraft18, wire.ALPNDraft19:
			v, _ = wire.VersionForALPN(p)
		default: // moq-00, or no WT-Protocol: draft-14 negotiates in SETUP
			if !containsVersion(versions, wire.Draft14) {
				ws.CloseWithError(webtransport.SessionErrorCode(wire.SessionVersionNegotiationFailed), "no common version")
				return nil, &SessionError{
					Code:   wire.SessionVersionNegotiationFailed,
					Reason: fmt.Sprintf("we offered %v over WebTransport; the server chose %s", alpns, wtChoice(p)),
				}
			}
			v = wire.Draft14
		}
		c = wtConn{ws}
	default:
		return nil, fmt.Errorf("moq dial: scheme %q is not moqt or https", u.Scheme)
	}

	s := newSession(c, true, v, opts.Origin, opts.Session, log)
	if u.Scheme == "moqt" {
		s.path = u.EscapedPath()
		if u.RawQuery != "" {
			s.path += "?" + u.RawQuery
		}
		s.authority = u.Host
	}
	if err := s.setup(ctx); err != nil {
		s.fail(err)
		return nil, err
	}
	s.start()
	s.log.Info("moq session established", "url", redactURL(u, opts.Secret), "peer_impl", s.peerImpl)
	return s, nil
}

// redactURL hides what may carry a token from logs: the query (?jwt=),
// a password, and secret wherever it appears (a token as a path segment).
func redactURL(u *url.URL, secret string) string {
	r := *u
	if r.RawQuery != "" {
		r.RawQuery = "…"
	}
	return hideSecret(r.Redacted(), secret)
}

// hideSecret replaces secret, as is and as escaped in a URL path or query,
// in s.
func hideSecret(s, secret string) string {
	if secret == "" {
		return s
	}
	for _, form := range []string{secret, url.PathEscape(secret), url.QueryEscape(secret)} {
		s = strings.ReplaceAll(s, form, "…")
	}
	return s
}

// wtChoice describes the WT-Protocol a server selected.
func wtChoice(p string) string {
	if p == "" {
		return "no WT-Protocol, which means draft-14 in SETUP"
	}
	return fmt.Sprintf("%q", p)
}

// dialError names the versions offered when the handshake failed for lack
// of a common ALPN (TLS no_application_protocol, QUIC CRYPTO_ERROR 0x178).
func dialError(err error, alpns []string) error {
	var te *quic.TransportError
	if errors.As(err, &te) && te.ErrorCode == 0x100+120 {
		return &SessionError{
			Code:   wire.SessionVersionNegotiationFailed,
			Reason: fmt.Sprintf("server supports none of the offered protocols %v (QUIC does not say which it has): %v", alpns, err),
			Remote: true,
		}
	}
	return fmt.Errorf("moq dial: %w", err)
}
