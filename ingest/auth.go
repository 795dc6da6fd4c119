package ingest

import (
	"crypto/subtle"
	"errors"
	"strings"
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

// Credentials are what a publisher presented. A bare stream key (RTMP
// "?key=", SRT "s=") is a Pass with an empty User.
type Credentials struct {
	User, Pass string
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
}

// Auth decides who may publish where. With no rules publishing is open.
type Auth struct {
	rules []PathRule
}

// NewAuth returns an Auth over rules, which are matched exact path first,
// then the longest "prefix/*", then "*".
func NewAuth(rules []PathRule) *Auth {
	return &Auth{rules: rules}
}

// Open reports whether any publisher may publish anywhere without credentials.
func (a *Auth) Open() bool { return a == nil || len(a.rules) == 0 }

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

// CheckPublish returns nil when c may publish on path, else ErrAuth.
func (a *Auth) CheckPublish(path string, c Credentials) error {
	if a.Open() {
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
