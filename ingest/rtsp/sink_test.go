package rtsp

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

// fakeSink records publications and their frames.
type fakeSink struct {
	mu   sync.Mutex
	pubs []*fakePub
	err  error // returned by Publish when set
}

func (s *fakeSink) Publish(_ context.Context, req ingest.PublishRequest) (ingest.Publication, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	p := &fakePub{req: req, done: make(chan struct{})}
	s.pubs = append(s.pubs, p)
	return p, nil
}

func (s *fakeSink) publications() []*fakePub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pubs)
}

// waitPub polls until the sink has at least n publications and returns the
// n-th.
func (s *fakeSink) waitPub(t *testing.T, n int) *fakePub {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.publications()) >= n }, 20*time.Second, 10*time.Millisecond,
		"waiting for publication %d", n)
	return s.publications()[n-1]
}

type fakePub struct {
	req  ingest.PublishRequest
	done chan struct{}

	mu       sync.Mutex
	frames   []ingest.Frame
	closed   bool
	replaced bool
}

func (p *fakePub) WriteFrame(f ingest.Frame) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		panic("WriteFrame after Close")
	}
	if p.replaced {
		return ingest.ErrReplaced
	}
	// The adapter may reuse AU slices once WriteFrame returns.
	au := make([][]byte, len(f.AU))
	for i, n := range f.AU {
		au[i] = slices.Clone(n)
	}
	f.AU = au
	p.frames = append(p.frames, f)
	return nil
}

func (p *fakePub) Done() <-chan struct{} { return p.done }

func (p *fakePub) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// replace ends the publication the way a newer publisher would.
func (p *fakePub) replace() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.replaced {
		p.replaced = true
		close(p.done)
	}
}

func (p *fakePub) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// trackFrames returns the frames of one track.
func (p *fakePub) trackFrames(track int) []ingest.Frame {
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

// trackIndex finds the track of a codec.
func (p *fakePub) trackIndex(t *testing.T, c ingest.Codec) int {
	t.Helper()
	for i, tr := range p.req.Tracks {
		if tr.Codec == c {
			return i
		}
	}
	require.Failf(t, "track missing", "no %s track in %+v", c, p.req.Tracks)
	return -1
}
