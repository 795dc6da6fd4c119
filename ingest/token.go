package ingest

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/moqgw/moq-gateway/config"
)

// ErrTokenExpired reports a well-signed token past its exp claim.
var ErrTokenExpired = errors.New("token expired")

// TokenKey is one key tokens may be signed with: an HS256 secret or an
// EdDSA (Ed25519) public key.
type TokenKey struct {
	Alg       string // "HS256" or "EdDSA"
	Secret    []byte
	PublicKey ed25519.PublicKey
}

// TokenKeys verifies JWTs in moq-dev's scheme (moq-token): claims `root`,
// `put` and `get` (a path or a list of paths beneath root, "" for all of
// root) and `exp`. Any configured key of the token's algorithm may have
// signed it.
type TokenKeys struct {
	keys []TokenKey
}

// NewTokenKeys checks keys.
func NewTokenKeys(keys []TokenKey) (*TokenKeys, error) {
	for i, k := range keys {
		switch {
		case k.Alg == "HS256" && len(k.Secret) < 16:
			return nil, fmt.Errorf("token key %d: an HS256 secret needs at least 16 bytes", i)
		case k.Alg == "EdDSA" && len(k.PublicKey) != ed25519.PublicKeySize:
			return nil, fmt.Errorf("token key %d: an EdDSA public key is %d bytes", i, ed25519.PublicKeySize)
		case k.Alg != "HS256" && k.Alg != "EdDSA":
			return nil, fmt.Errorf("token key %d: algorithm %q is not HS256 or EdDSA", i, k.Alg)
		}
	}
	return &TokenKeys{keys: keys}, nil
}

// Grant is what a verified token allows.
type Grant struct {
	Publish, Subscribe []string // clean paths; "" is every path
	Expires            time.Time
}

// tokenClaims are moq-token's claims.
type tokenClaims struct {
	Root      string    `json:"root,omitempty"`
	Publish   oneOrMany `json:"put,omitempty"`
	Subscribe oneOrMany `json:"get,omitempty"`
	jwt.RegisteredClaims
}

// oneOrMany reads a JSON string or array of strings, as moq-token writes
// either.
type oneOrMany []string

func (o *oneOrMany) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*o = nil // grants nothing, unlike "" (all of root)
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*o = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a path or a list of paths")
	}
	*o = many
	return nil
}

// maxTokenLen bounds a token before it is parsed.
const maxTokenLen = 8 << 10

// Verify checks raw's signature and expiry and returns its grant. A token
// without exp does not expire.
func (k *TokenKeys) Verify(raw string) (*Grant, error) {
	if k == nil || len(k.keys) == 0 {
		return nil, fmt.Errorf("%w: no token keys configured", ErrAuth)
	}
	if len(raw) > maxTokenLen {
		return nil, fmt.Errorf("%w: token longer than %d bytes", ErrAuth, maxTokenLen)
	}
	var c tokenClaims
	var lastErr error
	for _, key := range k.keys {
		c = tokenClaims{}
		_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) {
			if key.Alg == "HS256" {
				return key.Secret, nil
			}
			return key.PublicKey, nil
		}, jwt.WithValidMethods([]string{key.Alg}), jwt.WithLeeway(5*time.Second))
		switch {
		case err == nil:
			return c.grant()
		case errors.Is(err, jwt.ErrTokenExpired):
			return nil, ErrTokenExpired
		}
		lastErr = err
	}
	return nil, fmt.Errorf("%w: %w", ErrAuth, lastErr)
}

func (c *tokenClaims) grant() (*Grant, error) {
	g := &Grant{}
	if c.ExpiresAt != nil {
		g.Expires = c.ExpiresAt.Time
	}
	for _, set := range []struct {
		in  []string
		out *[]string
	}{{c.Publish, &g.Publish}, {c.Subscribe, &g.Subscribe}} {
		for _, p := range set.in {
			full := strings.Trim(strings.Trim(c.Root, "/")+"/"+strings.Trim(p, "/"), "/")
			if full != "" {
				clean, err := config.CleanPath(full)
				if err != nil {
					return nil, fmt.Errorf("%w: token path %q: %w", ErrAuth, full, err)
				}
				full = clean
			}
			*set.out = append(*set.out, full)
		}
	}
	return g, nil
}

// MayRead reports whether g lets its holder watch path.
func (g *Grant) MayRead(path string, now time.Time) bool {
	return g.live(now) && slices.ContainsFunc(g.Subscribe, func(p string) bool { return underPath(path, p) })
}

// MayPublish reports whether g lets its holder publish path.
func (g *Grant) MayPublish(path string, now time.Time) bool {
	return g.live(now) && slices.ContainsFunc(g.Publish, func(p string) bool { return underPath(path, p) })
}

func (g *Grant) live(now time.Time) bool { return g.Expires.IsZero() || now.Before(g.Expires) }

// underPath reports whether path is prefix or beneath it, segment by
// segment ("live" covers "live/cam1", not "lively").
func underPath(path, prefix string) bool {
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}
