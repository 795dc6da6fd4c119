package moq

import (
	"sync/atomic"
	"time"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// MaxLagGroups is how many whole groups a subscriber may trail the newest
// group before it loses them: with 1, a subscriber still sending group N
// when group N+2 starts skips to N+2. Memory per subscriber is therefore
// bounded by the groups it pins, never by a queue that grows.
const MaxLagGroups = 1

// startMode is where a reader starts.
type startMode uint8

const (
	// startCurrentGroup starts at object 0 of the newest group, so the
	// subscriber can decode at once (the gateway's Largest Object behaviour,
	// as moq-rs relays do).
	startCurrentGroup startMode = iota
	// startAfterLargest starts after the newest object (Largest Object,
	// strictly per draft-14 §9.7).
	startAfterLargest
	// startNextGroup waits for the next group (Next Group Start).
	startNextGroup
	// startAbsolute starts at a location (AbsoluteStart/AbsoluteRange).
	startAbsolute
)

// eventKind says what a reader produced.
type eventKind uint8

const (
	evWait eventKind = iota
	evObject
	evGroupEnd
	evEnd // track ended, or the subscription's end group is done
)

// readEvent is one step of a reader.
type readEvent struct {
	kind    eventKind
	group   *group
	object  uint64
	payload []byte
	// skipped counts whole groups lost because the reader fell behind,
	// reported with the first object after the jump.
	skipped int
	// trackEnded distinguishes End of Track from the end of a range.
	trackEnded bool
}

// trackReader is one subscription's cursor over a track's cache. Its state
// is guarded by the track's lock; its transport-facing side (stream, notify)
// belongs to the goroutine that writes the subscription.
type trackReader struct {
	t *Track

	g       *group // group being delivered; nil while waiting for one
	idx     int    // next object index in g
	endSent bool   // evGroupEnd already produced for g
	// start is the first location delivered: earlier objects are skipped
	// (SUBSCRIBE_UPDATE may move it forward).
	start Location
	// largest is the track's largest location when the reader started
	// (hasLargest false when the track had no object yet): a joining FETCH
	// ends there (draft-16 §9.16.2.1).
	largest    Location
	hasLargest bool
	hasEnd     bool
	endGroup   uint64 // last group delivered when hasEnd
	skipped    int
	skipRest   bool // drop what is left of g (its stream was stopped)
	notify     chan struct{}
	cancelFunc atomic.Pointer[func(wire.ResetCode)]
}

// newReader registers a reader on t starting per mode (loc for
// startAbsolute). It returns nil when the track has already ended.
func (t *Track) newReader(mode startMode, loc Location, endGroup uint64, hasEnd bool) *trackReader {
	r := &trackReader{t: t, notify: make(chan struct{}, 1), hasEnd: hasEnd, endGroup: endGroup}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed && t.cur == nil {
		return nil
	}
	r.largest, r.hasLargest = t.largest, t.hasLargest
	switch mode {
	case startCurrentGroup:
		r.g = t.cur
		if t.cur != nil {
			r.start = Location{Group: t.cur.id}
		}
	case startAfterLargest:
		if t.cur != nil {
			r.g, r.idx = t.cur, len(t.cur.objects)
			r.start = Location{Group: t.cur.id, Object: uint64(len(t.cur.objects))}
		}
	case startNextGroup:
		if t.cur != nil {
			r.start = Location{Group: t.cur.id + 1}
		}
	case startAbsolute:
		r.start = loc
		if g := t.findLocked(loc.Group); g != nil {
			r.g = g
			if g.id == loc.Group {
				r.idx = int(min(loc.Object, uint64(len(g.objects))))
			}
		}
	}
	t.readers[r] = struct{}{}
	return r
}

// close unregisters the reader.
func (r *trackReader) close() {
	r.t.mu.Lock()
	delete(r.t.readers, r)
	r.g = nil
	r.t.mu.Unlock()
}

func (r *trackReader) wake() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// setCancel installs what resets the stream currently being written (nil
// when none is open).
func (r *trackReader) setCancel(f func(wire.ResetCode)) {
	if f == nil {
		r.cancelFunc.Store(nil)
		return
	}
	r.cancelFunc.Store(&f)
}

// cancelStream resets the stream being written, if any, with code.
func (r *trackReader) cancelStream(code wire.ResetCode) {
	if f := r.cancelFunc.Load(); f != nil {
		(*f)(code)
	}
}

// onGroupLocked attaches a waiting reader to a new group, or moves a lagging
// one to it. It reports whether the reader lagged (its stream must be reset).
func (r *trackReader) onGroupLocked(g *group) bool {
	defer r.wake()
	if r.g == nil {
		if g.id >= r.start.Group {
			r.g, r.idx, r.endSent, r.skipRest = g, 0, false, false
		}
		return false
	}
	pos := r.g.seq
	if r.idx >= len(r.g.objects) {
		pos++ // everything of r.g is out: only its FIN is pending
	}
	if g.seq-pos <= MaxLagGroups {
		return false
	}
	if time.Since(r.g.endedAt) < r.t.opts.LagGrace {
		return false // a burst of groups written at once, not a slow reader
	}
	r.skipped += int(g.seq - r.g.seq)
	r.g, r.idx, r.endSent, r.skipRest = g, 0, false, false
	return true
}

// dropRestLocked makes the reader lose the rest of its group, counted as a
// dropped group with its next object.
func (r *trackReader) dropRestLocked() {
	r.skipRest = true
	r.skipped++
}

// skipGroup drops the rest of g: its stream was stopped or reset, and a
// group is only ever sent on one stream.
func (r *trackReader) skipGroup(g *group) {
	r.t.mu.Lock()
	if r.g == g {
		r.skipRest = true
	}
	r.t.mu.Unlock()
}

// setEnd changes the last group delivered (SUBSCRIBE_UPDATE,
// REQUEST_UPDATE); hasEnd false makes the subscription open-ended.
func (r *trackReader) setEnd(end uint64, hasEnd bool) {
	r.t.mu.Lock()
	r.hasEnd, r.endGroup = hasEnd, end
	r.t.mu.Unlock()
	r.wake()
}

// setStart moves the first location delivered forward; objects before it
// that were not sent yet are skipped.
func (r *trackReader) setStart(l Location) {
	r.t.mu.Lock()
	if r.start.Less(l) {
		r.start = l
	}
	r.t.mu.Unlock()
	r.wake()
}

// bounds returns the reader's start and end group.
func (r *trackReader) bounds() (start Location, end uint64, hasEnd bool) {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	return r.start, r.endGroup, r.hasEnd
}

// next returns the reader's next step without blocking; evWait means wait on
// notify and call again.
func (r *trackReader) next() readEvent {
	t := r.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for r.g != nil {
		g := r.g
		if r.hasEnd && g.id > r.endGroup {
			return readEvent{kind: evEnd}
		}
		if !r.skipRest && r.idx < g.trimmed {
			r.dropRestLocked() // its head is gone: it cannot be decoded
		}
		if !r.skipRest && r.idx < len(g.objects) && (Location{Group: g.id, Object: uint64(r.idx)}).Less(r.start) {
			r.idx++ // before the start (moved by an update)
			continue
		}
		if !r.skipRest && r.idx < len(g.objects) {
			ev := readEvent{kind: evObject, group: g, object: uint64(r.idx), payload: g.objects[r.idx], skipped: r.skipped}
			r.idx++
			r.skipped = 0
			return ev
		}
		if !g.ended {
			return readEvent{kind: evWait}
		}
		if t.closed && g.next == nil {
			r.g = nil
			return readEvent{kind: evEnd, group: g, trackEnded: true}
		}
		if !r.endSent {
			r.endSent = true
			return readEvent{kind: evGroupEnd, group: g}
		}
		if r.hasEnd && g.id >= r.endGroup {
			return readEvent{kind: evEnd, group: g}
		}
		r.g, r.idx, r.endSent, r.skipRest = g.next, 0, false, false
	}
	if t.closed {
		return readEvent{kind: evEnd, trackEnded: true}
	}
	return readEvent{kind: evWait}
}
