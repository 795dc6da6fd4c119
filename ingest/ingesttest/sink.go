// Package ingesttest provides an ingest.Sink that records publications and
// frames, for the protocol adapters' tests.
package ingesttest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

// Sink records publications and their frames.
type Sink struct {
	mu   sync.Mutex
	pubs []*Publication
	// Err, when set, is what Publish returns.
	Err error
}

var _ ingest.Sink = (*Sink)(nil)

// Publish records a publication.
func (s *Sink) Publish(_ context.Context, req ingest.PublishRequest) (ingest.Publication, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	p := &Publication{Req: req, done: make(chan struct{})}
	s.pubs = append(s.pubs, p)
	return p, nil
}

// Publications returns the publications so far.
func (s *Sink) Publications() []*Publication {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pubs)
}

// WaitPublication polls until the sink has at least n publications and
// returns the n-th.
func (s *Sink) WaitPublication(t *testing.T, n int) *Publication {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.Publications()) >= n }, 20*time.Second, 10*time.Millisecond,
		"waiting for publication %d", n)
	return s.Publications()[n-1]
}

// Publication records one publication's frames.
type Publication struct {
	Req  ingest.PublishRequest
	done chan struct{}

	mu       sync.Mutex
	frames   []ingest.Frame
	closed   bool
	replaced bool
}

// WriteFrame records a copy of f (the adapter may reuse its slices).
func (p *Publication) WriteFrame(f ingest.Frame) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		panic("WriteFrame after Close")
	}
	if p.replaced {
		return ingest.ErrReplaced
	}
	au := make([][]byte, len(f.AU))
	for i, n := range f.AU {
		au[i] = slices.Clone(n)
	}
	f.AU = au
	p.frames = append(p.frames, f)
	return nil
}

// Done is closed by Replace.
func (p *Publication) Done() <-chan struct{} { return p.done }

// Close marks the publication closed.
func (p *Publication) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// Replace ends the publication the way a newer publisher would.
func (p *Publication) Replace() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.replaced {
		p.replaced = true
		close(p.done)
	}
}

// IsClosed reports whether the adapter closed the publication.
func (p *Publication) IsClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// TrackFrames returns the frames of one track.
func (p *Publication) TrackFrames(track int) []ingest.Frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ingest.Frame
	for _, f := range p.frames {
		if f.Track == track {
			out = append(out, f)
		}
	}
	return out
}

// TrackIndex finds the track of a codec.
func (p *Publication) TrackIndex(t *testing.T, c ingest.Codec) int {
	t.Helper()
	for i, tr := range p.Req.Tracks {
		if tr.Codec == c {
			return i
		}
	}
	require.Failf(t, "track missing", "no %s track in %+v", c, p.Req.Tracks)
	return -1
}
