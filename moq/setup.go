package moq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// setup opens (client) or accepts (server) the control stream and exchanges
// CLIENT_SETUP and SERVER_SETUP (draft-14 §3.3 and §9.3; draft-16 §9.3).
// Under ALPN moq-00 the version is chosen from the client's list; a list
// without draft-14 ends the session with VERSION_NEGOTIATION_FAILED and a
// reason naming both sides' versions.
func (s *Session) setup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SetupTimeout)
	defer cancel()
	if s.version.RequestStreams() {
		if err := s.setup18(ctx); err != nil {
			return s.remoteCause(setupCause(ctx, err))
		}
		return nil
	}

	var (
		ctrl stream
		err  error
	)
	if s.isClient {
		ctrl, err = s.c.OpenStreamSync(ctx)
	} else {
		ctrl, err = s.c.AcceptStream(ctx)
	}
	if err != nil {
		return s.remoteCause(fmt.Errorf("control stream: %w", setupCause(ctx, err)))
	}
	s.ctrl, s.ctrlW, s.ctrlIn = ctrl, ctrl, ctrl
	// The SETUP exchange reads under the same deadline.
	stop := context.AfterFunc(ctx, func() { ctrl.SetReadDeadline(time.Now()) })
	defer stop()
	s.ctrlR = bufio.NewReaderSize(s.ctrl, 4096)
	if s.isClient {
		err = s.clientSetup(ctx)
	} else {
		err = s.serverSetup(ctx)
	}
	if err != nil {
		return s.remoteCause(setupCause(ctx, err))
	}
	s.ctrl.SetReadDeadline(time.Time{})
	return nil
}

// remoteCause turns an error caused by the transport closing (the peer's
// VERSION_NEGOTIATION_FAILED, say) into that *SessionError.
func (s *Session) remoteCause(err error) error {
	if _, ok := errors.AsType[*SessionError](err); ok {
		return err
	}
	if se, ok := s.closeCause(err); ok {
		return se
	}
	return err
}

// closeCause is the *SessionError behind an I/O error of a closed
// transport. The transport's own close cause comes first: an I/O error may
// show only a consequence (webtransport-go closes the QUIC connection with
// H3_NO_ERROR once the peer closed the session with its code).
func (s *Session) closeCause(err error) (*SessionError, bool) {
	if s.c.Context().Err() != nil {
		if se, ok := closeError(s.c.CloseCause()); ok {
			return se, true
		}
	}
	return closeError(err)
}

// setupCause prefers the timeout over the I/O error it caused.
func setupCause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("setup timed out: %w", err)
	}
	return err
}

func (s *Session) localSetupParams() wire.SetupParams {
	p := wire.SetupParams{
		MaxRequestID:   s.ids.advertised(),
		Implementation: s.cfg.Implementation,
	}
	if len(s.cfg.AuthorizationToken) > 0 && s.isClient {
		p.AuthorizationTokens = [][]byte{tokenValue(s.cfg.AuthorizationToken)}
	}
	return p
}

func (s *Session) serverSetup(context.Context) error {
	m, err := wire.ReadControl(s.ctrlR, s.version)
	if err != nil {
		return fmt.Errorf("read CLIENT_SETUP: %w", err)
	}
	cs, ok := m.(*wire.ClientSetup)
	if !ok {
		return sessionErrorf(wire.SessionProtocolViolation, "first message is %T, not CLIENT_SETUP", m)
	}
	if s.version == wire.Draft14 && !containsVersion(cs.Versions, wire.Draft14) {
		return sessionErrorf(wire.SessionVersionNegotiationFailed,
			"client offered %s, server supports %s", versionList(cs.Versions), versionList(supportedVersions))
	}
	if err := s.checkClientSetup(cs.Params); err != nil {
		return err
	}
	s.peerImpl = cs.Params.Implementation
	if s.version == wire.Draft14 && (isMoqRS(s.peerImpl) || moqRS14Setup(cs.Params)) {
		s.setMoqRS()
	}
	s.ids.setPeerMax(cs.Params.MaxRequestID)
	return s.writeControl(&wire.ServerSetup{SelectedVersion: s.version, Params: s.localSetupParams()})
}

// checkClientSetup applies a client's setup parameters: PATH and AUTHORITY
// only over raw QUIC (draft-16 §9.3.1.1-2, draft-18 §10.3), tokens, and
// the session's read access.
func (s *Session) checkClientSetup(p wire.SetupParams) error {
	if s.c.Transport() == "webtransport" && p.Path != nil {
		return sessionErrorf(wire.SessionInvalidPath, "PATH parameter over WebTransport")
	}
	if s.c.Transport() == "webtransport" && p.Authority != nil {
		return sessionErrorf(wire.SessionInvalidAuthority, "AUTHORITY parameter over WebTransport")
	}
	if p.Path != nil {
		// draft-16 §9.3.1.1: path-abempty ["?" query] of a moqt:// URI.
		if path := *p.Path; path != "" && path[0] != '/' && path[0] != '?' {
			return sessionErrorf(wire.SessionMalformedPath, "PATH %q does not start with /", path)
		}
		s.path = *p.Path
	}
	if s.version != wire.Draft14 {
		if err := checkSetupTokens(p.AuthorizationTokens); err != nil {
			return err
		}
	}
	if s.cfg.Authorize != nil {
		read, err := s.cfg.Authorize(s.credentials(p.AuthorizationTokens))
		if err != nil {
			return sessionErrorf(wire.SessionUnauthorized, "%v", err)
		}
		s.read = read
	}
	return nil
}

