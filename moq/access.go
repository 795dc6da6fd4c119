package moq

import (
	"errors"
	"net/url"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// Credentials are what a peer presented when its session began.
type Credentials struct {
	// Tokens are the values of CLIENT_SETUP's AUTHORIZATION_TOKEN
	// parameters (USE_VALUE tokens, draft-14 §9.2.1.1), of the jwt query
	// parameter of the URL it dialed (moq-dev) and of a segment after the
	// WebTransport path (Cloudflare's /PATH/TOKEN).
	Tokens []string
	// Path is the path and query the peer dialed: the WebTransport
	// request's, or a raw QUIC client's PATH.
	Path string
	// Remote is the peer's address.
	Remote string
}

// ReadAccess decides whether a session may see and read the broadcasts of
// ns; tokens are a request's own AUTHORIZATION_TOKEN values, if it carried
// any, beside the session's. An error wrapping ErrTokenExpired is answered
// with EXPIRED_AUTH_TOKEN, any other with UNAUTHORIZED.
type ReadAccess func(ns Namespace, tokens []string) error

// ErrTokenExpired marks a refusal for an expired token.
var ErrTokenExpired = errors.New("moq: authorization token expired")

// credentials gathers a server session's Credentials from its CLIENT_SETUP
// tokens and path.
func (s *Session) credentials(setupTokens [][]byte) Credentials {
	c := Credentials{Path: s.path, Remote: s.c.RemoteAddr().String()}
	c.Tokens = tokenValues(setupTokens)
	if len(c.Tokens) > maxSessionTokens {
		c.Tokens = c.Tokens[:maxSessionTokens]
	}
	if u, err := url.Parse(s.path); err == nil {
		for _, t := range u.Query()["jwt"] {
			if t != "" {
				c.Tokens = append(c.Tokens, t)
			}
		}
	}
	if s.pathToken != "" {
		c.Tokens = append(c.Tokens, s.pathToken)
	}
	return c
}

// maxSessionTokens bounds the CLIENT_SETUP tokens a session's checks try:
// each check verifies each of them.
const maxSessionTokens = 8

// tokenValues returns the values of USE_VALUE tokens; others are skipped
// (aliases are not kept: MAX_AUTH_TOKEN_CACHE_SIZE is 0).
func tokenValues(raw [][]byte) []string {
	var out []string
	for _, b := range raw {
		if t, err := wire.ParseToken(b); err == nil && t.AliasType == wire.TokenUseValue {
			out = append(out, string(t.Value))
		}
	}
	return out
}

// mayRead applies the session's ReadAccess to ns, with a request's tokens.
func (s *Session) mayRead(ns Namespace, requestTokens [][]byte) error {
	if s.read == nil {
		return nil
	}
	return s.read(ns, tokenValues(requestTokens))
}

// readTrack resolves the track a request names once mayRead allows the
// namespace it names and, when that is below a broadcast, the broadcast's
// own. It returns nil and no error for a track that does not exist.
func (s *Session) readTrack(ns wire.Namespace, name string, tokens [][]byte) (*Track, error) {
	if err := s.mayRead(Namespace(ns), tokens); err != nil {
		return nil, err
	}
	t := s.resolveTrack(ns, name)
	if t == nil {
		return nil, nil
	}
	if bns := t.Broadcast().Namespace(); !bns.Equal(Namespace(ns)) {
		if err := s.mayRead(bns, tokens); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// refuseRead answers, in version v's layout, a request that mayRead
// refused.
func (s *Session) refuseRead(v wire.Version, kind wire.RequestKind, id uint64, ns Namespace, err error) error {
	code := wire.RequestUnauthorized
	if errors.Is(err, ErrTokenExpired) {
		code = wire.RequestExpiredAuthToken
	}
	return s.refuseAs(v, kind, id, code, "not authorized to read %s: %v", ns, err)
}
