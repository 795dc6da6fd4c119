package stream

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/packager"
)

// DefaultGrace is how long a stream outlives its publisher, waiting for it
// to reconnect.
const DefaultGrace = 10 * time.Second

// Config configures a Registry.
type Config struct {
	Origin *moq.Origin
	// Auth supplies each path's publisher policy (replace or reject).
	Auth *ingest.Auth
	// Packager is the packager configuration of every stream; FirstGroupID
	// is ignored (each stream seeds it from the wall clock).
	Packager packager.Config
	// Grace is how long a stream outlives its publisher (DefaultGrace when 0).
	Grace time.Duration
	// AudioDelivery is how audio tracks are delivered (stream by default).
	AudioDelivery moq.Delivery
	Logger        *slog.Logger
}

// Registry holds the live streams. It implements ingest.Sink.
type Registry struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	streams map[string]*liveStream
	closed  bool
}

var _ ingest.Sink = (*Registry)(nil)

// New returns an empty registry.
func New(cfg Config) *Registry {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Registry{cfg: cfg, log: cfg.Logger, streams: make(map[string]*liveStream)}
}

// Publish starts a publication on req.Path, taking over the path's live
// stream when there is one.
func (r *Registry) Publish(_ context.Context, req ingest.PublishRequest) (ingest.Publication, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, moq.ErrBroadcastDone
	}
	if s := r.streams[req.Path]; s != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.attachLocked(req, r.cfg.Auth.Policy(req.Path))
	}
	// Refused tracks are refused before the broadcast is announced (and a
	// moq-rs relay request spent on it).
	if err := packager.CheckTracks(req.Tracks); err != nil {
		return nil, err
	}
	s, p, err := r.newStream(req)
	if err != nil {
		return nil, err
	}
	r.streams[req.Path] = s
	return p, nil
}

// newStream starts a stream with req as its publication.
func (r *Registry) newStream(req ingest.PublishRequest) (*liveStream, *publication, error) {
	path := req.Path
	s := &liveStream{
		reg:    r,
		path:   path,
		log:    r.log.With("path", path),
		tracks: make(map[string]*moq.Track),
	}
	pcfg := r.cfg.Packager
	pcfg.FirstGroupID = 0
	pcfg.Logger = s.log
	s.pkg = packager.New(pcfg, (*output)(s))
	// Subscribers may arrive as soon as the broadcast is announced, before
	// this function returns (relays subscribe right after the announce):
	// s.mu holds them off until the publication's tracks are known.
	s.mu.Lock()
	defer s.mu.Unlock()
	bc, err := r.cfg.Origin.Publish(moq.Namespace(config.PathNamespace(path)), moq.TrackProviderFunc(s.provide))
	if err != nil {
		return nil, nil, fmt.Errorf("stream %s: %w", path, err)
	}
	s.bc = bc
	// The catalog track exists from the start, so a subscriber that comes
	// before the first keyframe waits for the catalog instead of failing.
	if _, err := s.trackLocked(packager.CatalogTrackName); err != nil {
		bc.Close()
		return nil, nil, err
	}
	p, err := s.attachLocked(req, r.cfg.Auth.Policy(path))
	if err != nil {
		bc.Close()
		return nil, nil, err
	}
	return s, p, nil
}

// Info describes a live stream for status pages.
type Info struct {
	Path      string
	Publisher string // "" while waiting for a reconnect
	Proto     string
	Since     time.Time
	Tracks    []string
	Frames    uint64
	Replaced  int // publishers that took the path over from another
}

// Streams lists the live streams by path.
func (r *Registry) Streams() []Info {
	r.mu.Lock()
	ss := make([]*liveStream, 0, len(r.streams))
	for _, s := range r.streams {
		ss = append(ss, s)
	}
	r.mu.Unlock()
	out := make([]Info, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Close ends every stream and refuses new publications.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	ss := make([]*liveStream, 0, len(r.streams))
	for _, s := range r.streams {
		ss = append(ss, s)
	}
	r.streams = map[string]*liveStream{}
	r.mu.Unlock()
	for _, s := range ss {
		s.end()
	}
}
