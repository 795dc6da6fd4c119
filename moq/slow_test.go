package moq

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// A subscriber that stops reading (QUIC flow control then blocks its
// streams) loses whole groups, counted in GroupsDropped, while its memory
// stays bounded; another subscriber of the same track receives everything
// and the writer never waits.
func TestSlowSubscriber(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			tr, err := bc.CreateTrack("video", TrackOptions{CacheGroups: 1, MinCacheAge: -1, LagGrace: -1})
			require.NoError(t, err)
			srv, addr := testServer(t, origin, SessionConfig{})

			// The slow subscriber never accepts its data streams; its windows
			// are far smaller than a group.
			slow := newRawPeer(t, dialRawConn(t, addr, false, v.ALPN(), &quic.Config{
				InitialStreamReceiveWindow: 4 << 10, MaxStreamReceiveWindow: 4 << 10,
				InitialConnectionReceiveWindow: 16 << 10, MaxConnectionReceiveWindow: 16 << 10,
				MaxIncomingUniStreams: 1000,
			}), v)
			path := ""
			slow.setup(wire.SetupParams{MaxRequestID: 100, Path: &path})
			slow.subscribe(cam1, "video", wire.Filter{Type: wire.FilterNextGroupStart})
			_, ok := slow.readUntil(slow.notAnnounce).(*wire.SubscribeOK)
			require.True(t, ok)
			slowSess := serverSession(t, srv)

			fast := dialTest(t, "moqt://"+addr, v)
			ctx := testCtx(t)
			sub, err := fast.Subscribe(ctx, cam1, "video", SubscribeOptions{Filter: wire.FilterNextGroupStart})
			require.NoError(t, err)

			const groups, perGroup, size = 20, 4, 8 << 10
			payload := func(g, o int) []byte {
				b := make([]byte, size)
				copy(b, fmt.Sprintf("g%d-o%d", g, o))
				return b
			}
			var slowSub *subscription
			for g := range groups {
				require.NoError(t, tr.StartGroup(uint64(g)))
				for o := range perGroup {
					require.NoError(t, tr.WriteObject(payload(g, o)))
				}
				// The fast subscriber gets every object of the group.
				for o := range perGroup {
					obj := readObject(t, ctx, sub)
					require.Equal(t, Location{uint64(g), uint64(o)}, Location{obj.Group, obj.ID})
					require.Equal(t, payload(g, o), obj.Payload)
				}
				// The slow one pins at most the group it is stuck in and the
				// one before the newest: memory stays bounded.
				slowSess.mu.Lock()
				for _, s := range slowSess.subs {
					slowSub = s
				}
				slowSess.mu.Unlock()
				require.NotNil(t, slowSub)
				tr.mu.Lock()
				if r := slowSub.r; r.g != nil {
					require.LessOrEqual(t, tr.cur.seq-r.g.seq, uint64(MaxLagGroups+1))
				}
				cached := 0
				for c := tr.oldest; c != nil; c = c.next {
					cached++
				}
				require.LessOrEqual(t, cached, 2, "one ended group and the current one")
				tr.mu.Unlock()
			}
			// Drops are counted as the slow subscription's writer moves on,
			// which may trail the last group.
			require.Eventually(t, func() bool { return slowSess.Stats().GroupsDropped > groups/2 }, rawTimeout, time.Millisecond,
				"dropped %d of %d groups", slowSess.Stats().GroupsDropped, groups)
			require.Zero(t, serverSessionOf(t, srv, fast).Stats().GroupsDropped)
			// The stream of the group it was stuck in was reset, not ended.
			_, _, fin := readSubgroupStream(t, slow.acceptUni(), v)
			require.False(t, fin, "a lost group's stream is reset")
		})
	}
}

// readObject reads the next object with a payload.
func readObject(t testing.TB, ctx context.Context, r *RemoteTrack) Object {
	t.Helper()
	for {
		o, err := r.ReadObject(ctx)
		require.NoError(t, err)
		if o.Status == wire.StatusNormal {
			return o
		}
	}
}

// serverSessionOf returns the server's session with the client session c.
func serverSessionOf(t testing.TB, srv *Server, c *Session) *Session {
	t.Helper()
	local := c.c.(quicConn).c.LocalAddr().(*net.UDPAddr).Port
	for _, s := range srv.Sessions() {
		if s.RemoteAddr().(*net.UDPAddr).Port == local {
			return s
		}
	}
	t.Fatalf("no server session for port %d", local)
	return nil
}
