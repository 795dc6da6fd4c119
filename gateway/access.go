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
// what the path rules let its tokens (SETUP's, the URL's jwt, and each
// request's own) read.
// An auth hook's answers are kept for the session: it is asked once per
// path, not for every announcement and request.
func (g *Gateway) authorize(c moq.Credentials) (moq.ReadAccess, error) {
	var mu sync.Mutex
	hookSaid := map[string]error{}
	return func(ns moq.Namespace, tokens []string) error {
		path := strings.Join(ns, "/")
		creds := ingest.Credentials{Tokens: append(tokens, c.Tokens...), Proto: "moq", Remote: c.Remote}
		if g.auth.Hook != nil && len(tokens) == 0 {
			mu.Lock()
			defer mu.Unlock()
			if err, ok := hookSaid[path]; ok {
				return err
			}
			err := g.auth.CheckRead(path, creds)
			hookSaid[path] = err
			return err
		}
		err := g.auth.CheckRead(path, creds)
		if errors.Is(err, ingest.ErrTokenExpired) {
			return fmt.Errorf("%w: %w", moq.ErrTokenExpired, err)
		}
		return err
	}, nil
}
