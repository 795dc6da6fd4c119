package moq

// Interop with Eyevinn/moqtransport v0.9.0, an independent draft-14/16
// implementation: its client subscribes to our server over raw QUIC and
// WebTransport for both drafts.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/moqtransport"
	"github.com/Eyevinn/moqtransport/quicmoq"
	"github.com/Eyevinn/moqtransport/webtransportmoq"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// eyevinnClient is an Eyevinn session that records the namespaces our
// server announces.
type eyevinnClient struct {
	sess *moqtransport.Session

	mu        sync.Mutex
	announced [][]string
	signal    chan struct{}
}

func dialEyevinn(t *testing.T, url string, v wire.Version) *eyevinnClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var conn moqtransport.Connection
	switch url[:4] {
	case "moqt":
		qc, err := quic.DialAddr(ctx, url[len("moqt://"):], &tls.Config{
			InsecureSkipVerify: true,
			NextProtos:         []string{v.ALPN()},
		}, &quic.Config{EnableDatagrams: true})
		require.NoError(t, err)
		conn = quicmoq.NewClient(qc)
	default:
		tr := &webtransport.Transport{
			TLSClientConfig:      &tls.Config{InsecureSkipVerify: true},
			ApplicationProtocols: []string{v.ALPN()},
		}
		_, ws, err := tr.Dial(ctx, url, nil)
		require.NoError(t, err)
		conn = webtransportmoq.NewClient(ws)
	}
	c := &eyevinnClient{signal: make(chan struct{}, 1)}
	c.sess = &moqtransport.Session{
		InitialMaxRequestID: 100,
		Handler: moqtransport.HandlerFunc(func(w moqtransport.ResponseWriter, m *moqtransport.Message) {
			if m.Method != moqtransport.MessageAnnounce {
				return
			}
			c.mu.Lock()
			c.announced = append(c.announced, m.Namespace)
			c.mu.Unlock()
			select {
			case c.signal <- struct{}{}:
			default:
			}
			require.NoError(t, w.Accept())
		}),
	}
	require.NoError(t, c.sess.RunContext(ctx, conn))
	t.Cleanup(func() { c.sess.Close() })
	return c
}

func (c *eyevinnClient) waitAnnounced(ctx context.Context, ns []string) error {
	for {
		c.mu.Lock()
		for _, a := range c.announced {
			if Namespace(a).Equal(ns) {
				c.mu.Unlock()
				return nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.signal:
		case <-ctx.Done():
			return fmt.Errorf("namespace %v not announced: %w", ns, ctx.Err())
		}
	}
}

func TestEyevinnSubscribes(t *testing.T) {
	for _, tc := range transportsBefore18() {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(Namespace{"live", "cam1"}, nil)
			require.NoError(t, err)
			video, err := bc.CreateTrack("video", TrackOptions{})
			require.NoError(t, err)
			_, addr := testServer(t, origin, SessionConfig{})
			c := dialEyevinn(t, tc.url(addr), tc.version)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, c.waitAnnounced(ctx, []string{"live", "cam1"}))

			// An unknown track yields its subscribe error.
			_, err = c.sess.Subscribe(ctx, []string{"live", "cam1"}, "nope")
			require.Error(t, err)
			var pe moqtransport.ProtocolError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, uint64(wire.RequestDoesNotExist), requestCode14(tc.version, pe.Code()))

			require.NoError(t, video.StartGroup(50))
			require.NoError(t, video.WriteObject([]byte("first")))

			rt, err := c.sess.Subscribe(ctx, []string{"live", "cam1"}, "video")
			require.NoError(t, err)
			defer rt.Close()

			// Three more groups of objects whose bytes identify them, paced
			// like live media; they must arrive byte-identical and in order.
			payload := func(g, o uint64) []byte {
				b := make([]byte, 1000+int(o)*100)
				for i := range b {
					b[i] = byte(g*31 + o*7 + uint64(i))
				}
				return b
			}
			type loc struct{ g, o uint64 }
			var got []loc
			first, err := rt.ReadObject(ctx)
			require.NoError(t, err)
			require.Equal(t, []byte("first"), first.Payload)
			for g := uint64(51); g <= 53; g++ {
				require.NoError(t, video.StartGroup(g))
				for o := range uint64(4) {
					require.NoError(t, video.WriteObject(payload(g, o)))
				}
				for range 4 {
					obj, err := rt.ReadObject(ctx)
					require.NoError(t, err)
					require.Equal(t, payload(obj.GroupID, obj.ObjectID), obj.Payload, "group %d object %d", obj.GroupID, obj.ObjectID)
					got = append(got, loc{obj.GroupID, obj.ObjectID})
				}
			}
			var want []loc
			for g := uint64(51); g <= 53; g++ {
				for o := range uint64(4) {
					want = append(want, loc{g, o})
				}
			}
			require.Equal(t, want, got)

			// TRACK_STATUS answers through its API.
			st, err := c.sess.RequestTrackStatus(ctx, []string{"live", "cam1"}, "video")
			require.NoError(t, err)
			require.Equal(t, uint64(53), st.LastGroupID)
			require.Equal(t, uint64(3), st.LastObjectID)
		})
	}
}

