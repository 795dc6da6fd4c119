package moq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

var cam1 = Namespace{"live", "cam1"}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// writeObjects opens group g and writes n objects "g<g>-o<i>".
func writeObjects(t testing.TB, tr *Track, g uint64, n int) {
	t.Helper()
	require.NoError(t, tr.StartGroup(g))
	for i := range n {
		require.NoError(t, tr.WriteObject(fmt.Appendf(nil, "g%d-o%d", g, i)))
	}
}

// readPayloads reads n objects with a payload (skipping end-of-group
// markers) and returns them.
func readPayloads(t testing.TB, ctx context.Context, r interface {
	ReadObject(context.Context) (Object, error)
}, n int,
) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		o, err := r.ReadObject(ctx)
		require.NoError(t, err, "after %v", out)
		if o.Status != wire.StatusNormal {
			continue
		}
		out = append(out, string(o.Payload))
	}
	return out
}

// readAll reads objects with a payload until the end and returns them with
// the error that ended the reading.
func readAll(ctx context.Context, r interface {
	ReadObject(context.Context) (Object, error)
},
) ([]string, error) {
	var out []string
	for {
		o, err := r.ReadObject(ctx)
		if err != nil {
			return out, err
		}
		if o.Status == wire.StatusNormal {
			out = append(out, string(o.Payload))
		}
	}
}

func TestTrackProviderOnDemand(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			var mu sync.Mutex
			var asked []string
			bc, err := origin.Publish(cam1, TrackProviderFunc(func(b *Broadcast, rest Namespace, name string) *Track {
				mu.Lock()
				asked = append(asked, fmt.Sprintf("%v:%s", rest, name))
				mu.Unlock()
				if name != "video" && name != "audio" && name != "catalog" {
					return nil
				}
				tr, err := b.CreateTrack(name, TrackOptions{})
				if err != nil {
					return b.Track(nil, name) // created meanwhile
				}
				if name == "catalog" {
					writeObjects(t, tr, 1, 2)
				}
				return tr
			}))
			require.NoError(t, err)
			_, addr := testServer(t, origin, SessionConfig{})
			s := dialTest(t, tc.url(addr), tc.version)
			ctx := testCtx(t)

			// SUBSCRIBE creates the track; the publisher then writes it.
			sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{})
			require.NoError(t, err)
			require.Nil(t, sub.Largest)
			video := bc.Track(nil, "video")
			require.NotNil(t, video)
			writeObjects(t, video, 5, 1)
			require.Equal(t, []string{"g5-o0"}, readPayloads(t, ctx, sub, 1))

			// TRACK_STATUS and FETCH create theirs too.
			largest, err := s.TrackStatus(ctx, cam1, "audio")
			require.NoError(t, err)
			require.Nil(t, largest)
			f, err := s.Fetch(ctx, FetchRequest{Namespace: cam1, Name: "catalog", Start: Location{1, 0}, End: Location{1, 0}})
			require.NoError(t, err)
			got, err := readAll(ctx, f)
			require.ErrorIs(t, err, io.EOF)
			require.Equal(t, []string{"g1-o0", "g1-o1"}, got)

			// Unknown names are refused at once, whichever the request.
			_, err = s.Subscribe(ctx, cam1, "nope", SubscribeOptions{})
			require.ErrorIs(t, err, ErrTrackDoesNotExist)
			_, err = s.TrackStatus(ctx, cam1, "nope")
			require.ErrorIs(t, err, ErrTrackDoesNotExist)
			_, err = s.Fetch(ctx, FetchRequest{Namespace: cam1, Name: "nope", End: Location{1, 0}})
			require.ErrorIs(t, err, ErrTrackDoesNotExist)

			// A namespace extending the broadcast's reaches the provider with
			// the rest.
			_, err = s.Subscribe(ctx, append(cam1, "hd"), "nope", SubscribeOptions{})
			require.ErrorIs(t, err, ErrTrackDoesNotExist)

			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, []string{":video", ":audio", ":catalog", ":nope", ":nope", ":nope", "hd:nope"}, asked)
		})
	}
}

