package moq

import (
	"errors"
	"sync"
)

// TrackProvider creates a broadcast's tracks on demand, when a SUBSCRIBE,
// FETCH or TRACK_STATUS names a track the broadcast does not have yet (the
// moq-rs TracksRequest pattern). rest holds the namespace fields of the
// request beyond the broadcast's own namespace (relays may extend it). It
// returns nil when there is no such track: the requester gets
// TRACK_DOES_NOT_EXIST at once.
type TrackProvider interface {
	ProvideTrack(b *Broadcast, rest Namespace, name string) *Track
}

// TrackProviderFunc adapts a function to TrackProvider.
type TrackProviderFunc func(b *Broadcast, rest Namespace, name string) *Track

// ProvideTrack calls f.
func (f TrackProviderFunc) ProvideTrack(b *Broadcast, rest Namespace, name string) *Track {
	return f(b, rest, name)
}

// ErrDuplicateBroadcast reports a namespace that is already published.
var ErrDuplicateBroadcast = errors.New("moq: namespace already published")

// Broadcast is a published namespace and its tracks.
type Broadcast struct {
	origin   *Origin
	ns       Namespace
	provider TrackProvider

	mu     sync.Mutex
	tracks map[string]*Track
	closed bool
	done   chan struct{}
}

// Namespace is the broadcast's namespace.
func (b *Broadcast) Namespace() Namespace { return b.ns }

// Done is closed when the broadcast ends.
func (b *Broadcast) Done() <-chan struct{} { return b.done }

// CreateTrack adds a track, replacing nothing: a second track with the same
// name is an error until the first is closed.
func (b *Broadcast) CreateTrack(name string, opts TrackOptions) (*Track, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrBroadcastDone
	}
	if _, ok := b.tracks[name]; ok {
		return nil, errors.New("moq: track " + name + " exists")
	}
	t := newTrack(b, name, opts)
	b.tracks[name] = t
	return t, nil
}

// Track returns the named track, asking the provider when the broadcast does
// not have it (nil when neither does).
func (b *Broadcast) Track(rest Namespace, name string) *Track {
	if len(rest) == 0 {
		b.mu.Lock()
		t := b.tracks[name]
		closed := b.closed
		b.mu.Unlock()
		if t != nil || closed {
			return t
		}
	}
	if b.provider == nil {
		return nil
	}
	return b.provider.ProvideTrack(b, rest, name)
}

// Tracks returns the broadcast's current tracks.
func (b *Broadcast) Tracks() []*Track {
	b.mu.Lock()
	defer b.mu.Unlock()
	ts := make([]*Track, 0, len(b.tracks))
	for _, t := range b.tracks {
		ts = append(ts, t)
	}
	return ts
}

func (b *Broadcast) removeTrack(t *Track) {
	b.mu.Lock()
	if b.tracks[t.name] == t {
		delete(b.tracks, t.name)
	}
	b.mu.Unlock()
}

// Close ends the broadcast: every track ends (End of Track, PUBLISH_DONE)
// and peers get PUBLISH_NAMESPACE_DONE.
func (b *Broadcast) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	tracks := make([]*Track, 0, len(b.tracks))
	for _, t := range b.tracks {
		tracks = append(tracks, t)
	}
	b.mu.Unlock()
	for _, t := range tracks {
		t.Close()
	}
	close(b.done)
	b.origin.remove(b)
}
