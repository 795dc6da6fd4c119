//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq"
)

// TestMoQConnLimitPerIP: one address holds at most moq.max_conns_per_ip
// MoQ sessions; the next is closed at once, a subscriber already watching
// loses nothing, and a slot freed is taken again.
func TestMoQConnLimitPerIP(t *testing.T) {
	g := startGateway(t, map[string]string{"MOQGW_MOQ_MAX_CONNS_PER_IP": "3"})
	push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	defer push.kill()
	g.waitStream(t, "live/cam1", 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	watcher := recordObjects(ctx, subscribeVideo(ctx, t, g, moq.Namespace{"live", "cam1"}))

	dial := func() (*moq.Session, error) {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		s, err := moq.Dial(dctx, "moqt://"+g.MoQ, moq.DialOptions{TLSConfig: insecureTLS()})
		if err == nil {
			// The gateway closes a refused connection right after its
			// handshake: a session that survives a subscription is in.
			_, err = s.Subscribe(dctx, moq.Namespace{"live", "cam1"}, "catalog", moq.SubscribeOptions{})
		}
		return s, err
	}
	var held []*moq.Session
	for range 2 { // the watcher holds the first slot
		s, err := dial()
		require.NoError(t, err)
		held = append(held, s)
	}
	_, err := dial()
	require.Error(t, err, "a fourth session from one address")
	g.waitLog(t, "moq: connection limit reached", 10*time.Second)
	held[0].Close()
	require.Eventually(t, func() bool {
		s, err := dial()
		if err == nil {
			s.Close()
		}
		return err == nil
	}, 10*time.Second, 200*time.Millisecond, "a freed slot is taken again")

	require.NoError(t, push.wait(t, 60*time.Second))
	groups := watcher.groups(t)
	require.Greater(t, len(groups), 3, "the watcher kept receiving")
	for _, held := range held[1:] {
		held.Close()
	}
}
