//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// TestTokenAuth: a path whose rule says read: token is watched only with a
// JWT (moq-dev's claims) whose get claim covers it, sent in SETUP or as
// ?jwt= in the WebTransport URL; an expired one is told so; a publisher may
// use a JWT with a put claim as its RTMP key.
func TestTokenAuth(t *testing.T) {
	const secret = "e2e-secret-0123456789"
	g := startGateway(t, nil, writeConfig(t, fmt.Sprintf(`
tokens:
  - alg: HS256
    secret: %q
streams:
  - path: paid/*
    key: publisher-key
    read: token
`, secret))...)
	sign := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
		require.NoError(t, err)
		return s
	}
	hour := time.Now().Add(time.Hour).Unix()
	put := sign(jwt.MapClaims{"root": "paid", "put": "cam1", "exp": hour})
	get := sign(jwt.MapClaims{"root": "paid", "get": "", "exp": hour})
	expired := sign(jwt.MapClaims{"root": "paid", "get": "", "exp": time.Now().Add(-time.Hour).Unix()})
	wrongPath := sign(jwt.MapClaims{"get": "free", "exp": hour})

	refused := pushRTMP(t, "rtmp://"+g.RTMP+"/paid/cam1?key="+sign(jwt.MapClaims{"put": "paid/other", "exp": hour}))
	require.Error(t, refused.wait(t, 30*time.Second), "a put claim for another path")
	push := pushRTMP(t, "rtmp://"+g.RTMP+"/paid/cam1?key="+put)
	defer push.kill()
	g.waitStream(t, "paid/cam1", 20*time.Second)

	// The same put claim as SRT's s=; a token for another path is refused.
	// (Not over RTSP here: ffmpeg keeps at most 127 bytes of user:password,
	// shorter than a JWT.)
	other := sign(jwt.MapClaims{"put": "paid/elsewhere", "exp": hour})
	for _, p := range []struct {
		path string
		push func(token string) *process
	}{
		{"paid/srt1", func(tok string) *process {
			return pushSRT(t, clip, srtURL(g, "#!::r=paid/srt1,m=publish,s="+tok, ""))
		}},
	} {
		tok := sign(jwt.MapClaims{"put": p.path, "exp": hour})
		bad := p.push(other)
		require.Error(t, bad.wait(t, 30*time.Second), "%s with a token for another path", p.path)
		good := p.push(tok)
		defer good.kill()
		g.waitStream(t, p.path, 20*time.Second)
	}

	for _, tc := range []struct {
		name, token, want string
	}{
		{"no token", "", "not authorized"},
		{"wrong path", wrongPath, "not authorized"},
		{"expired", expired, "expired"},
	} {
		s, _ := sub(t, "-url", "moqt://"+g.MoQ, "-namespace", "paid/cam1", "-token", tc.token, "-wait", "0", "-duration", "5s")
		require.Error(t, s.wait(t, 30*time.Second), tc.name)
		require.Contains(t, s.out.String(), tc.want, tc.name)
	}
	for name, args := range map[string][]string{
		"SETUP token, raw QUIC": {"-url", "moqt://" + g.MoQ, "-token", get},
		"?jwt=, WebTransport":   {"-url", "https://" + g.MoQ + "/moq?jwt=" + get},
	} {
		s, dir := sub(t, append(args, "-namespace", "paid/cam1", "-duration", "4s")...)
		require.NoError(t, s.wait(t, 30*time.Second), "%s: %s", name, s.out.String())
		v := probe(t, filepath.Join(dir, "video.mp4"))
		require.True(t, v.FirstKey, name)
		require.Positive(t, v.Packets, name)
	}
}
