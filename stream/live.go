package stream

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/packager"
)

// liveStream is one path's stream: a broadcast, its tracks and the packager
// feeding them, and the publication currently writing into it.
type liveStream struct {
	reg  *Registry
	path string
	log  *slog.Logger
	bc   *moq.Broadcast

	// mu serialises the packager (one publisher writes at a time) and guards
	// the fields below; the output callbacks run under it.
	mu       sync.Mutex
	pkg      *packager.Muxer
	tracks   map[string]*moq.Track
	moqrs    *moqRSLayout // nil until a subscriber asks for the moq-rs layout
	pub      *publication
	grace    *time.Timer
	ended    bool
	replaced int
	frames   uint64
}

// attachLocked makes req the stream's publication, per the path's policy.
func (s *liveStream) attachLocked(req ingest.PublishRequest, policy ingest.Policy) (*publication, error) {
	if s.ended {
		return nil, moq.ErrBroadcastDone
	}
	if old := s.pub; old != nil {
		if policy == ingest.PolicyReject {
			return nil, ingest.ErrPathInUse
		}
		s.log.Info("replacing publisher", "old", old.req.Remote, "new", req.Remote, "proto", req.Proto)
		old.endLocked()
		s.replaced++
	}
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	if err := s.pkg.SetTracks(req.Tracks); err != nil {
		return nil, err
	}
	p := &publication{s: s, req: req, since: time.Now(), done: make(chan struct{})}
	s.pub = p
	return p, nil
}

// detach is called when p's publisher leaves: the stream waits Grace for
// a successor before it ends.
func (s *liveStream) detach(p *publication) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != p {
		return
	}
	s.pub = nil
	p.over = true // Done stays open: it signals ends the sink decides
	if s.ended {
		return
	}
	s.grace = time.AfterFunc(s.reg.cfg.Grace, s.expire)
}

// expire ends a stream whose grace period ran out without a publisher. It
// holds the registry's lock throughout (in Publish's order: registry, then
// stream), so a publisher arriving meanwhile either attaches before and
// keeps the stream, or finds the path free with the old broadcast gone.
func (s *liveStream) expire() {
	r := s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	s.mu.Lock()
	idle := s.pub == nil && !s.ended
	s.mu.Unlock()
	if !idle {
		return
	}
	s.log.Info("stream ended: no publisher within the grace period")
	if r.streams[s.path] == s {
		delete(r.streams, s.path)
	}
	s.end()
}

// end closes the packager (ending its tracks) and the broadcast.
func (s *liveStream) end() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	if s.grace != nil {
		s.grace.Stop()
	}
	if s.pub != nil {
		s.pub.endLocked()
		s.pub = nil
	}
	s.pkg.Close()
	s.endMoqRSLocked()
	s.mu.Unlock()
	s.bc.Close()
}

func (s *liveStream) info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := Info{Path: s.path, Frames: s.frames, Replaced: s.replaced}
	if s.pub != nil {
		in.Publisher, in.Proto, in.Since = s.pub.req.Remote, s.pub.req.Proto, s.pub.since
	}
	for name := range s.tracks {
		in.Tracks = append(in.Tracks, name)
	}
	return in
}

// publication is one publisher's hold on a stream.
type publication struct {
	s     *liveStream
	req   ingest.PublishRequest
	since time.Time
	done  chan struct{}
	over  bool // guarded by s.mu
}

var _ ingest.Publication = (*publication)(nil)

func (p *publication) WriteFrame(f ingest.Frame) error {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.over {
		return ingest.ErrReplaced
	}
	s.frames++
	if err := s.pkg.WriteFrame(f); err != nil && errors.Is(err, packager.ErrClosed) {
		return err
	}
	// Any other error is a frame the packager could not use: it counted
	// and logged the drop, and the stream goes on (an encoder's odd frame
	// must not disconnect the publisher).
	return nil
}

func (p *publication) Done() <-chan struct{} { return p.done }

func (p *publication) Close() error {
	p.s.detach(p)
	return nil
}

func (p *publication) endLocked() {
	if !p.over {
		p.over = true
		close(p.done)
	}
}

// output receives the packager's objects (under liveStream.mu) and writes
// them to the broadcast's tracks, creating each track on its first object.
type output liveStream

// Priorities: the catalog first, then audio (small, and gaps are audible),
// then video.
const (
	priorityCatalog = 0
	priorityAudio   = 64
	priorityVideo   = 128
)

// trackLocked returns the MoQ track of a packager track, creating it.
func (s *liveStream) trackLocked(name string) (*moq.Track, error) {
	if t := s.tracks[name]; t != nil {
		return t, nil
	}
	// One ended group besides the current one: a subscriber that waited
	// for the stream still gets most of its start, and memory stays near
	// one GOP per track (DESIGN: 2 MB plus one GOP per stream).
	opts := moq.TrackOptions{Priority: priorityVideo, CacheGroups: 1}
	switch {
	case name == packager.CatalogTrackName:
		opts.Priority = priorityCatalog
	case strings.HasPrefix(name, "audio"): // the packager's audio track names
		opts.Priority = priorityAudio
		opts.Delivery = s.reg.cfg.AudioDelivery
	}
	t, err := s.bc.CreateTrack(name, opts)
	if err != nil {
		return nil, err
	}
	s.tracks[name] = t
	return t, nil
}

// provide creates, on a subscriber's demand, a track the catalog lists but
// whose first object has not been packaged yet (the moq.TrackProvider).
func (s *liveStream) provide(_ *moq.Broadcast, rest moq.Namespace, name string) *moq.Track {
	if len(rest) > 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return nil
	}
	if isMoqRSTrack(name) {
		return s.moqRSTrackLocked(name)
	}
	if !s.pkg.Declares(name) {
		return nil
	}
	t, err := s.trackLocked(name)
	if err != nil {
		return nil
	}
	return t
}

func (o *output) Object(track string, group, object uint64, payload []byte) {
	s := (*liveStream)(o)
	t, err := s.trackLocked(track)
	if err != nil {
		s.log.Warn("cannot create track", "track", track, "err", err)
		return
	}
	if object == 0 {
		if err := t.StartGroup(group); err != nil {
			s.log.Warn("cannot start group", "track", track, "group", group, "err", err)
			return
		}
	}
	if err := t.WriteObjectAt(object, payload); err != nil {
		s.log.Warn("cannot write object", "track", track, "group", group, "object", object, "err", err)
	}
	if track == packager.CatalogTrackName {
		s.onMoqRSCatalogLocked(group)
	} else {
		s.writeMoqRSObjectLocked(track, group, object, payload)
	}
}

func (o *output) EndTrack(track string) {
	s := (*liveStream)(o)
	if t := s.tracks[track]; t != nil {
		t.Close()
		delete(s.tracks, track)
	}
}
