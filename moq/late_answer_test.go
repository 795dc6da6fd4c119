package moq

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A subscriber that gives up waiting for SUBSCRIBE_OK (its context ends)
// keeps its session when the answer arrives late: the subscription is
// ended with UNSUBSCRIBE and later requests work.
func TestLateSubscribeOK(t *testing.T) {
	for _, tc := range transports[:2] {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			release := make(chan struct{})
			_, err := origin.Publish(cam1, TrackProviderFunc(func(b *Broadcast, _ Namespace, name string) *Track {
				if name == "slow" {
					<-release // answer only after the subscriber gave up
				}
				tr, err := b.CreateTrack(name, TrackOptions{})
				if err != nil {
					return nil
				}
				return tr
			}))
			require.NoError(t, err)
			srv, addr := testServer(t, origin, SessionConfig{})
			s := dialTest(t, tc.url(addr), tc.version)

			short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			_, err = s.Subscribe(short, cam1, "slow", SubscribeOptions{})
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded)
			close(release)

			// The server sees the UNSUBSCRIBE: its subscription goes away.
			require.Eventually(t, func() bool {
				ss := srv.Sessions()
				return len(ss) == 1 && ss[0].Stats().Subscriptions == 0
			}, 5*time.Second, 5*time.Millisecond)
			ctx := testCtx(t)
			_, err = s.Subscribe(ctx, cam1, "video", SubscribeOptions{})
			require.NoError(t, err, "the session survived the late answer")
			require.NoError(t, s.Err())
		})
	}
}
