package moq

import (
	"sync"
)

// Origin is the set of broadcasts a process publishes. Every session — those
// a Server accepts and those Dial opens — serves subscriptions from it and
// announces its broadcasts to the peer.
type Origin struct {
	mu         sync.Mutex
	broadcasts map[string]*Broadcast
	byPath     map[string]*Broadcast // fields joined with "/", for one-field lookups
	watchers   map[*originWatcher]struct{}
}

// NewOrigin returns an empty origin.
func NewOrigin() *Origin {
	return &Origin{
		broadcasts: make(map[string]*Broadcast),
		byPath:     make(map[string]*Broadcast),
		watchers:   make(map[*originWatcher]struct{}),
	}
}

// Publish starts a broadcast on ns. Tracks are created with
// Broadcast.CreateTrack, or on demand by provider (which may be nil).
func (o *Origin) Publish(ns Namespace, provider TrackProvider) (*Broadcast, error) {
	b := &Broadcast{
		origin:   o,
		ns:       append(Namespace(nil), ns...),
		provider: provider,
		tracks:   make(map[string]*Track),
		done:     make(chan struct{}),
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.broadcasts[ns.key()]; ok {
		return nil, ErrDuplicateBroadcast
	}
	o.broadcasts[ns.key()] = b
	if _, taken := o.byPath[ns.String()]; !taken {
		o.byPath[ns.String()] = b
	}
	for w := range o.watchers {
		w.push(originEvent{b: b, live: true})
	}
	return b, nil
}

// Broadcasts returns the live broadcasts.
func (o *Origin) Broadcasts() []*Broadcast {
	o.mu.Lock()
	defer o.mu.Unlock()
	bs := make([]*Broadcast, 0, len(o.broadcasts))
	for _, b := range o.broadcasts {
		bs = append(bs, b)
	}
	return bs
}

// Lookup finds the broadcast serving ns: an exact match; else the
// broadcast whose namespace is the longest prefix of ns (the rest goes to
// its provider); else, for a one-field namespace such as ["live/cam1"],
// the broadcast whose fields joined with "/" equal it.
func (o *Origin) Lookup(ns Namespace) (b *Broadcast, rest Namespace) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if b := o.broadcasts[ns.key()]; b != nil {
		return b, nil
	}
	for n := len(ns) - 1; n > 0; n-- {
		if b := o.broadcasts[ns[:n].key()]; b != nil {
			return b, ns[n:]
		}
	}
	if len(ns) == 1 {
		if b := o.byPath[ns[0]]; b != nil {
			return b, nil
		}
	}
	return nil, nil
}

func (o *Origin) remove(b *Broadcast) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.broadcasts[b.ns.key()] != b {
		return
	}
	delete(o.broadcasts, b.ns.key())
	if o.byPath[b.ns.String()] == b {
		delete(o.byPath, b.ns.String())
	}
	for w := range o.watchers {
		w.push(originEvent{b: b, live: false})
	}
}

// originEvent says a broadcast started (live) or ended.
type originEvent struct {
	b    *Broadcast
	live bool
}

// originWatcher queues broadcast events for one session. The queue is
// unbounded but holds one entry per broadcast start or end, which are rare;
// the publisher never waits on a session.
type originWatcher struct {
	mu     sync.Mutex
	events []originEvent
	signal chan struct{}
}

// watch registers a watcher that first receives every live broadcast.
func (o *Origin) watch() *originWatcher {
	w := &originWatcher{signal: make(chan struct{}, 1)}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, b := range o.broadcasts {
		w.push(originEvent{b: b, live: true})
	}
	o.watchers[w] = struct{}{}
	return w
}

func (o *Origin) unwatch(w *originWatcher) {
	o.mu.Lock()
	delete(o.watchers, w)
	o.mu.Unlock()
}

func (w *originWatcher) push(e originEvent) {
	w.mu.Lock()
	w.events = append(w.events, e)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// take returns and clears the queued events.
func (w *originWatcher) take() []originEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.events
	w.events = nil
	return e
}
