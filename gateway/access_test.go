package gateway

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/moq"
)

// TestTokenKeys: the key forms config takes (an HS256 secret inline or in
// a file; an Ed25519 public key as base64 or a PEM file) verify tokens
// signed with them.
func TestTokenKeys(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "jwt.secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("file-secret-0123456789\n"), 0o600))
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	pemFile := filepath.Join(dir, "jwt.pub.pem")
	require.NoError(t, os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	pub2, priv2, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	keys, err := tokenKeys([]config.TokenKey{
		{Alg: "HS256", Secret: "inline-secret-0123456789"},
		{Alg: "HS256", SecretFile: secretFile},
		{Alg: "EdDSA", PublicKeyFile: pemFile},
		{Alg: "EdDSA", PublicKey: base64.RawURLEncoding.EncodeToString(pub2)},
	})
	require.NoError(t, err)
	claims := jwt.MapClaims{"get": "live", "exp": time.Now().Add(time.Hour).Unix()}
	for name, signed := range map[string]func() (string, error){
		"inline secret": func() (string, error) {
			return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("inline-secret-0123456789"))
		},
		"secret file": func() (string, error) {
			return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("file-secret-0123456789"))
		},
		"PEM key":    func() (string, error) { return jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(priv) },
		"base64 key": func() (string, error) { return jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(priv2) },
	} {
		tok, err := signed()
		require.NoError(t, err)
		g, err := keys.Verify(tok)
		require.NoError(t, err, name)
		require.True(t, g.MayRead("live/cam1", time.Now()), name)
	}
	_, err = tokenKeys([]config.TokenKey{{Alg: "EdDSA", PublicKey: "not base64!"}})
	require.Error(t, err)
	_, err = tokenKeys([]config.TokenKey{{Alg: "HS256", SecretFile: filepath.Join(dir, "missing")}})
	require.Error(t, err)
}

// TestAuthorizeCachesPerSession: a session's hook answers are kept per
// path (asked once for repeated checks), a request's own token is always
// asked, and a hook that gave no answer is asked again.
func TestAuthorizeCachesPerSession(t *testing.T) {
	var asked atomic.Int32
	down := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		asked.Add(1)
		if down.Load() {
			time.Sleep(200 * time.Millisecond) // past the hook's timeout
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	g := &Gateway{auth: ingest.NewAuth(nil)}
	g.auth.Hook = &ingest.AuthHook{URL: srv.URL, Timeout: 100 * time.Millisecond}
	read, err := g.authorize(moq.Credentials{Remote: "127.0.0.1:1"})
	require.NoError(t, err)
	ns := moq.Namespace{"live", "cam1"}
	for range 5 {
		require.NoError(t, read(ns, nil))
	}
	require.Equal(t, int32(1), asked.Load(), "asked once for the session")
	require.NoError(t, read(ns, []string{"request-token"}))
	require.Equal(t, int32(2), asked.Load(), "a request's own token is asked")

	down.Store(true)
	other := moq.Namespace{"live", "cam2"}
	require.ErrorIs(t, read(other, nil), ingest.ErrHookUnavailable)
	require.ErrorIs(t, read(other, nil), ingest.ErrHookUnavailable)
	require.Equal(t, int32(4), asked.Load(), "no answer is not kept")
}