func (s *Session) clientSetup(context.Context) error {
	p := s.localSetupParams()
	if s.c.Transport() == "quic" {
		// draft-16 §9.3.1.1-2: PATH and AUTHORITY carry the moqt:// URI.
		path, authority := s.path, s.authority
		p.Path = &path
		if authority != "" {
			p.Authority = &authority
		}
	}
	cs := &wire.ClientSetup{Params: p}
	if s.version == wire.Draft14 {
		cs.Versions = supportedVersions
	}
	if err := s.writeControl(cs); err != nil {
		return err
	}
	m, err := wire.ReadControl(s.ctrlR, s.version)
	if err != nil {
		return fmt.Errorf("read SERVER_SETUP: %w", err)
	}
	ss, ok := m.(*wire.ServerSetup)
	if !ok {
		return sessionErrorf(wire.SessionProtocolViolation, "first message is %T, not SERVER_SETUP", m)
	}
	if s.version == wire.Draft14 && ss.SelectedVersion != wire.Draft14 {
		return sessionErrorf(wire.SessionVersionNegotiationFailed,
			"server selected %s, client offered %s", ss.SelectedVersion, versionList(supportedVersions))
	}
	// draft-14 §9.3.2.1-2, draft-16 §9.3.1.1-2: only a client sends these.
	if ss.Params.Path != nil {
		return sessionErrorf(wire.SessionInvalidPath, "SERVER_SETUP carries PATH")
	}
	if ss.Params.Authority != nil {
		return sessionErrorf(wire.SessionInvalidAuthority, "SERVER_SETUP carries AUTHORITY")
	}
	s.peerImpl = ss.Params.Implementation
	if s.version == wire.Draft14 && (isMoqRS(s.peerImpl) || moqRS14Setup(ss.Params)) {
		s.setMoqRS()
	}
	s.ids.setPeerMax(ss.Params.MaxRequestID)
	return nil
}

// checkSetupTokens refuses the token alias types CLIENT_SETUP may not use
// (draft-16 §9.3.1.3: DELETE and USE_ALIAS are a PROTOCOL_VIOLATION there,
// since no alias can exist yet).
func checkSetupTokens(tokens [][]byte) error {
	for _, b := range tokens {
		t, err := wire.ParseToken(b)
		if err != nil {
			return sessionErrorf(wire.SessionMalformedAuthToken, "CLIENT_SETUP: %v", err)
		}
		if t.AliasType == wire.TokenDelete || t.AliasType == wire.TokenUseAlias {
			return sessionErrorf(wire.SessionProtocolViolation, "CLIENT_SETUP token with alias type %d", t.AliasType)
		}
	}
	return nil
}

// tokenValue wraps a token as an AUTHORIZATION_TOKEN of alias type
// USE_VALUE with token type 0 (draft-14 §9.2.1.1).
func tokenValue(tok []byte) []byte {
	b := []byte{byte(wire.TokenUseValue), 0}
	return append(b, tok...)
}

// closeError is the *SessionError an application close of the QUIC
// connection or WebTransport session carries, if err is one. Under
// WebTransport a peer may close the QUIC connection itself with H3_NO_ERROR
// instead of the session: that is a close without error, as is
// webtransport-go's report of it on the CONNECT stream (v0.13.0 labels any
// end of that stream H3_DATAGRAM_ERROR, with the underlying error as text).
func closeError(err error) (*SessionError, bool) {
	if ae, ok := errors.AsType[*quic.ApplicationError](err); ok {
		code := wire.SessionErrorCode(ae.ErrorCode)
		if ae.ErrorCode == quic.ApplicationErrorCode(http3.ErrCodeNoError) {
			code = wire.SessionNoError
		}
		return &SessionError{Code: code, Reason: ae.ErrorMessage, Remote: ae.Remote}, true
	}
	if he, ok := errors.AsType[*http3.Error](err); ok && he.ErrorCode == http3.ErrCodeDatagramError && he.ErrorMessage == "H3_NO_ERROR" {
		return &SessionError{Code: wire.SessionNoError, Reason: "connection closed", Remote: true}, true
	}
	if se, ok := errors.AsType[*webtransport.SessionError](err); ok {
		return &SessionError{Code: wire.SessionErrorCode(se.ErrorCode), Reason: se.Message, Remote: se.Remote}, true
	}
	return nil, false
}
