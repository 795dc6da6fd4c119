package moq

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// testTrack makes a track whose cache and lag rules count groups only, so
// tests that write groups back to back see them; TestBurst covers the
// time-based rules.
func testTrack(t *testing.T, opts TrackOptions) *Track {
	t.Helper()
	if opts.MinCacheAge == 0 {
		opts.MinCacheAge = -1
	}
	if opts.LagGrace == 0 {
		opts.LagGrace = -1
	}
	b, err := NewOrigin().Publish(Namespace{"live", "cam1"}, nil)
	require.NoError(t, err)
	tr, err := b.CreateTrack("video", opts)
	require.NoError(t, err)
	return tr
}

func writeGroup(t *testing.T, tr *Track, id uint64, n int) {
	t.Helper()
	require.NoError(t, tr.StartGroup(id))
	for i := range n {
		require.NoError(t, tr.WriteObject(fmt.Appendf(nil, "g%d-o%d", id, i)))
	}
}

// drain reads events until the reader would wait and renders them.
func drain(r *trackReader) []string {
	var out []string
	for {
		ev := r.next()
		switch ev.kind {
		case evWait:
			return out
		case evObject:
			s := string(ev.payload)
			if ev.skipped > 0 {
				s = fmt.Sprintf("skip%d:%s", ev.skipped, s)
			}
			out = append(out, s)
		case evGroupEnd:
			out = append(out, fmt.Sprintf("end-g%d", ev.group.id))
		case evEnd:
			if ev.trackEnded {
				return append(out, "end-track")
			}
			return append(out, "end-range")
		}
	}
}

func TestReaderStartModes(t *testing.T) {
	cases := []struct {
		name string
		mode startMode
		loc  Location
		want []string
	}{
		{"current group from its start", startCurrentGroup, Location{}, []string{"g11-o0", "g11-o1"}},
		{"after largest", startAfterLargest, Location{}, nil},
		{"next group", startNextGroup, Location{}, nil},
		{"absolute in cache", startAbsolute, Location{10, 1}, []string{"g10-o1", "end-g10", "g11-o0", "g11-o1"}},
		{"absolute in the future", startAbsolute, Location{20, 0}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := testTrack(t, TrackOptions{})
			writeGroup(t, tr, 10, 2)
			writeGroup(t, tr, 11, 2)
			r := tr.newReader(tc.mode, tc.loc, 0, false)
			require.Equal(t, tc.want, drain(r))

			// Everyone but the future reader sees the next group.
			require.NoError(t, tr.WriteObject([]byte("g11-o2")))
			writeGroup(t, tr, 12, 1)
			got := drain(r)
			if tc.loc.Group == 20 {
				require.Empty(t, got)
				return
			}
			require.Equal(t, "g12-o0", got[len(got)-1])
		})
	}
}

func TestReaderAbsoluteRangeEnds(t *testing.T) {
	tr := testTrack(t, TrackOptions{})
	writeGroup(t, tr, 1, 1)
	r := tr.newReader(startAbsolute, Location{1, 0}, 2, true)
	require.Equal(t, []string{"g1-o0"}, drain(r))
	writeGroup(t, tr, 2, 1)
	require.Equal(t, []string{"end-g1", "g2-o0"}, drain(r))
	writeGroup(t, tr, 3, 1)
	require.Equal(t, []string{"end-g2", "end-range"}, drain(r))
}

func TestReaderLagSkipsWholeGroups(t *testing.T) {
	tr := testTrack(t, TrackOptions{CacheGroups: 5})
	writeGroup(t, tr, 1, 2)
	r := tr.newReader(startCurrentGroup, Location{}, 0, false)
	require.Equal(t, "g1-o0", string(r.next().payload))

	cancelled := 0
	r.setCancel(func(wire.ResetCode) { cancelled++ })
	writeGroup(t, tr, 2, 1) // one group behind: tolerated
	require.Zero(t, cancelled)
	writeGroup(t, tr, 3, 1) // two behind: groups 1 and 2 are lost
	require.Equal(t, 1, cancelled)
	require.Equal(t, []string{"skip2:g3-o0"}, drain(r))
}

