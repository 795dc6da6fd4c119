//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/Eyevinn/moqtransport"
	"github.com/stretchr/testify/require"
)

// TestCatalogByFetch: a CMSF player built on Eyevinn/moqtransport v0.9.0
// gets the catalog as its default does — SUBSCRIBE catalog, then a relative
// joining FETCH with joining start 0 (draft-16 §9.16.2.1: the range ends at
// the subscription's Largest Location, inclusive) — and by a standalone
// FETCH of the catalog's current group. Each source protocol; draft-14 and
// draft-16 over raw QUIC and WebTransport; the catalog group is older than
// the current video group by then.
func TestCatalogByFetch(t *testing.T) {
	sources := []struct {
		name string
		push func(t *testing.T, g *gateway) *process
	}{
		{"rtmp", func(t *testing.T, g *gateway) *process { return pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1") }},
		{"srt", func(t *testing.T, g *gateway) *process {
			return pushSRT(t, clip, srtURL(g, "publish:live/cam1", ""))
		}},
		{"rtsp", func(t *testing.T, g *gateway) *process {
			return pushRTSP(t, clip, "tcp", rtspURL(g, "", "live/cam1"))
		}},
	}
	peers := []struct {
		name         string
		webTransport bool
		alpn         string
	}{
		{"quic-draft14", false, "moq-00"},
		{"quic-draft16", false, "moqt-16"},
		{"webtransport-draft14", true, "moq-00"},
		{"webtransport-draft16", true, "moqt-16"},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			g := startGateway(t, nil)
			src.push(t, g)
			g.waitStream(t, "live/cam1", 20*time.Second)
			// Let video move past the catalog's group.
			video := requireVideoPastCatalog(t, g)
			for _, p := range peers {
				t.Run(p.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					e := dialEyevinn(t, ctx, subURL(g, p.webTransport), p.alpn)
					ns := []string{"live", "cam1"}
					cat, err := e.Subscribe(ctx, ns, "catalog")
					require.NoError(t, err)
					defer cat.Close()
					largest, ok := cat.LargestLocation()
					require.True(t, ok, "SUBSCRIBE_OK of the catalog says where it is")
					require.Less(t, largest.Group, video, "the catalog group is older than the current video group")

					joined, err := e.Fetch(ctx, nil, "", moqtransport.WithJoiningFetchRelative(cat.RequestID(), 0))
					require.NoError(t, err, "joining FETCH of the catalog")
					first := readCatalog(t, ctx, joined)
					require.Equal(t, largest.Group, first.GroupID)
					require.Equal(t, uint64(0), first.ObjectID)
					joined.Close()

					for _, end := range []moqtransport.Location{
						{Group: largest.Group, Object: largest.Object + 1}, // up to the largest object
						{Group: largest.Group, Object: 0},                  // the whole group
					} {
						f, err := e.Fetch(ctx, ns, "catalog",
							moqtransport.WithFetchStartLocation(moqtransport.Location{Group: largest.Group}),
							moqtransport.WithFetchEndLocation(end))
						require.NoError(t, err, "standalone FETCH of the catalog's group, end %v", end)
						o := readCatalog(t, ctx, f)
						require.Equal(t, first.Payload, o.Payload)
						f.Close()
					}
				})
			}
		})
	}
}

// requireVideoPastCatalog waits until the stream's video has started a
// group after the catalog's, and returns that group's ID.
func requireVideoPastCatalog(t *testing.T, g *gateway) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := dialEyevinn(t, ctx, "moqt://"+g.MoQ, "moqt-16")
	cat, err := e.Subscribe(ctx, []string{"live", "cam1"}, "catalog")
	require.NoError(t, err)
	defer cat.Close()
	c, ok := cat.LargestLocation()
	require.True(t, ok)
	for {
		st, err := e.RequestTrackStatus(ctx, []string{"live", "cam1"}, "video")
		require.NoError(t, err)
		if st.LastGroupID > c.Group {
			return st.LastGroupID
		}
		select {
		case <-ctx.Done():
			t.Fatal("video never started a group after the catalog's")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readCatalog reads one object of a fetch and requires it to be the MSF
// catalog, parsed here independently of the gateway's code.
func readCatalog(t *testing.T, ctx context.Context, rt *moqtransport.RemoteTrack) *moqtransport.Object {
	t.Helper()
	o, err := rt.ReadObject(ctx)
	require.NoError(t, err)
	var c struct {
		Version string `json:"version"`
		Tracks  []struct {
			Name      string `json:"name"`
			Packaging string `json:"packaging"`
		} `json:"tracks"`
	}
	require.NoError(t, json.Unmarshal(o.Payload, &c), "%q", o.Payload)
	require.NotEmpty(t, c.Tracks)
	return o
}
