package moq

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// Delivery is how a track's objects travel to subscribers.
type Delivery uint8

// Deliveries.
const (
	// DeliveryStream sends one subgroup stream per group, FIN at group end
	// (draft-14 §10.4.2).
	DeliveryStream Delivery = iota
	// DeliveryDatagram sends one OBJECT_DATAGRAM per object (draft-14
	// §10.3). An object too large for a datagram goes on a subgroup stream
	// where the draft allows mixing (draft-16), else it is counted as lost.
	DeliveryDatagram
)

func (d Delivery) String() string {
	if d == DeliveryDatagram {
		return "datagram"
	}
	return "stream"
}

// TrackOptions tune a track.
type TrackOptions struct {
	Delivery Delivery
	// Priority is the publisher priority of the track's streams and
	// datagrams; lower is more important (draft-14 §7).
	Priority uint8
	// CacheGroups is how many ended groups are kept besides the current one
	// for FETCH and for subscriptions that start in the past (default 2).
	CacheGroups int
	// MinCacheAge keeps ended groups younger than this even beyond
	// CacheGroups (default 500 ms; negative: none): an RTMP publisher's
	// first seconds arrive as one burst after the ingest probe, and a
	// subscriber that was waiting should still get them. CacheBytes still
	// applies.
	MinCacheAge time.Duration
	// LagGrace is how long ago a subscriber's group must have ended before
	// falling MaxLagGroups behind costs it groups (default 500 ms;
	// negative: none), so a burst of groups written at once does not count
	// as a slow subscriber.
	LagGrace time.Duration
	// CacheBytes caps the bytes of ended groups kept (default 8 MiB); the
	// current group is kept whole so a joiner can decode, up to
	// MaxGroupBytes.
	CacheBytes int
	// MaxGroupBytes bounds one group (default 64 MiB: ten seconds of a
	// 50 Mb/s contribution feed). A source that stops sending keyframes
	// would otherwise grow its group for ever: past the bound, the head of
	// the group is dropped, readers still in it lose the rest of the group
	// and new ones wait for the next.
	MaxGroupBytes int
}

// Defaults for TrackOptions.
const (
	DefaultCacheGroups   = 2
	DefaultCacheBytes    = 8 << 20
	DefaultMaxGroupBytes = 64 << 20
	DefaultMinCacheAge   = 500 * time.Millisecond
	DefaultLagGrace      = 500 * time.Millisecond
)

// Errors of the track writer.
var (
	ErrTrackClosed   = errors.New("moq: track closed")
	ErrNoGroup       = errors.New("moq: no open group")
	ErrGroupOrder    = errors.New("moq: group IDs must grow")
	ErrObjectOrder   = errors.New("moq: object ID is not the group's next")
	ErrBroadcastDone = errors.New("moq: broadcast closed")
)

// Location is a position in a track (draft-14 §1.3.1): group, then object.
type Location struct {
	Group, Object uint64
}

// Less orders locations lexicographically.
func (l Location) Less(o Location) bool {
	return l.Group < o.Group || (l.Group == o.Group && l.Object < o.Object)
}

// next is the location of the object after l in its group: the exclusive
// end of a range that ends at l.
func (l Location) next() Location { return Location{Group: l.Group, Object: l.Object + 1} }

// group is a cached group. Objects are shared, immutable payloads; readers
// take them under the track's lock.
type group struct {
	id      uint64
	seq     uint64 // position in the track, for lag arithmetic
	objects [][]byte
	size    int
	trimmed int // leading objects dropped (MaxGroupBytes); their entries are nil
	ended   bool
	endedAt time.Time
	next    *group
}

// Track is one track of a broadcast. Its owner writes groups and objects;
// every subscription reads them from the track's cache at its own pace, so
// the writer never waits for a subscriber.
type Track struct {
	bc   *Broadcast
	name string
	opts TrackOptions

	mu      sync.Mutex
	oldest  *group // oldest cached group; oldest..cur linked by next
	cur     *group // newest group
	nextSeq uint64
	closed  bool
	readers map[*trackReader]struct{}

	largest    Location
	hasLargest bool
}