// Each group travels on its own subgroup stream: subgroup 0, a stream type
// with END_OF_GROUP, the publisher priority, objects 0, 1, 2 … and FIN.
func TestStreamDeliveryLayout(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			tr, err := bc.CreateTrack("video", TrackOptions{Priority: 7})
			require.NoError(t, err)
			srv, addr := testServer(t, origin, SessionConfig{})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 10})
			id := p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterNextGroupStart})
			ok, isOK := p.readUntil(p.notAnnounce).(*wire.SubscribeOK)
			require.True(t, isOK)
			require.Equal(t, id, ok.RequestID)
			require.Nil(t, ok.Largest)

			for g := uint64(1); g <= 3; g++ {
				writeObjects(t, tr, g, int(g))
				tr.EndGroup()
				h, payloads, fin := readSubgroupStream(t, p.acceptUni(), v)
				require.True(t, fin)
				require.Equal(t, ok.TrackAlias, h.TrackAlias)
				require.Equal(t, g, h.GroupID)
				require.Equal(t, uint64(0), h.SubgroupID)
				require.True(t, h.EndOfGroup)
				require.Equal(t, uint8(7), h.PublisherPriority)
				var want []string
				for o := range g {
					want = append(want, fmt.Sprintf("g%d-o%d", g, o))
				}
				require.Equal(t, want, payloads)
			}
			require.Equal(t, uint64(3), serverSession(t, srv).Stats().StreamsOpened)

			// End of Track: the last group's stream carries the End of Track
			// status, then PUBLISH_DONE counts every stream.
			writeObjects(t, tr, 4, 1)
			tr.Close()
			_, payloads, fin := readSubgroupStream(t, p.acceptUni(), v)
			require.True(t, fin)
			require.Equal(t, []string{"g4-o0", "status:eot"}, payloads)
			done, isDone := p.readUntil(p.notAnnounce).(*wire.PublishDone)
			require.True(t, isDone)
			require.Equal(t, wire.PublishDone{RequestID: id, StatusCode: wire.DoneTrackEnded, StreamCount: 4, Reason: "track ended"}, *done)
		})
	}
}

func TestDatagramDelivery(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			tr, err := bc.CreateTrack("audio", TrackOptions{Delivery: DeliveryDatagram})
			require.NoError(t, err)
			var logs syncBuffer
			srv := &Server{Origin: origin, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			addr := testServerWith(t, srv)
			s := dialTest(t, tc.url(addr), tc.version)
			ctx := testCtx(t)
			sub, err := s.Subscribe(ctx, cam1, "audio", SubscribeOptions{Filter: wire.FilterNextGroupStart})
			require.NoError(t, err)
			ss := serverSession(t, srv)

			// Small objects go as datagrams, paced by the reader: datagrams
			// are not retransmitted, but loopback does not lose them.
			require.NoError(t, tr.StartGroup(1))
			for i := range 3 {
				require.NoError(t, tr.WriteObject(fmt.Appendf(nil, "small-%d", i)))
				o, err := sub.ReadObject(ctx)
				require.NoError(t, err)
				require.True(t, o.Datagram)
				require.Equal(t, Object{Group: 1, ID: uint64(i), Payload: fmt.Appendf(nil, "small-%d", i), Datagram: true}, o)
			}
			// Too large for a datagram: draft-16 sends it on a stream,
			// draft-14 counts and logs it.
			big := []byte(strings.Repeat("B", 3000))
			require.NoError(t, tr.WriteObject(big))
			require.NoError(t, tr.WriteObject([]byte("small-4")))
			if tc.version != wire.Draft14 {
				got := map[string]bool{}
				for len(got) < 2 {
					o, err := sub.ReadObject(ctx)
					require.NoError(t, err)
					if o.Status != wire.StatusNormal {
						continue
					}
					got[fmt.Sprintf("%d/%d datagram=%v len=%d", o.Group, o.ID, o.Datagram, len(o.Payload))] = true
				}
				require.Equal(t, map[string]bool{"1/3 datagram=false len=3000": true, "1/4 datagram=true len=7": true}, got)
				require.Zero(t, ss.Stats().DatagramsLost)
			} else {
				o, err := sub.ReadObject(ctx)
				require.NoError(t, err)
				require.Equal(t, Object{Group: 1, ID: 4, Payload: []byte("small-4"), Datagram: true}, o)
				require.Equal(t, uint64(1), ss.Stats().DatagramsLost)
				require.Contains(t, logs.String(), "too large for a datagram")
			}
			// PUBLISH_DONE counts the streams: none for pure datagrams.
			tr.Close()
			_, err = readAll(ctx, sub)
			require.ErrorIs(t, err, io.EOF)
			wantStreams := uint64(0)
			if tc.version != wire.Draft14 {
				wantStreams = 1
			}
			require.Equal(t, wantStreams, ss.Stats().StreamsOpened)
		})
	}
}