// Eyevinn's Fetch API is served from our cache: standalone and joining
// (relative and absolute) fetches, both drafts, both transports.
func TestEyevinnFetch(t *testing.T) {
	for _, tc := range transportsBefore18() {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := cacheFixture(t, SessionConfig{})
			c := dialEyevinn(t, tc.url(addr), tc.version)
			ctx := testCtx(t)
			require.NoError(t, c.waitAnnounced(ctx, cam1))
			rt, err := c.sess.Subscribe(ctx, cam1, "video")
			require.NoError(t, err)
			defer rt.Close()
			largest, ok := rt.LargestLocation()
			require.True(t, ok)
			require.Equal(t, moqtransport.Location{Group: 12, Object: 1}, largest)

			// Eyevinn does not end a fetch at FIN (the objects stop coming):
			// read the number expected. Our own client's fetch tests check
			// that nothing follows.
			fetch := func(want []string, ns []string, name string, opts ...moqtransport.FetchOption) {
				t.Helper()
				f, err := c.sess.Fetch(ctx, ns, name, opts...)
				require.NoError(t, err)
				defer f.Close()
				var got []string
				for len(got) < len(want) {
					o, err := f.ReadObject(ctx)
					require.NoError(t, err)
					got = append(got, string(o.Payload))
				}
				require.Equal(t, want, got)
			}
			fetch(objs("g10-o1", "g10-o2", "g11-o0", "g11-o1"), cam1, "video",
				moqtransport.WithFetchStartLocation(moqtransport.Location{Group: 10, Object: 1}),
				moqtransport.WithFetchEndLocation(moqtransport.Location{Group: 11, Object: 2}))
			// A joining fetch ends at the subscription's Largest Location,
			// inclusive (draft-16 §9.16.2.1).
			fetch(objs("g12-o0", "g12-o1"), nil, "", moqtransport.WithJoiningFetchRelative(rt.RequestID(), 0))
			fetch(objs("g11-o0", "g11-o1", "g11-o2", "g12-o0", "g12-o1"), nil, "", moqtransport.WithJoiningFetchRelative(rt.RequestID(), 1))
			fetch(objs("g10-o0", "g10-o1", "g10-o2", "g11-o0", "g11-o1", "g11-o2", "g12-o0", "g12-o1"), nil, "",
				moqtransport.WithJoiningFetchAbsolute(rt.RequestID(), 10))
		})
	}
}

// Eyevinn's UpdateSubscription (SUBSCRIBE_UPDATE with start {0, 0} unless
// set) pauses and resumes delivery without ending the session.
func TestEyevinnUpdateSubscription(t *testing.T) {
	for _, tc := range transportsBefore18() {
		t.Run(tc.name, func(t *testing.T) {
			tr, addr := cacheFixture(t, SessionConfig{})
			c := dialEyevinn(t, tc.url(addr), tc.version)
			ctx := testCtx(t)
			require.NoError(t, c.waitAnnounced(ctx, cam1))
			rt, err := c.sess.Subscribe(ctx, cam1, "video")
			require.NoError(t, err)
			defer rt.Close()
			for _, want := range objs("g12-o0", "g12-o1") {
				o, err := rt.ReadObject(ctx)
				require.NoError(t, err)
				require.Equal(t, want, string(o.Payload))
			}
			// A TRACK_STATUS round trip makes sure each update was handled
			// (one control stream, read in order).
			update := func(forward bool) {
				t.Helper()
				require.NoError(t, c.sess.UpdateSubscription(ctx, rt.RequestID(), moqtransport.WithUpdateForward(forward)))
				_, err := c.sess.RequestTrackStatus(ctx, cam1, "video")
				require.NoError(t, err)
			}
			update(false)
			writeObjects(t, tr, 13, 2)
			// Forward applies when an object is sent: let the subscription
			// pass group 13 before resuming.
			waitReadersCaughtUp(t, tr)
			update(true)
			writeObjects(t, tr, 14, 1)
			o, err := rt.ReadObject(ctx)
			require.NoError(t, err)
			require.Equal(t, "g14-o0", string(o.Payload), "nothing was forwarded while paused")
		})
	}
}

// waitReadersCaughtUp waits until every subscription of tr has taken the
// newest object.
func waitReadersCaughtUp(t *testing.T, tr *Track) {
	t.Helper()
	require.Eventually(t, func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for r := range tr.readers {
			if r.g != tr.cur || r.idx < len(tr.cur.objects) {
				return false
			}
		}
		return true
	}, rawTimeout, time.Millisecond)
}

// requestCode14 maps a draft-14 SUBSCRIBE_ERROR code to the draft-16 value
// our constants use.
func requestCode14(v wire.Version, code uint64) uint64 {
	if v == wire.Draft14 && code == 0x4 {
		return uint64(wire.RequestDoesNotExist)
	}
	return code
}

var _ = errors.New
