package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// AuthHook asks an HTTP endpoint whether a publisher may publish or a
// subscriber may read, as MediaMTX's external authentication does: a POST
// of a JSON HookRequest; a 2xx answer allows, anything else (or no answer
// within Timeout) refuses.
type AuthHook struct {
	URL     string
	Timeout time.Duration // default DefaultHookTimeout
	Client  *http.Client  // default a client with Timeout
}

// DefaultHookTimeout bounds one question to the hook.
const DefaultHookTimeout = 2 * time.Second

// ErrHookUnavailable marks a refusal because the hook gave no answer (it
// could not be reached, or timed out), as opposed to one it gave; it wraps
// ErrAuth.
var ErrHookUnavailable = fmt.Errorf("%w: auth hook unavailable", ErrAuth)

// HookRequest is the body the hook receives.
type HookRequest struct {
	Action   string   `json:"action"`   // "publish" or "read"
	Protocol string   `json:"protocol"` // rtmp, rtmps, srt, rtsp, rtsps, moq
	Path     string   `json:"path"`
	User     string   `json:"user,omitempty"`
	Password string   `json:"password,omitempty"`
	Tokens   []string `json:"tokens,omitempty"`
	Remote   string   `json:"remote,omitempty"`
}

// Ask returns nil when the hook allows r, else an error wrapping ErrAuth.
func (h *AuthHook) Ask(ctx context.Context, r HookRequest) error {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: auth hook: %w", ErrAuth, err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHookUnavailable, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%w: auth hook answered %s", ErrAuth, resp.Status)
	}
	return nil
}