func TestReaderTrackEnd(t *testing.T) {
	tr := testTrack(t, TrackOptions{})
	writeGroup(t, tr, 5, 1)
	r := tr.newReader(startCurrentGroup, Location{}, 0, false)
	tr.Close()
	require.Equal(t, []string{"g5-o0", "end-track"}, drain(r))
	require.ErrorIs(t, tr.WriteObject(nil), ErrTrackClosed)
	require.ErrorIs(t, tr.StartGroup(6), ErrTrackClosed)
}

func TestTrackWriterRules(t *testing.T) {
	tr := testTrack(t, TrackOptions{})
	require.ErrorIs(t, tr.WriteObject([]byte("x")), ErrNoGroup)
	require.NoError(t, tr.StartGroup(7))
	require.ErrorIs(t, tr.StartGroup(7), ErrGroupOrder)
	require.NoError(t, tr.WriteObject([]byte("x")))
	tr.EndGroup()
	require.ErrorIs(t, tr.WriteObject([]byte("y")), ErrNoGroup)
	loc, ok := tr.Largest()
	require.True(t, ok)
	require.Equal(t, Location{7, 0}, loc)

	// A writer that numbers objects itself must agree with the track.
	require.NoError(t, tr.StartGroup(8))
	require.NoError(t, tr.WriteObjectAt(0, []byte("a")))
	require.ErrorIs(t, tr.WriteObjectAt(2, []byte("c")), ErrObjectOrder)
	require.ErrorIs(t, tr.WriteObjectAt(0, []byte("a")), ErrObjectOrder)
	require.NoError(t, tr.WriteObjectAt(1, []byte("b")))
	loc, _ = tr.Largest()
	require.Equal(t, Location{8, 1}, loc)
}

func TestTrackCacheEviction(t *testing.T) {
	tr := testTrack(t, TrackOptions{CacheGroups: 2, CacheBytes: 1 << 20})
	for g := uint64(1); g <= 6; g++ {
		writeGroup(t, tr, g, 3)
	}
	var ids []uint64
	for g := tr.oldest; g != nil; g = g.next {
		ids = append(ids, g.id)
	}
	require.Equal(t, []uint64{4, 5, 6}, ids)

	small := testTrack(t, TrackOptions{CacheGroups: 10, CacheBytes: 10})
	for g := uint64(1); g <= 3; g++ {
		writeGroup(t, small, g, 3) // 18 bytes a group: only the current is kept
	}
	require.Equal(t, uint64(3), small.oldest.id)
}

func TestOriginLookup(t *testing.T) {
	o := NewOrigin()
	b, err := o.Publish(Namespace{"live", "cam1"}, nil)
	require.NoError(t, err)
	_, err = o.Publish(Namespace{"live", "cam1"}, nil)
	require.ErrorIs(t, err, ErrDuplicateBroadcast)

	got, rest := o.Lookup(Namespace{"live", "cam1"})
	require.Same(t, b, got)
	require.Empty(t, rest)
	got, rest = o.Lookup(Namespace{"live", "cam1", "hd"})
	require.Same(t, b, got)
	require.Equal(t, Namespace{"hd"}, rest)
	got, _ = o.Lookup(Namespace{"live/cam1"})
	require.Same(t, b, got)
	got, _ = o.Lookup(Namespace{"live"})
	require.Nil(t, got)

	w := o.watch()
	require.Len(t, w.take(), 1)
	b.Close()
	evs := w.take()
	require.Len(t, evs, 1)
	require.False(t, evs[0].live)
	got, _ = o.Lookup(Namespace{"live", "cam1"})
	require.Nil(t, got)
}