// cacheFixture publishes groups 10 and 11 (3 objects each) and 12 (2 so far).
func cacheFixture(t *testing.T, cfg SessionConfig) (*Track, string) {
	t.Helper()
	origin := NewOrigin()
	bc, err := origin.Publish(cam1, nil)
	require.NoError(t, err)
	tr, err := bc.CreateTrack("video", TrackOptions{CacheGroups: 4, MinCacheAge: -1, LagGrace: -1})
	require.NoError(t, err)
	writeObjects(t, tr, 10, 3)
	writeObjects(t, tr, 11, 3)
	writeObjects(t, tr, 12, 2)
	_, addr := testServer(t, origin, cfg)
	return tr, addr
}

func objs(spec ...string) []string { return spec }

// sortObjs orders "g<group>-o<object>" payloads by location.
func sortObjs(ps []string) []string {
	loc := func(p string) Location {
		var l Location
		_, _ = fmt.Sscanf(p, "g%d-o%d", &l.Group, &l.Object)
		return l
	}
	slices.SortStableFunc(ps, func(a, b string) int { return cmpLoc(loc(a), loc(b)) })
	return ps
}

func cmpLoc(a, b Location) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}

func TestFetchFromCache(t *testing.T) {
	cases := []struct {
		name   string
		strict bool
		req    func(sub *RemoteTrack) FetchRequest
		want   []string // nil: refused (draft-14 NO_OBJECTS) or empty (draft-16)
	}{
		{"standalone range", false, func(*RemoteTrack) FetchRequest {
			return FetchRequest{Namespace: cam1, Name: "video", Start: Location{10, 1}, End: Location{11, 2}}
		}, objs("g10-o1", "g10-o2", "g11-o0", "g11-o1")},
		{"standalone whole group", false, func(*RemoteTrack) FetchRequest {
			return FetchRequest{Namespace: cam1, Name: "video", Start: Location{11, 0}, End: Location{11, 0}}
		}, objs("g11-o0", "g11-o1", "g11-o2")},
		{"standalone past the largest", false, func(*RemoteTrack) FetchRequest {
			return FetchRequest{Namespace: cam1, Name: "video", Start: Location{12, 1}, End: Location{99, 0}}
		}, objs("g12-o1")},
		// A joining fetch ends at the subscription's Largest Location {12, 1},
		// inclusive, though the subscription itself starts at {12, 0}.
		{"joining relative", false, func(sub *RemoteTrack) FetchRequest {
			return FetchRequest{Joining: sub, JoiningStart: 1}
		}, objs("g11-o0", "g11-o1", "g11-o2", "g12-o0", "g12-o1")},
		{"joining absolute", false, func(sub *RemoteTrack) FetchRequest {
			return FetchRequest{Joining: sub, JoiningStart: 10, JoiningAbsolute: true}
		}, objs("g10-o0", "g10-o1", "g10-o2", "g11-o0", "g11-o1", "g11-o2", "g12-o0", "g12-o1")},
		{"joining relative 0", false, func(sub *RemoteTrack) FetchRequest {
			return FetchRequest{Joining: sub}
		}, objs("g12-o0", "g12-o1")},
		{"joining relative past group 0", false, func(sub *RemoteTrack) FetchRequest {
			return FetchRequest{Joining: sub, JoiningStart: 99}
		}, objs("g10-o0", "g10-o1", "g10-o2", "g11-o0", "g11-o1", "g11-o2", "g12-o0", "g12-o1")},
		{"strict joining relative 0", true, func(sub *RemoteTrack) FetchRequest {
			return FetchRequest{Joining: sub}
		}, objs("g12-o0", "g12-o1")},
		{"strict joining relative 1", true, func(sub *RemoteTrack) FetchRequest {
			return FetchRequest{Joining: sub, JoiningStart: 1}
		}, objs("g11-o0", "g11-o1", "g11-o2", "g12-o0", "g12-o1")},
	}
	for _, tc := range cases {
		for _, tp := range transports[:2] {
			t.Run(tc.name+"/"+tp.name, func(t *testing.T) {
				tr, addr := cacheFixture(t, SessionConfig{StrictLargestObject: tc.strict})
				s := dialTest(t, tp.url(addr), tp.version)
				ctx := testCtx(t)
				sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{})
				require.NoError(t, err)
				require.Equal(t, &Location{12, 1}, sub.Largest)
				f, err := s.Fetch(ctx, tc.req(sub))
				if tc.want == nil && tp.version == wire.Draft14 {
					require.ErrorIs(t, err, &RequestError{Code: wire.RequestNoObjects})
				} else {
					require.NoError(t, err)
					got, err := readAll(ctx, f)
					require.ErrorIs(t, err, io.EOF)
					require.Equal(t, tc.want, got)
				}
				// The subscription continues where the joining fetch ended.
				require.NoError(t, tr.WriteObject([]byte("g12-o2")))
				want := objs("g12-o0", "g12-o1", "g12-o2")
				if tc.strict {
					want = objs("g12-o2")
				}
				require.Equal(t, want, sortObjs(readPayloads(t, ctx, sub, len(want))))
			})
		}
	}
}

