package rtsp

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"

	"github.com/moqgw/moq-gateway/ingest"
)

// errNoCredentials asks the client for credentials: RTSP clients send them
// only after a 401 with a WWW-Authenticate challenge.
var errNoCredentials = errors.New("credentials required")

// nonceUser is a placeholder user name: gortsplib creates the connection's
// digest nonce inside VerifyCredentials, and only for a non-empty user, so
// the first 401 challenge needs one call before any credentials exist.
const nonceUser = "-"

// presented is what an Authorization header carries.
type presented struct {
	digest bool
	user   string
	pass   string // Basic only; Digest carries a hash
}

// parseAuthorization reads an Authorization header; ok is false when it is
// missing or malformed, or a digest names no user.
func parseAuthorization(v base.HeaderValue) (presented, bool) {
	if len(v) != 1 {
		return presented{}, false
	}
	// Basic is decoded here: gortsplib refuses a password containing ':',
	// which RFC 7617 §2 allows (only the user-id cannot contain one).
	if enc, ok := strings.CutPrefix(v[0], "Basic "); ok {
		dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil {
			return presented{}, false
		}
		user, pass, ok := strings.Cut(string(dec), ":")
		if !ok {
			return presented{}, false
		}
		return presented{user: user, pass: pass}, true
	}
	var a headers.Authorization
	if err := a.Unmarshal(v); err != nil || a.Method != headers.AuthMethodDigest || a.Username == "" {
		return presented{}, false
	}
	return presented{digest: true, user: a.Username}, true
}

// authorize decides whether req, an ANNOUNCE, may publish on path. It
// returns nil, errNoCredentials (answer 401 with a challenge) or
// ingest.ErrAuth (wrong credentials). Basic credentials go to
// ingest.Auth.CheckPublish as they are. Digest ones (old clients; ffmpeg
// picks digest when offered) are verified against the path's configured
// password and then passed to CheckPublish, which still checks the user.
func authorize(a *ingest.Auth, conn *gortsplib.ServerConn, req *base.Request, path, proto string) error {
	from := ingest.Credentials{Proto: proto, Remote: conn.NetConn().RemoteAddr().String()}
	if a.CheckPublish(path, from) == nil {
		return nil
	}
	p, ok := parseAuthorization(req.Header["Authorization"])
	if !ok {
		conn.VerifyCredentials(req, nonceUser, "")
		return errNoCredentials
	}
	creds := from
	creds.User, creds.Pass = p.user, p.pass
	if p.digest {
		rule, _ := a.Rule(path)
		if !conn.VerifyCredentials(req, p.user, rule.Pass) {
			return ingest.ErrAuth
		}
		creds.Pass = rule.Pass
	}
	return a.CheckPublish(path, creds)
}