// TestBurst: groups written back to back (an RTMP publisher's probed first
// seconds) stay cached for a subscriber that arrives a moment later, and a
// subscriber behind such a burst loses nothing; once its groups are older
// than LagGrace, a subscriber that far behind does lose them.
func TestBurst(t *testing.T) {
	tr := testTrack(t, TrackOptions{CacheGroups: 1, MinCacheAge: time.Hour, LagGrace: time.Hour})
	for g := uint64(1); g <= 4; g++ {
		writeGroup(t, tr, g, 2)
	}
	r := tr.newReader(startAbsolute, Location{Group: 1}, 0, false)
	require.Equal(t, "g1-o0", string(r.next().payload), "the whole burst is cached")
	writeGroup(t, tr, 5, 1)
	got := drain(r)
	require.NotContains(t, fmt.Sprint(got), "skip", "a burst is not lag")

	slow := testTrack(t, TrackOptions{CacheGroups: 1, MinCacheAge: -1, LagGrace: time.Nanosecond})
	writeGroup(t, slow, 1, 2)
	r = slow.newReader(startCurrentGroup, Location{}, 0, false)
	require.Equal(t, "g1-o0", string(r.next().payload))
	time.Sleep(time.Millisecond) // the groups must be older than LagGrace
	writeGroup(t, slow, 2, 1)
	writeGroup(t, slow, 3, 1)
	require.Equal(t, []string{"skip2:g3-o0"}, drain(r))
}

// A group that outgrows MaxGroupBytes (a source that stopped sending
// keyframes) loses its head: memory stays bounded, a reader inside the lost
// part has its stream reset and resumes at the next group, a new reader
// waits for it, and FETCH returns only what is kept.
func TestGroupTrim(t *testing.T) {
	tr := testTrack(t, TrackOptions{MaxGroupBytes: 60})
	require.NoError(t, tr.StartGroup(1))
	obj := func(i int) []byte { return fmt.Appendf(nil, "g1-o%d-%s", i, "xxxx") } // 10 bytes
	inside := tr.newReader(startCurrentGroup, Location{}, 0, false)
	var reset []wire.ResetCode
	inside.setCancel(func(c wire.ResetCode) { reset = append(reset, c) })
	for i := range 2 {
		require.NoError(t, tr.WriteObject(obj(i)))
	}
	require.Equal(t, []string{"g1-o0-xxxx", "g1-o1-xxxx"}, drain(inside))
	tail := tr.newReader(startAfterLargest, Location{}, 0, false)
	for i := 2; i < 4; i++ {
		require.NoError(t, tr.WriteObject(obj(i)))
	}
	require.Equal(t, []string{"g1-o2-xxxx", "g1-o3-xxxx"}, drain(tail))
	for i := 4; i < 7; i++ { // 70 bytes: trims to 30
		require.NoError(t, tr.WriteObject(obj(i)))
	}
	tr.mu.Lock()
	size, trimmed := tr.cur.size, tr.cur.trimmed
	tr.mu.Unlock()
	require.Equal(t, 30, size)
	require.Equal(t, 4, trimmed)
	require.Equal(t, []wire.ResetCode{wire.ResetDeliveryTimeout}, reset)
	require.Empty(t, drain(inside), "the rest of the group is lost")
	require.Equal(t, []string{"g1-o4-xxxx", "g1-o5-xxxx", "g1-o6-xxxx"}, drain(tail), "a reader past the cut goes on")
	joiner := tr.newReader(startCurrentGroup, Location{}, 0, false)
	require.Empty(t, drain(joiner), "no decodable start in this group")

	got, _ := tr.collect(Location{1, 0}, Location{2, 0})
	require.Len(t, got, 3)
	require.Equal(t, Location{1, 4}, got[0].loc)

	writeGroup(t, tr, 2, 1)
	require.Equal(t, []string{"end-g1", "skip1:g2-o0"}, drain(inside))
	require.Equal(t, []string{"end-g1", "g2-o0"}, drain(tail))
	require.Equal(t, []string{"end-g1", "skip1:g2-o0"}, drain(joiner))
}