// A Join subscription reads the current group from the start, in order and
// once each, whether the publisher starts Largest Object subscriptions at
// the group's start (this package's default) or after the largest object
// (the text, and moq-dev's relay).
func TestSubscribeJoin(t *testing.T) {
	for _, strict := range []bool{false, true} {
		for _, tp := range transports[:2] {
			t.Run(fmt.Sprintf("strict=%v/%s", strict, tp.name), func(t *testing.T) {
				tr, addr := cacheFixture(t, SessionConfig{StrictLargestObject: strict})
				s := dialTest(t, tp.url(addr), tp.version)
				ctx := testCtx(t)
				sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{Join: true})
				require.NoError(t, err)
				require.NoError(t, tr.WriteObject([]byte("g12-o2")))
				require.Equal(t, objs("g12-o0", "g12-o1", "g12-o2"), readPayloads(t, ctx, sub, 3))
			})
		}
	}
}

func TestFetchRefused(t *testing.T) {
	for _, tp := range transports[:2] {
		t.Run(tp.name, func(t *testing.T) {
			_, addr := cacheFixture(t, SessionConfig{})
			s := dialTest(t, tp.url(addr), tp.version)
			ctx := testCtx(t)
			invalidRange := &RequestError{Code: wire.RequestInvalidRange}
			_, err := s.Fetch(ctx, FetchRequest{Namespace: cam1, Name: "video", Start: Location{13, 0}, End: Location{14, 0}})
			require.ErrorIs(t, err, invalidRange, "start after the largest location")
			_, err = s.Fetch(ctx, FetchRequest{Namespace: cam1, Name: "video", Start: Location{11, 2}, End: Location{11, 1}})
			require.ErrorIs(t, err, invalidRange, "end before start")

			sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{})
			require.NoError(t, err)
			_, err = s.Fetch(ctx, FetchRequest{Joining: sub, JoiningStart: 13, JoiningAbsolute: true})
			require.ErrorIs(t, err, invalidRange, "joining start after the subscription's start")
			require.NoError(t, sub.Close())
			_, err = s.Fetch(ctx, FetchRequest{Joining: sub})
			require.ErrorIs(t, err, &RequestError{Code: wire.RequestInvalidJoiningRequestID})
		})
	}
}

