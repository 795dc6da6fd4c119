package rtmp

import (
	"crypto/hmac"
	"crypto/md5" // Adobe authentication is defined over MD5
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
)

// Adobe authentication (authmod=adobe) is what OBS sends when "Use
// authentication" is ticked, and what ffmpeg sends for rtmp://user:pass@host/….
// Each step is a new TCP connection:
//
//  1. connect tcUrl=rtmp://h/app → _error "code=403 need auth; authmod=adobe"
//  2. connect …?authmod=adobe&user=U → _error "authmod=adobe
//     ?reason=needauth&user=U&salt=S&challenge=C&opaque=C"
//  3. connect …?authmod=adobe&user=U&challenge=CC&response=R → accepted, with
//     R = b64(md5(b64(md5(U+S+pass)) + C + CC)); clients that echo opaque
//     hash it in place of C, which is the same value here.
//
// The server keeps no state between the steps: S and C are HMACs of the user
// name (and, for C, of the current minute) under a key drawn once per Server,
// and a response is accepted for this minute and the previous one, so a
// captured response is useless two minutes later (gortmplib's own server uses
// a fixed challenge). The password depends on the stream path, which RTMP
// only names in the publish command after connect succeeded, so step 3 is
// accepted as it stands and its response is verified against the path's rule
// at publish.

// Descriptions of the connect _error replies; clients match them literally.
const (
	adobeNeedAuth   = "code=403 need auth; authmod=adobe"
	adobeAuthFailed = "authmod=adobe ?reason=authfailed"
)

// adobeParams are the tcUrl query parameters of an Adobe login.
var adobeParams = []string{"authmod", "user", "challenge", "response", "opaque"}

// adobeLogin is what a client sent in steps 2 and 3.
type adobeLogin struct {
	user, clientChallenge, response string
}

// complete reports whether the login is step 3.
func (l adobeLogin) complete() bool { return l.clientChallenge != "" && l.response != "" }

// parseAdobe returns the Adobe login in a connect's tcUrl query, if any.
func parseAdobe(query string) (adobeLogin, bool) {
	if !strings.Contains(query, "authmod") {
		return adobeLogin{}, false
	}
	q := make(map[string]string)
	parseQuery(query, q)
	if q["authmod"] != "adobe" {
		return adobeLogin{}, false
	}
	return adobeLogin{user: q["user"], clientChallenge: q["challenge"], response: q["response"]}, true
}

// adobeKey signs salts and challenges. The zero value draws its key on first
// use.
type adobeKey struct {
	once sync.Once
	key  [32]byte
}

func (a *adobeKey) mac(parts ...string) string {
	a.once.Do(func() { _, _ = rand.Read(a.key[:]) }) // never fails since Go 1.24
	h := hmac.New(sha256.New, a.key[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	// Hex: clients cut the description at '&' and '=', which base64 may hold.
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (a *adobeKey) salt(user string) string { return a.mac("salt", user) }

func (a *adobeKey) challenge(user string, minute int64) string {
	return a.mac("challenge", user, strconv.FormatInt(minute, 10))
}

// challengeDescription is the step-2 reply to user.
func (a *adobeKey) challengeDescription(user string, now time.Time) string {
	c := a.challenge(user, now.Unix()/60)
	return "authmod=adobe ?reason=needauth&user=" + user + "&salt=" + a.salt(user) +
		"&challenge=" + c + "&opaque=" + c
}

// verify reports whether a step-3 login proves knowledge of pass.
func (a *adobeKey) verify(l adobeLogin, pass string, now time.Time) bool {
	minute := now.Unix() / 60
	ok := 0
	for _, m := range []int64{minute, minute - 1} {
		want := adobeResponse(l.user, pass, a.salt(l.user), a.challenge(l.user, m), l.clientChallenge)
		ok |= subtle.ConstantTimeCompare([]byte(want), []byte(l.response))
	}
	return ok == 1
}

// adobeResponse is the client's step-3 response.
func adobeResponse(user, pass, salt, challenge, clientChallenge string) string {
	h1 := md5.Sum([]byte(user + salt + pass))
	s1 := base64.StdEncoding.EncodeToString(h1[:])
	h2 := md5.Sum([]byte(s1 + challenge + clientChallenge))
	return base64.StdEncoding.EncodeToString(h2[:])
}

// adobeCredentials turns a step-3 login into the credentials the path's rule
// is checked with: the rule's password when the response proves it, none
// otherwise (so CheckPublish fails unless the rule needs no password).
func (s *Server) adobeCredentials(l adobeLogin, path string, now time.Time) ingest.Credentials {
	r, ok := s.Auth.Rule(path)
	if !ok || r.Pass == "" || !s.adobe.verify(l, r.Pass, now) {
		return ingest.Credentials{User: l.user}
	}
	return ingest.Credentials{User: l.user, Pass: r.Pass}
}

// needsAdobe reports whether a connect that brings no credentials should be
// sent step 1. Adobe authentication happens at connect, before the publisher
// names its stream, so the decision rests on the rule that governs streams
// below the connect path: it must ask for a user name and password (stream
// key rules are served by ?key=). ffmpeg (FlashVer "… Lavf…") is never asked:
// without user:pass@ in its URL it gives up on the challenge, and ffmpeg users
// put ?user=&pass= into the stream name instead, which only arrives later.
func (s *Server) needsAdobe(connectPath, flashVer string) bool {
	if s.Auth.Open() || strings.Contains(flashVer, "Lavf") {
		return false
	}
	p, err := config.CleanPath(connectPath)
	if err != nil {
		return false
	}
	for _, probe := range []string{p, p + "/*"} {
		if r, ok := s.Auth.Rule(probe); ok && r.User != "" && r.Pass != "" {
			return true
		}
	}
	return false
}