func newTrack(bc *Broadcast, name string, opts TrackOptions) *Track {
	if opts.CacheGroups <= 0 {
		opts.CacheGroups = DefaultCacheGroups
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.MaxGroupBytes <= 0 {
		opts.MaxGroupBytes = DefaultMaxGroupBytes
	}
	if opts.MinCacheAge == 0 {
		opts.MinCacheAge = DefaultMinCacheAge
	}
	if opts.LagGrace == 0 {
		opts.LagGrace = DefaultLagGrace
	}
	return &Track{bc: bc, name: name, opts: opts, readers: make(map[*trackReader]struct{})}
}

// Name is the track name.
func (t *Track) Name() string { return t.name }

// Broadcast is the broadcast the track belongs to.
func (t *Track) Broadcast() *Broadcast { return t.bc }

// Options are the options the track was created with (defaults filled in).
func (t *Track) Options() TrackOptions { return t.opts }

// StartGroup ends the current group, if any, and opens group id, which must
// be larger than every group before it. Subscribers that are more than
// MaxLagGroups behind lose the groups in between: their stream is reset and
// they continue at this group.
func (t *Track) StartGroup(id uint64) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrTrackClosed
	}
	if t.cur != nil && id <= t.cur.id {
		cur := t.cur.id
		t.mu.Unlock()
		return fmt.Errorf("%w: %d after %d", ErrGroupOrder, id, cur)
	}
	g := &group{id: id, seq: t.nextSeq}
	t.nextSeq++
	if t.cur != nil {
		t.cur.end()
		t.cur.next = g
	} else {
		t.oldest = g
	}
	t.cur = g
	t.evictLocked()
	var resets []func(wire.ResetCode)
	for r := range t.readers {
		if r.onGroupLocked(g) {
			// The stream to reset is the one open now, with the reader
			// still on its old group: read it under the lock, so a
			// stream the subscriber opens for the new group is spared.
			if f := r.cancelFunc.Load(); f != nil {
				resets = append(resets, *f)
			}
		}
	}
	t.mu.Unlock()
	// Reset outside the lock: it calls into the transport.
	for _, reset := range resets {
		reset(wire.ResetDeliveryTimeout)
	}
	return nil
}

// WriteObject appends payload as the next object of the open group. The
// track keeps payload and shares it with every subscriber: the caller must
// not modify it afterwards.
func (t *Track) WriteObject(payload []byte) error {
	return t.writeObject(nil, payload)
}

// WriteObjectAt is WriteObject for a writer that numbers objects itself
// (the packager): id must be the open group's next object ID, else
// ErrObjectOrder and nothing is written. Objects of a group are dense, as
// the cache and FETCH serve them.
func (t *Track) WriteObjectAt(id uint64, payload []byte) error {
	return t.writeObject(&id, payload)
}

func (t *Track) writeObject(id *uint64, payload []byte) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrTrackClosed
	}
	if t.cur == nil || t.cur.ended {
		t.mu.Unlock()
		return ErrNoGroup
	}
	if next := uint64(len(t.cur.objects)); id != nil && *id != next {
		t.mu.Unlock()
		return fmt.Errorf("%w: object %d of group %d, want %d", ErrObjectOrder, *id, t.cur.id, next)
	}
	t.largest = Location{Group: t.cur.id, Object: uint64(len(t.cur.objects))}
	t.hasLargest = true
	t.cur.objects = append(t.cur.objects, payload)
	t.cur.size += len(payload)
	var resets []func(wire.ResetCode)
	if t.cur.size > t.opts.MaxGroupBytes {
		resets = t.trimLocked()
	}
	t.wakeLocked()
	t.mu.Unlock()
	for _, reset := range resets {
		reset(wire.ResetDeliveryTimeout)
	}
	return nil
}