// A joining FETCH may only name a Largest Object subscription.
func TestJoiningFetchNeedsLargestObject(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			_, addr := cacheFixture(t, SessionConfig{})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 10})
			id := p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterNextGroupStart})
			_, ok := p.readUntil(p.notAnnounce).(*wire.SubscribeOK)
			require.True(t, ok)
			p.send(&wire.Fetch{RequestID: p.nextID(), GroupOrder: wire.GroupOrderAscending, Type: wire.FetchRelativeJoining, JoiningRequestID: id, JoiningStart: 1})
			code, _ := p.closed()
			require.Equal(t, wire.SessionProtocolViolation, code)
		})
	}
}

// With no object published when the subscription started, a joining FETCH
// waits for the track's first object and returns it; a standalone FETCH is
// INVALID_RANGE. A joining FETCH still waiting when its subscription ends is
// INVALID_RANGE.
func TestFetchEmptyTrack(t *testing.T) {
	for _, tp := range transports[:2] {
		for _, end := range []string{"object", "unsubscribe"} {
			t.Run(tp.name+"/"+end, func(t *testing.T) {
				origin := NewOrigin()
				bc, err := origin.Publish(cam1, nil)
				require.NoError(t, err)
				tr, err := bc.CreateTrack("video", TrackOptions{})
				require.NoError(t, err)
				srv, addr := testServer(t, origin, SessionConfig{})
				s := dialTest(t, tp.url(addr), tp.version)
				ctx := testCtx(t)
				_, err = s.Fetch(ctx, FetchRequest{Namespace: cam1, Name: "video", End: Location{1, 0}})
				require.ErrorIs(t, err, &RequestError{Code: wire.RequestInvalidRange})

				sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{})
				require.NoError(t, err)
				require.Nil(t, sub.Largest)
				type result struct {
					f   *FetchResult
					err error
				}
				answered := make(chan result, 1)
				go func() {
					f, err := s.Fetch(ctx, FetchRequest{Joining: sub})
					answered <- result{f, err}
				}()
				require.Eventually(t, func() bool {
					for _, ss := range srv.Sessions() {
						ss.mu.Lock()
						n := len(ss.fetches)
						ss.mu.Unlock()
						if n == 1 {
							return true
						}
					}
					return false
				}, rawTimeout, time.Millisecond, "the server holds the joining FETCH")
				select {
				case r := <-answered:
					t.Fatalf("joining FETCH answered before the track had objects: %v", r.err)
				default:
				}
				if end == "unsubscribe" {
					require.NoError(t, sub.Close())
					require.ErrorIs(t, (<-answered).err, &RequestError{Code: wire.RequestInvalidRange})
					return
				}
				writeObjects(t, tr, 5, 1)
				r := <-answered
				require.NoError(t, r.err)
				got, err := readAll(ctx, r.f)
				require.ErrorIs(t, err, io.EOF)
				require.Equal(t, objs("g5-o0"), got)
			})
		}
	}
}

