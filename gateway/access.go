package gateway

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/moq"
)

// tokenKeys loads the JWT keys of cfg.
func tokenKeys(cfg []config.TokenKey) (*ingest.TokenKeys, error) {
	if len(cfg) == 0 {
		return nil, nil
	}
	keys := make([]ingest.TokenKey, 0, len(cfg))
	for i, k := range cfg {
		key := ingest.TokenKey{Alg: k.Alg}
		var err error
		switch k.Alg {
		case "HS256":
			key.Secret = []byte(k.Secret)
			if k.SecretFile != "" {
				var b []byte
				b, err = os.ReadFile(k.SecretFile)
				key.Secret = []byte(strings.TrimSpace(string(b)))
			}
		case "EdDSA":
			key.PublicKey, err = ed25519Key(k)
		}
		if err != nil {
			return nil, fmt.Errorf("tokens[%d]: %w", i, err)
		}
		keys = append(keys, key)
	}
	return ingest.NewTokenKeys(keys)
}

// ed25519Key reads an EdDSA key: base64 of its 32 bytes, or a PEM file.
func ed25519Key(k config.TokenKey) (ed25519.PublicKey, error) {
	if k.PublicKeyFile == "" {
		s := strings.TrimRight(strings.TrimSpace(k.PublicKey), "=")
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(s)
		}
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, errors.New("public_key: want base64 of a 32-byte Ed25519 key")
		}
		return b, nil
	}
	b, err := os.ReadFile(k.PublicKeyFile)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", k.PublicKeyFile)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.PublicKeyFile, err)
	}
	ed, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T, not an Ed25519 key", k.PublicKeyFile, pub)
	}
	return ed, nil
}

// authorize is the MoQ server's SessionConfig.Authorize: a session reads
// what the path rules (or the auth hook) let its tokens — SETUP's, the
// URL's, and each request's own — read. Answers for the session's own
// tokens are kept per path for readCacheTTL, so that announcing every
// broadcast and each request does not verify JWTs or ask the hook again;
// a hook that could not be reached is asked again next time.
func (g *Gateway) authorize(c moq.Credentials) (moq.ReadAccess, error) {
	var mu sync.Mutex
	cache := map[string]cachedRead{}
	return func(ns moq.Namespace, tokens []string) error {
		path := strings.Join(ns, "/")
		creds := ingest.Credentials{Tokens: append(tokens, c.Tokens...), Proto: "moq", Remote: c.Remote}
		if len(tokens) > 0 {
			return readError(g.auth.CheckRead(path, creds))
		}
		now := time.Now()
		mu.Lock()
		e, ok := cache[path]
		mu.Unlock()
		if ok && now.Before(e.until) {
			return e.err
		}
		err := readError(g.auth.CheckRead(path, creds))
		if !errors.Is(err, ingest.ErrHookUnavailable) {
			mu.Lock()
			if len(cache) < readCacheSize {
				cache[path] = cachedRead{err: err, until: now.Add(readCacheTTL)}
			} else {
				delete(cache, path)
			}
			mu.Unlock()
		}
		return err
	}, nil
}

// A session's cached read answers: how long one holds and how many paths.
const (
	readCacheTTL  = 10 * time.Second
	readCacheSize = 1024
)

type cachedRead struct {
	err   error
	until time.Time
}

// readError maps an expired token to moq's error for EXPIRED_AUTH_TOKEN.
func readError(err error) error {
	if errors.Is(err, ingest.ErrTokenExpired) {
		return fmt.Errorf("%w: %w", moq.ErrTokenExpired, err)
	}
	return err
}