// trimLocked drops the head of the oversized current group down to half of
// MaxGroupBytes (half, so that it does not run again for every object).
// Readers still in the dropped part lose the rest of the group, their
// stream reset as for a lagging reader; it returns those resets.
func (t *Track) trimLocked() []func(wire.ResetCode) {
	g := t.cur
	for g.size > t.opts.MaxGroupBytes/2 && g.trimmed < len(g.objects)-1 {
		g.size -= len(g.objects[g.trimmed])
		g.objects[g.trimmed] = nil
		g.trimmed++
	}
	var resets []func(wire.ResetCode)
	for r := range t.readers {
		if r.g == g && r.idx < g.trimmed && !r.skipRest {
			r.dropRestLocked()
			if f := r.cancelFunc.Load(); f != nil {
				resets = append(resets, *f)
			}
		}
	}
	return resets
}

// EndGroup ends the open group; the next object needs StartGroup.
func (t *Track) EndGroup() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur != nil && !t.cur.ended {
		t.cur.end()
		t.wakeLocked()
	}
}

// Close ends the track: subscribers receive what is cached, then End of
// Track and PUBLISH_DONE (TRACK_ENDED).
func (t *Track) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	if t.cur != nil {
		t.cur.end()
	}
	t.wakeLocked()
	t.mu.Unlock()
	t.bc.removeTrack(t)
}

// Largest returns the location of the newest object, if any.
func (t *Track) Largest() (Location, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.largest, t.hasLargest
}

// CurrentGroup returns the newest group's ID and the objects it holds so
// far (shared payloads: do not modify); ok is false before the first group
// or when its head was dropped (MaxGroupBytes).
func (t *Track) CurrentGroup() (id uint64, objects [][]byte, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur == nil || t.cur.trimmed > 0 {
		return 0, nil, false
	}
	return t.cur.id, append([][]byte(nil), t.cur.objects...), true
}

// awaitLargest waits for the track's first object and returns the largest
// location then; false if ctx ends or the track closes first.
func (t *Track) awaitLargest(ctx context.Context) (Location, bool) {
	r := t.newReader(startCurrentGroup, Location{}, 0, false)
	if r == nil {
		return Location{}, false
	}
	defer r.close()
	for {
		t.mu.Lock()
		l, has, closed := t.largest, t.hasLargest, t.closed
		t.mu.Unlock()
		switch {
		case has:
			return l, true
		case closed:
			return Location{}, false
		}
		select {
		case <-r.notify:
		case <-ctx.Done():
			return Location{}, false
		}
	}
}

// Closed reports whether the track has ended.
func (t *Track) Closed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// end marks g ended (once).
func (g *group) end() {
	if !g.ended {
		g.ended, g.endedAt = true, time.Now()
	}
}

// evictLocked drops ended groups beyond the cache limits. Readers that still
// hold an evicted group keep it alive until they move on.
func (t *Track) evictLocked() {
	ended, bytes := 0, 0
	for g := t.oldest; g != nil && g != t.cur; g = g.next {
		ended++
		bytes += g.size
	}
	now := time.Now()
	for t.oldest != t.cur && (bytes > t.opts.CacheBytes ||
		(ended > t.opts.CacheGroups && now.Sub(t.oldest.endedAt) >= t.opts.MinCacheAge)) {
		ended--
		bytes -= t.oldest.size
		t.oldest = t.oldest.next
	}
}

func (t *Track) wakeLocked() {
	for r := range t.readers {
		r.wake()
	}
}

// rangeAvailable reports whether a subscription from start to end group
// can be served: some of it is cached or still to come.
func (t *Track) rangeAvailable(start Location, end uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur == nil || end >= t.cur.id {
		return true
	}
	g := t.findLocked(start.Group)
	return g != nil && g.id <= end
}

// findLocked returns the oldest cached group with an ID ≥ id.
func (t *Track) findLocked(id uint64) *group {
	for g := t.oldest; g != nil; g = g.next {
		if g.id >= id {
			return g
		}
	}
	return nil
}
