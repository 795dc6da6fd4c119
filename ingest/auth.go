package ingest

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"
)

// ErrAuth reports rejected publish credentials. Its text is the stable log
// message that fail2ban-style tools match.
var ErrAuth = errors.New("authentication failed")

// Policy says what happens when a second publisher arrives on a busy path.
type Policy string

// Publisher policies.
const (
	// PolicyReplace lets the newest publisher win; the old one is closed.
	PolicyReplace Policy = "replace"
	// PolicyReject refuses newcomers while the path has a publisher.
	PolicyReject Policy = "reject"
)

// Credentials are what a publisher or subscriber presented. A bare stream
// key (RTMP "?key=", SRT "s=") is a Pass with an empty User; Tokens are a
// MoQ subscriber's. Proto and Remote tell the auth hook where they came
// from.
type Credentials struct {
	User, Pass    string
	Tokens        []string
	Proto, Remote string
}

// PathRule allows publishing on a path. Path is a clean stream path, "prefix/*"
// for every path below prefix, or "*" for all paths.
type PathRule struct {
	Path string
	// User and Pass, when Pass is set, must match what the publisher
	// presents; an empty User accepts any user name (stream-key style).
	User, Pass string
	// Passphrase is the SRT encryption passphrase required on this path.
	Passphrase string
	// Policy applies when a second publisher arrives; empty means replace.
	Policy Policy
	// Read is who may watch the path over MoQ; empty means ReadOpen.
	Read ReadPolicy
	// ReadKey is what ReadKey wants as the subscriber's token. It is not
	// the publish key: a viewer must not be able to publish.
	ReadKey string
}

// ReadPolicy says who may watch a path.
type ReadPolicy string

// Read policies.
const (
	// ReadOpen lets anyone watch.
	ReadOpen ReadPolicy = "open"
	// ReadWithKey wants the rule's ReadKey as the subscriber's token.
	ReadWithKey ReadPolicy = "key"
	// ReadToken wants a JWT whose get claim covers the path.
	ReadToken ReadPolicy = "token"
)

// Auth decides who may publish where, and who may watch. With no rules
// publishing and watching are open.
type Auth struct {
	rules []PathRule
	// Tokens verifies JWTs: a publisher may present one, with a put claim
	// covering its path, instead of a key; ReadToken paths require one.
	Tokens *TokenKeys
	// Hook, when set, decides every publish and read instead of the rules
	// (which still give policy, passphrase and relays).
	Hook *AuthHook
}

// NewAuth returns an Auth over rules, which are matched exact path first,
// then the longest "prefix/*", then "*".
func NewAuth(rules []PathRule) *Auth {
	return &Auth{rules: rules}
}

// Open reports whether any publisher may publish anywhere without credentials.
func (a *Auth) Open() bool { return a == nil || (len(a.rules) == 0 && a.Hook == nil) }

// Rule returns the rule governing path, if any.
func (a *Auth) Rule(path string) (PathRule, bool) {
	if a == nil {
		return PathRule{}, false
	}
	best, bestLen := -1, -1
	for i, r := range a.rules {
		n := matchLen(r.Path, path)
		if n > bestLen {
			best, bestLen = i, n
		}
	}
	if best < 0 {
		return PathRule{}, false
	}
	return a.rules[best], true
}

// matchLen ranks how specifically pattern matches path: -1 no match, else a
// larger number for a more specific pattern.
func matchLen(pattern, path string) int {
	switch {
	case pattern == path:
		return len(pattern) + 2 // exact beats any wildcard
	case pattern == "*":
		return 0
	case strings.HasSuffix(pattern, "/*"):
		prefix := pattern[:len(pattern)-1] // keep the slash
		if strings.HasPrefix(path, prefix) {
			return len(prefix)
		}
	}
	return -1
}

// CheckRead returns nil when a holder of c.Tokens (a subscriber's
// AUTHORIZATION_TOKEN or ?jwt= values) may watch path, else ErrAuth or
// ErrTokenExpired.
func (a *Auth) CheckRead(path string, c Credentials) error {
	if a != nil && a.Hook != nil {
		return a.Hook.Ask(context.Background(), HookRequest{Action: "read", Protocol: c.Proto, Path: path, Tokens: c.Tokens, Remote: c.Remote})
	}
	tokens := c.Tokens
	r, _ := a.Rule(path)
	switch r.Read {
	case "", ReadOpen:
		return nil
	case ReadWithKey:
		for _, t := range tokens {
			if r.ReadKey != "" && subtle.ConstantTimeCompare([]byte(r.ReadKey), []byte(t)) == 1 {
				return nil
			}
		}
		return ErrAuth
	}
	err := ErrAuth
	for _, t := range tokens {
		g, verr := a.Tokens.Verify(t)
		switch {
		case verr == nil && g.MayRead(path, time.Now()):
			return nil
		case errors.Is(verr, ErrTokenExpired):
			err = verr
		}
	}
	return err
}

// tokenMayPublish reports whether pass is a token whose put claim covers
// path.
func (a *Auth) tokenMayPublish(path, pass string) bool {
	if a.Tokens == nil || strings.Count(pass, ".") != 2 {
		return false
	}
	g, err := a.Tokens.Verify(pass)
	return err == nil && g.MayPublish(path, time.Now())
}

// CheckPublish returns nil when c may publish on path, else ErrAuth. A JWT
// as the password (or stream key) whose put claim covers path is accepted
// on any rule.
func (a *Auth) CheckPublish(path string, c Credentials) error {
	if a != nil && a.Hook != nil {
		return a.Hook.Ask(context.Background(), HookRequest{
			Action: "publish", Protocol: c.Proto, Path: path, User: c.User, Password: c.Pass, Remote: c.Remote,
		})
	}
	if a.Open() {
		return nil
	}
	if a.tokenMayPublish(path, c.Pass) {
		return nil
	}
	r, ok := a.Rule(path)
	if !ok {
		return ErrAuth
	}
	if r.Pass == "" {
		return nil
	}
	userOK := r.User == "" || subtle.ConstantTimeCompare([]byte(r.User), []byte(c.User)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(r.Pass), []byte(c.Pass)) == 1
	if !userOK || !passOK {
		return ErrAuth
	}
	return nil
}

// Passphrase returns the SRT passphrase required on path ("" for none).
func (a *Auth) Passphrase(path string) string {
	r, _ := a.Rule(path)
	return r.Passphrase
}

// Policy returns the publisher policy of path.
func (a *Auth) Policy(path string) Policy {
	r, _ := a.Rule(path)
	if r.Policy == "" {
		return PolicyReplace
	}
	return r.Policy
}
