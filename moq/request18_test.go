package moq

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// Draft-18 requests each have a stream, which the server may read in any
// order: forty SUBSCRIBEs at once all succeed and the session lives on,
// and so does it when the subscriber cancels them all again at once.
func TestRequestStreamsOutOfOrder18(t *testing.T) {
	for _, v := range []wire.Version{wire.Draft18, wire.Draft19} {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			const n = 40
			for i := range n + 1 {
				tr, err := bc.CreateTrack(fmt.Sprintf("t%d", i), TrackOptions{})
				require.NoError(t, err)
				writeObjects(t, tr, 1, 1)
			}
			_, addr := testServer(t, origin, SessionConfig{})
			s := dialTest(t, "moqt://"+addr, v)
			ctx := testCtx(t)
			subs := make([]*RemoteTrack, n)
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					subs[i], errs[i] = s.Subscribe(ctx, cam1, fmt.Sprintf("t%d", i), SubscribeOptions{})
				})
			}
			wg.Wait()
			for i := range n {
				require.NoError(t, errs[i], "subscription %d", i)
				require.Equal(t, []string{"g1-o0"}, readPayloads(t, ctx, subs[i], 1))
			}
			for i := range n {
				wg.Go(func() { require.NoError(t, subs[i].Close()) })
			}
			wg.Wait()
			// The session still serves. (A new track: on draft-18 the old
			// subscriptions may not have seen their resets yet, and one
			// subscription per track is the rule.)
			again, err := s.Subscribe(ctx, cam1, fmt.Sprintf("t%d", n), SubscribeOptions{})
			require.NoError(t, err)
			require.Equal(t, []string{"g1-o0"}, readPayloads(t, ctx, again, 1))
			require.NoError(t, s.Context().Err())
		})
	}
}
