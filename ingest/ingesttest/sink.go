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

// waitTime bounds the waits of the helpers; the machine running the tests
// may be shared and slow.
const waitTime = 30 * time.Second

// Sink records publications and their frames.
type Sink struct {
	mu   sync.Mutex
	pubs []*Publication
	// Err, when set, is what Publish returns.
	Err error
	// Decide, when set, is called by Publish with each request and the
	// publications so far, under the sink's lock; a non-nil result is what
	// Publish returns. It lets a test play the registry's part on a busy
	// path: end or fail the earlier publication (End, FailWrites), or
	// refuse the newcomer.
	Decide func(req ingest.PublishRequest, earlier []*Publication) error
}

var _ ingest.Sink = (*Sink)(nil)

// Publish records a publication.
func (s *Sink) Publish(_ context.Context, req ingest.PublishRequest) (ingest.Publication, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	if s.Decide != nil {
		if err := s.Decide(req, slices.Clone(s.pubs)); err != nil {
			return nil, err
		}
	}
	p := NewPublication(req)
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
	require.Eventually(t, func() bool { return len(s.Publications()) >= n }, waitTime, 10*time.Millisecond,
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
	ended    bool  // done is closed
	writeErr error // what WriteFrame returns instead of recording
}

// NewPublication returns a publication that belongs to no sink, for tests
// that feed an adapter's frame path directly, without a connection.
func NewPublication(req ingest.PublishRequest) *Publication {
	return &Publication{Req: req, done: make(chan struct{})}
}

// WriteFrame records a copy of f (the adapter may reuse its slices).
func (p *Publication) WriteFrame(f ingest.Frame) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		panic("WriteFrame after Close")
	}
	if p.writeErr != nil {
		return p.writeErr
	}
	au := make([][]byte, len(f.AU))
	for i, n := range f.AU {
		au[i] = slices.Clone(n)
	}
	f.AU = au
	p.frames = append(p.frames, f)
	return nil
}

// Done is closed by Replace and End.
func (p *Publication) Done() <-chan struct{} { return p.done }

// Close marks the publication closed.
func (p *Publication) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// Replace ends the publication the way a newer publisher would: Done
// closes and writes fail with ingest.ErrReplaced.
func (p *Publication) Replace() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeErr = ingest.ErrReplaced
	p.endLocked()
}

// End closes Done but lets writes go on succeeding, so a test can check
// that the adapter reacts to Done alone (an idle publisher is never told
// through WriteFrame).
func (p *Publication) End() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endLocked()
}

func (p *Publication) endLocked() {
	if !p.ended {
		p.ended = true
		close(p.done)
	}
}

// FailWrites makes WriteFrame return err from now on (nil: record again),
// without closing Done: the sink's other way of telling a streaming
// publisher it is finished, which the adapter must notice on its own.
func (p *Publication) FailWrites(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeErr = err
}

// IsClosed reports whether the adapter closed the publication.
func (p *Publication) IsClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// WaitClosed polls until the adapter closed the publication.
func (p *Publication) WaitClosed(t *testing.T) {
	t.Helper()
	require.Eventually(t, p.IsClosed, waitTime, 10*time.Millisecond, "waiting for the publication to close")
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
