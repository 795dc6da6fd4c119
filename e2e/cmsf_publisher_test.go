//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/moqtransport"
	"github.com/stretchr/testify/require"
)

// recordedTrack is what a subscriber received of one track, by group.
type recordedTrack struct {
	groups [][]*moqtransport.Object
}

// recordStream subscribes with Eyevinn/moqtransport to the gateway's
// catalog, video and audio of ns until the publisher has stopped, so an
// Eyevinn publisher can serve the same objects elsewhere.
func recordStream(t *testing.T, g *gateway, ns []string, push *process) map[string]*recordedTrack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := dialEyevinn(t, ctx, "moqt://"+g.MoQ, "moqt-16")
	e.waitAnnounced(t, ns...)
	cat, err := e.Subscribe(ctx, ns, "catalog")
	require.NoError(t, err)
	catObj, err := cat.ReadObject(ctx)
	require.NoError(t, err)
	rec := map[string]*recordedTrack{"catalog": {groups: [][]*moqtransport.Object{{catObj}}}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range []string{"video", "audio"} {
		rt, err := e.Subscribe(ctx, ns, name,
			moqtransport.WithFilterType(moqtransport.FilterTypeAbsoluteStart),
			moqtransport.WithStartLocation(moqtransport.Location{Group: catObj.GroupID}))
		require.NoError(t, err)
		wg.Go(func() {
			objs := collect(ctx, rt)
			tr := &recordedTrack{}
			for _, o := range objs {
				if n := len(tr.groups); n == 0 || tr.groups[n-1][0].GroupID != o.GroupID {
					tr.groups = append(tr.groups, nil)
				}
				tr.groups[len(tr.groups)-1] = append(tr.groups[len(tr.groups)-1], o)
			}
			mu.Lock()
			rec[name] = tr
			mu.Unlock()
		})
	}
	require.NoError(t, push.wait(t, 60*time.Second))
	wg.Wait()
	return rec
}

// startCMSFPublisher runs an Eyevinn/moqtransport server that serves rec as
// the one-field namespace ns, the way a CMSF reference publisher serves its
// clients: it announces nothing, answers SUBSCRIBE with every recorded
// group (one subgroup stream each) and then PUBLISH_DONE TRACK_ENDED.
func startCMSFPublisher(t *testing.T, ns []string, rec map[string]*recordedTrack) string {
	t.Helper()
	var l *eyevinnListener
	l = listenEyevinn(t, "127.0.0.1:0", func(ctx context.Context, conn moqtransport.Connection, _ string) {
		sess := &moqtransport.Session{
			InitialMaxRequestID: 100,
			Handler:             moqtransport.HandlerFunc(func(moqtransport.ResponseWriter, *moqtransport.Message) {}),
			SubscribeHandler: moqtransport.SubscribeHandlerFunc(func(w *moqtransport.SubscribeResponseWriter, m *moqtransport.SubscribeMessage) {
				tr := rec[m.Track]
				if !slices.Equal(m.Namespace, ns) || tr == nil {
					_ = w.Reject(moqtransport.ErrorCodeSubscribeTrackDoesNotExist, "no such track")
					return
				}
				last := tr.groups[len(tr.groups)-1]
				largest := moqtransport.Location{Group: last[0].GroupID, Object: last[len(last)-1].ObjectID}
				if err := w.Accept(moqtransport.WithLargestLocation(&largest)); err != nil {
					return
				}
				l.wg.Go(func() {
					for i, grp := range tr.groups {
						if i > 0 {
							// Paced like a live publisher (ten times
							// real time): a burst of every group at once
							// would arrive in any order.
							time.Sleep(100 * time.Millisecond)
						}
						sg, err := w.OpenSubgroup(grp[0].GroupID, 0, 128, moqtransport.WithEndOfGroup())
						if err != nil {
							return
						}
						for _, o := range grp {
							if _, err := sg.WriteObject(o.ObjectID, o.Payload); err != nil {
								return
							}
						}
						_ = sg.Close()
					}
					_ = w.CloseWithError(uint64(moqtransport.ErrorCodeSubscribeDoneTrackEnded), "track ended")
				})
			}),
		}
		if err := sess.RunContext(ctx, conn); err != nil {
			return
		}
		<-ctx.Done()
		sess.Close()
	})
	t.Cleanup(func() {
		l.cancel()
		l.pc.Close()
		l.wg.Wait()
	})
	return l.addr
}

// TestSubReadsCMSFPublisher: `moq-gateway sub` reads a publisher that serves
// its client directly under the one-field namespace ["cmsf/clear"] and
// announces nothing: -ns-part names the field, and sub subscribes without
// waiting for an announcement. Drafts 14 and 16, raw QUIC and WebTransport.
func TestSubReadsCMSFPublisher(t *testing.T) {
	g := startGateway(t, map[string]string{"MOQGW_GRACE": "1s"})
	push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	rec := recordStream(t, g, []string{"live", "cam1"}, push)
	require.NotEmpty(t, rec["video"].groups)
	ns := []string{"cmsf/clear"}
	addr := startCMSFPublisher(t, ns, rec)
	for _, tc := range []struct {
		name, url, draft string
	}{
		{"quic-draft14", "moqt://" + addr, "14"},
		{"quic-draft16", "moqt://" + addr, "16"},
		{"webtransport-draft14", "https://" + addr + "/moq", "14"},
		{"webtransport-draft16", "https://" + addr + "/moq", "16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := sub(t, "-url", tc.url, "-ns-part", "cmsf/clear", "-draft", tc.draft, "-wait", "2s")
			require.NoError(t, s.wait(t, 60*time.Second), "sub")
			require.Contains(t, s.out.String(), "version=draft-"+tc.draft)
			require.False(t, strings.Contains(s.out.String(), "level=WARN"), "%s", s.out.String())
			var sent int
			for _, grp := range rec["video"].groups {
				sent += len(grp)
			}
			requireClipTracks(t, dir, sent)
		})
	}
}
