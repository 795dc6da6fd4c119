//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAuthHook: with auth_hook.url set, an HTTP endpoint decides every
// publish (RTMP, SRT, RTSP) and every MoQ read, from the JSON the gateway
// posts; its refusal keeps a publisher out and a subscriber from reading.
func TestAuthHook(t *testing.T) {
	type asked struct {
		Action, Protocol, Path, User, Password, Remote string
		Tokens                                         []string
	}
	var mu sync.Mutex
	var log []asked
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q asked
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		log = append(log, q)
		mu.Unlock()
		ok := q.Action == "publish" && q.Password == "letmein" ||
			q.Action == "read" && slices.Contains(q.Tokens, "viewer")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	g := startGateway(t, nil, writeConfig(t, fmt.Sprintf("auth_hook:\n  url: http://%s/auth\n", ln.Addr()))...)
	refused := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1?key=wrong")
	require.Error(t, refused.wait(t, 30*time.Second), "the hook refuses a wrong key")
	for _, p := range []*process{
		pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1?key=letmein"),
		pushSRT(t, clip, srtURL(g, "publish:live/srt1:u:letmein", "")),
		pushRTSP(t, clip, "tcp", "rtsp://u:letmein@"+g.RTSP+"/live/rtsp1"),
	} {
		defer p.kill()
	}
	for _, path := range []string{"live/cam1", "live/srt1", "live/rtsp1"} {
		g.waitStream(t, path, 20*time.Second)
	}

	s, _ := sub(t, "-url", "moqt://"+g.MoQ, "-namespace", "live/cam1", "-wait", "0", "-duration", "3s")
	require.Error(t, s.wait(t, 30*time.Second))
	require.Contains(t, s.out.String(), "not authorized")
	s, dir := sub(t, "-url", "moqt://"+g.MoQ, "-namespace", "live/cam1", "-token", "viewer", "-duration", "3s")
	require.NoError(t, s.wait(t, 30*time.Second), s.out.String())
	require.Positive(t, probe(t, filepath.Join(dir, "video.mp4")).Packets)

	mu.Lock()
	defer mu.Unlock()
	protos := map[string]bool{}
	for _, q := range log {
		require.NotEmpty(t, q.Remote)
		if q.Action == "publish" && q.Password == "letmein" {
			protos[q.Protocol+" "+q.Path] = true
		}
	}
	require.Equal(t, map[string]bool{"rtmp live/cam1": true, "srt live/srt1": true, "rtsp live/rtsp1": true}, protos)
	require.True(t, slices.ContainsFunc(log, func(q asked) bool {
		return q.Action == "read" && q.Protocol == "moq" && q.Path == "live/cam1" && slices.Contains(q.Tokens, "viewer")
	}))
}