func TestSubscribeFilters(t *testing.T) {
	cases := []struct {
		name string
		opts SubscribeOptions
		// cached are the objects received at once, from the cache; later
		// come those received while group 12's last object and group 13
		// are written.
		cached, later []string
		done          error // how the subscription ends after group 13 (nil: open)
	}{
		{"largest object", SubscribeOptions{}, objs("g12-o0", "g12-o1"), objs("g12-o2", "g13-o0", "g13-o1"), nil},
		{"next group start", SubscribeOptions{Filter: wire.FilterNextGroupStart}, nil, objs("g13-o0", "g13-o1"), nil},
		{
			"absolute start in the cache",
			SubscribeOptions{Filter: wire.FilterAbsoluteStart, Start: Location{11, 2}},
			objs("g11-o2", "g12-o0", "g12-o1"), objs("g12-o2", "g13-o0", "g13-o1"), nil,
		},
		{
			"absolute start in the future",
			SubscribeOptions{Filter: wire.FilterAbsoluteStart, Start: Location{13, 1}},
			nil, objs("g13-o1"), nil,
		},
		{
			"absolute range",
			SubscribeOptions{Filter: wire.FilterAbsoluteRange, Start: Location{12, 1}, EndGroup: 12},
			objs("g12-o1"), objs("g12-o2"), io.EOF,
		},
	}
	for _, tc := range cases {
		for _, tp := range transports[:2] {
			t.Run(tc.name+"/"+tp.name, func(t *testing.T) {
				tr, addr := cacheFixture(t, SessionConfig{})
				s := dialTest(t, tp.url(addr), tp.version)
				ctx := testCtx(t)
				sub, err := s.Subscribe(ctx, cam1, "video", tc.opts)
				require.NoError(t, err)
				require.Equal(t, &Location{12, 1}, sub.Largest, "SUBSCRIBE_OK carries the largest location")
				// Read what is cached before more groups come: a reader two
				// groups behind would lose groups (MaxLagGroups).
				require.Equal(t, tc.cached, sortObjs(readPayloads(t, ctx, sub, len(tc.cached))))
				require.NoError(t, tr.WriteObject([]byte("g12-o2")))
				writeObjects(t, tr, 13, 2)
				// Groups travel on parallel streams: compare in location order.
				require.Equal(t, tc.later, sortObjs(readPayloads(t, ctx, sub, len(tc.later))))
				if tc.done != nil {
					writeObjects(t, tr, 14, 1)
					rest, err := readAll(ctx, sub)
					require.Empty(t, rest)
					require.ErrorIs(t, err, tc.done)
				}
			})
		}
	}
}

func TestSubscribeRangeRefused(t *testing.T) {
	for _, tp := range transports[:2] {
		t.Run(tp.name, func(t *testing.T) {
			tr, addr := cacheFixture(t, SessionConfig{})
			writeObjects(t, tr, 13, 1)
			writeObjects(t, tr, 14, 1)
			writeObjects(t, tr, 15, 1) // group 10 leaves the cache of four
			s := dialTest(t, tp.url(addr), tp.version)
			ctx := testCtx(t)
			invalid := &RequestError{Code: wire.RequestInvalidRange}
			_, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{Filter: wire.FilterAbsoluteRange, Start: Location{12, 0}, EndGroup: 11})
			require.ErrorIs(t, err, invalid, "end before start")
			_, err = s.Subscribe(ctx, cam1, "video", SubscribeOptions{Filter: wire.FilterAbsoluteRange, Start: Location{9, 0}, EndGroup: 10})
			require.ErrorIs(t, err, invalid, "published and evicted")
			sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{Filter: wire.FilterAbsoluteRange, Start: Location{9, 0}, EndGroup: 11})
			require.NoError(t, err, "partly cached")
			got, err := readAll(ctx, sub)
			require.ErrorIs(t, err, io.EOF)
			require.Equal(t, objs("g11-o0", "g11-o1", "g11-o2"), got)
		})
	}
}

