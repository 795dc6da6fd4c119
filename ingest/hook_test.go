package ingest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAuthHook(t *testing.T) {
	var mu sync.Mutex
	var asked []HookRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q HookRequest
		require.NoError(t, json.NewDecoder(r.Body).Decode(&q))
		mu.Lock()
		asked = append(asked, q)
		mu.Unlock()
		switch q.Path {
		case "live/ok":
			w.WriteHeader(http.StatusNoContent)
		case "live/slow":
			time.Sleep(300 * time.Millisecond)
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	a := NewAuth([]PathRule{{Path: "live/*", Pass: "ignored-when-a-hook-decides"}})
	a.Hook = &AuthHook{URL: srv.URL, Timeout: 100 * time.Millisecond}
	require.False(t, a.Open())

	require.NoError(t, a.CheckPublish("live/ok", Credentials{User: "u", Pass: "p", Proto: "rtmp", Remote: "127.0.0.1:5"}))
	require.ErrorIs(t, a.CheckPublish("live/no", Credentials{Pass: "ignored-when-a-hook-decides"}), ErrAuth, "the hook decides, not the rule")
	require.ErrorIs(t, a.CheckPublish("live/slow", Credentials{}), ErrAuth, "no answer in time refuses")
	require.NoError(t, a.CheckRead("live/ok", Credentials{Tokens: []string{"t"}, Proto: "moq"}))
	require.ErrorIs(t, a.CheckRead("live/no", Credentials{}), ErrAuth)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, HookRequest{Action: "publish", Protocol: "rtmp", Path: "live/ok", User: "u", Password: "p", Remote: "127.0.0.1:5"}, asked[0])
	require.Equal(t, HookRequest{Action: "read", Protocol: "moq", Path: "live/ok", Tokens: []string{"t"}}, asked[3])

	unreachable := &AuthHook{URL: "http://127.0.0.1:1/auth", Timeout: time.Second}
	require.ErrorIs(t, unreachable.Ask(t.Context(), HookRequest{}), ErrAuth)
}