// SUBSCRIBE_UPDATE / REQUEST_UPDATE: a later start and an earlier end take
// effect; forward 0 pauses delivery.
func TestSubscriptionUpdate(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			tr, err := bc.CreateTrack("video", TrackOptions{})
			require.NoError(t, err)
			_, addr := testServer(t, origin, SessionConfig{})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 1000})
			id := p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterAbsoluteRange, Start: wire.Location{Group: 1}, EndGroup: 9})
			_, ok := p.readUntil(p.notAnnounce).(*wire.SubscribeOK)
			require.True(t, ok)

			update := func(start wire.Location, end uint64, forward bool) wire.Message {
				prio := uint8(3)
				p.send(&wire.RequestUpdate{
					RequestID: p.nextID(), ExistingRequestID: id, SubscriberPriority: &prio, Forward: &forward,
					Filter: &wire.Filter{Type: wire.FilterAbsoluteRange, Start: start, EndGroup: end},
				})
				if v == wire.Draft16 {
					return p.readUntil(p.notAnnounce)
				}
				p.sync() // SUBSCRIBE_UPDATE has no answer
				return nil
			}
			ok16 := func(m wire.Message) {
				if v == wire.Draft16 {
					require.IsType(t, &wire.RequestOK{}, m)
				}
			}
			// Narrow to groups 2..3, starting at object 1 of group 2.
			ok16(update(wire.Location{Group: 2, Object: 1}, 3, true))
			writeObjects(t, tr, 1, 2)
			writeObjects(t, tr, 2, 3)
			tr.EndGroup()
			_, payloads, _ := readSubgroupStream(t, p.acceptUni(), v)
			require.Equal(t, objs("g2-o1", "g2-o2"), payloads)
			// Forward 0: group 3 is not sent; the range then completes.
			ok16(update(wire.Location{Group: 2, Object: 1}, 3, false))
			writeObjects(t, tr, 3, 1)
			writeObjects(t, tr, 4, 1)
			done, isDone := p.readUntil(p.notAnnounce).(*wire.PublishDone)
			require.True(t, isDone)
			require.Equal(t, wire.DoneSubscriptionEnded, done.StatusCode)
			require.Equal(t, uint64(1), done.StreamCount)

			// The subscription has ended: draft-14 ignores an update of it,
			// draft-16 refuses it.
			m := update(wire.Location{Group: 5}, 6, true)
			if v == wire.Draft16 {
				re, isErr := m.(*wire.RequestError)
				require.True(t, isErr)
				require.Equal(t, wire.RequestDoesNotExist, re.Code)
			}
		})
	}
}

func TestSubscriptionUpdateViolations(t *testing.T) {
	cases := []struct {
		name   string
		filter wire.Filter
		target func(id uint64) uint64
		only   wire.Version // 0: both drafts
	}{
		{"widen end", wire.Filter{Type: wire.FilterAbsoluteRange, Start: wire.Location{Group: 20}, EndGroup: 26}, func(id uint64) uint64 { return id }, wire.Draft14},
		{"open end", wire.Filter{Type: wire.FilterAbsoluteStart, Start: wire.Location{Group: 20}}, func(id uint64) uint64 { return id }, wire.Draft14},
		{"end before start", wire.Filter{Type: wire.FilterAbsoluteRange, Start: wire.Location{Group: 24}, EndGroup: 23}, func(id uint64) uint64 { return id }, 0},
		{"unknown request", wire.Filter{Type: wire.FilterAbsoluteRange, Start: wire.Location{Group: 20}, EndGroup: 25}, func(uint64) uint64 { return 40 }, 0},
	}
	for _, tc := range cases {
		for _, v := range drafts {
			if tc.only != 0 && tc.only != v {
				continue
			}
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				_, addr := cacheFixture(t, SessionConfig{})
				p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 1000})
				id := p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterAbsoluteRange, Start: wire.Location{Group: 20}, EndGroup: 25})
				_, ok := p.readUntil(p.notAnnounce).(*wire.SubscribeOK)
				require.True(t, ok)
				prio, fwd := uint8(1), true
				f := tc.filter
				p.send(&wire.RequestUpdate{RequestID: p.nextID(), ExistingRequestID: tc.target(id), SubscriberPriority: &prio, Forward: &fwd, Filter: &f})
				code, _ := p.closed()
				require.Equal(t, wire.SessionProtocolViolation, code)
			})
		}
	}
}

// Draft-16 REQUEST_UPDATE may move the end group later.
func TestRequestUpdateWidensDraft16(t *testing.T) {
	tr, addr := cacheFixture(t, SessionConfig{})
	p, _ := dialRaw(t, addr, wire.Draft16, wire.SetupParams{MaxRequestID: 1000})
	id := p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterAbsoluteRange, Start: wire.Location{Group: 13}, EndGroup: 13})
	_, ok := p.readUntil(p.notAnnounce).(*wire.SubscribeOK)
	require.True(t, ok)
	p.send(&wire.RequestUpdate{
		RequestID: p.nextID(), ExistingRequestID: id,
		Filter: &wire.Filter{Type: wire.FilterAbsoluteRange, Start: wire.Location{Group: 13}, EndGroup: 14},
	})
	rok, isOK := p.readUntil(p.notAnnounce).(*wire.RequestOK)
	require.True(t, isOK)
	require.Equal(t, &wire.Location{Group: 12, Object: 1}, rok.Largest)
	for g := uint64(13); g <= 14; g++ {
		writeObjects(t, tr, g, 1)
		tr.EndGroup()
		_, payloads, _ := readSubgroupStream(t, p.acceptUni(), wire.Draft16)
		require.Equal(t, objs(fmt.Sprintf("g%d-o0", g)), payloads)
	}
}

// UNSUBSCRIBE resets the open stream and ends the subscription without
// PUBLISH_DONE.
func TestUnsubscribe(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			tr, addr := cacheFixture(t, SessionConfig{})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 1000})
			id := p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterLargestObject})
			_, ok := p.readUntil(p.notAnnounce).(*wire.SubscribeOK)
			require.True(t, ok)
			st := p.acceptUni()
			p.send(&wire.Unsubscribe{RequestID: id})
			_, _, fin := readSubgroupStream(t, st, v)
			require.False(t, fin, "the open group's stream is reset")
			writeObjects(t, tr, 13, 1)
			// Nothing follows: no stream, no PUBLISH_DONE.
			p.quiet(100 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := p.c.AcceptUniStream(ctx)
			require.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}

func TestTrackStatus(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			tr, addr := cacheFixture(t, SessionConfig{})
			s := dialTest(t, tc.url(addr), tc.version)
			ctx := testCtx(t)
			l, err := s.TrackStatus(ctx, cam1, "video")
			require.NoError(t, err)
			require.Equal(t, &Location{12, 1}, l)
			require.NoError(t, tr.WriteObject(nil))
			l, err = s.TrackStatus(ctx, cam1, "video")
			require.NoError(t, err)
			require.Equal(t, &Location{12, 2}, l)
		})
	}
}

// PUBLISH_DONE carries the number of streams opened, also when a slow
// subscriber had streams reset.
func TestPublishDoneStreamCount(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			tr, err := bc.CreateTrack("video", TrackOptions{})
			require.NoError(t, err)
			_, addr := testServer(t, origin, SessionConfig{})
			s := dialTest(t, tc.url(addr), tc.version)
			ctx := testCtx(t)
			sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{Filter: wire.FilterNextGroupStart})
			require.NoError(t, err)
			for g := uint64(1); g <= 5; g++ {
				writeObjects(t, tr, g, 2)
				require.Len(t, readPayloads(t, ctx, sub, 2), 2)
			}
			tr.Close()
			_, err = readAll(ctx, sub)
			require.ErrorIs(t, err, io.EOF)
			sub.mu.Lock()
			defer sub.mu.Unlock()
			require.Equal(t, uint64(5), sub.doneCount)
			require.Equal(t, uint64(5), sub.streams)
		})
	}
}

var (
	_ = errors.New
	_ atomic.Int32
)

// PUBLISH is not supported: refused with NOT_SUPPORTED, the session goes on.
func TestPublishRefused(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			_, addr := testServer(t, NewOrigin(), SessionConfig{})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 10})
			id := p.nextID()
			p.send(&wire.Publish{
				RequestID: id, Namespace: wire.Namespace(cam1), TrackName: "video", TrackAlias: 1,
				GroupOrder: wire.GroupOrderAscending, Forward: true,
			})
			re, ok := p.readUntil(p.notAnnounce).(*wire.RequestError)
			require.True(t, ok)
			require.Equal(t, id, re.RequestID)
			require.Equal(t, wire.RequestNotSupported, re.Code)
			p.sync()
		})
	}
}
