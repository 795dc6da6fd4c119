package main

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
	"github.com/moqgw/moq-gateway/packager"
)

// subscriber is one MoQ session subscribed to one stream's catalog, video
// and audio. It measures latency from each object's prft box and counts
// objects and gaps.
type subscriber struct {
	name     string // bench/sN#k, for errors
	ns       moq.Namespace
	url      string
	versions []wire.Version
	phase    *atomic.Int32
	clip     *clip
	log      *slog.Logger

	readyOnce sync.Once
	ready     chan struct{} // closed at the first video object

	// tracks are written by their consume goroutine and read once run
	// has returned.
	tracks []*subTrack
}

func newSubscriber(name string, ns moq.Namespace, url string, versions []wire.Version, phase *atomic.Int32, c *clip, log *slog.Logger) *subscriber {
	return &subscriber{name: name, ns: ns, url: url, versions: versions, phase: phase, clip: c, log: log, ready: make(chan struct{})}
}

// run dials, reads the catalog, subscribes to every CMAF track and reads
// objects until ctx ends or the run leaves the measurement window.
func (s *subscriber) run(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, connectTimeout)
	sess, err := moq.Dial(dctx, s.url, moq.DialOptions{
		Versions: s.versions,
		// The gateway under test is on loopback with its self-signed
		// certificate.
		TLSConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback, self-signed
		Logger:    s.log,
	})
	cancel()
	if err != nil {
		return s.fail(ctx, fmt.Errorf("dial: %w", err))
	}
	defer sess.Close()
	cat, err := s.catalog(ctx, sess)
	if err != nil {
		return s.fail(ctx, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	for i := range cat.Tracks {
		ct := &cat.Tracks[i]
		if ct.Packaging != packager.PackagingCMAF {
			continue
		}
		video := ct.Role == "video" || ct.Width > 0
		gop := s.clip.audioPerGOP()
		if video {
			gop = s.clip.gopFrames()
		}
		rt, err := sess.Subscribe(ctx, s.ns, ct.Name, moq.SubscribeOptions{})
		if err != nil {
			return s.fail(ctx, fmt.Errorf("track %s: %w", ct.Name, err))
		}
		t := &subTrack{name: ct.Name, video: video, gop: gop, groups: map[uint64]*groupTally{}}
		s.tracks = append(s.tracks, t)
		g.Go(func() error {
			defer rt.Close()
			return s.consume(gctx, rt, t)
		})
	}
	return s.fail(ctx, g.Wait())
}

// fail names the subscriber in err, and drops errors that come from the
// run ending (cancellation, teardown after the window).
func (s *subscriber) fail(ctx context.Context, err error) error {
	if ended := ctx.Err() != nil || s.phase.Load() == phaseDone; err != nil && !ended {
		return fmt.Errorf("subscriber %s: %w", s.name, err)
	}
	return nil
}

// catalog subscribes to the catalog track, retrying while the stream is not
// there yet, and returns the first catalog that lists as many tracks as the
// clip has.
func (s *subscriber) catalog(ctx context.Context, sess *moq.Session) (*packager.Catalog, error) {
	var (
		rt  *moq.RemoteTrack
		err error
	)
	for {
		rt, err = sess.Subscribe(ctx, s.ns, packager.CatalogTrackName, moq.SubscribeOptions{})
		var re *moq.RequestError
		if err == nil || !errors.As(err, &re) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer rt.Close()
	want := 1
	if s.clip.asc != nil {
		want = 2
	}
	for {
		obj, err := rt.ReadObject(ctx)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		if len(obj.Payload) == 0 {
			continue
		}
		c, err := packager.ParseCatalog(obj.Payload)
		if err != nil {
			return nil, err
		}
		if len(c.Tracks) >= want {
			return c, nil
		}
	}
}

// consume reads one track's objects. Latency and counts are recorded inside
// the window; gaps from the first object to the window's end.
func (s *subscriber) consume(ctx context.Context, rt *moq.RemoteTrack, t *subTrack) error {
	for {
		o, err := rt.ReadObject(ctx)
		now := time.Now()
		if err != nil {
			// run's fail drops it when ctx has ended.
			return fmt.Errorf("track %s: %w", t.name, err)
		}
		if o.Status != wire.StatusNormal || len(o.Payload) == 0 {
			continue
		}
		phase := s.phase.Load()
		if phase == phaseDone {
			return nil
		}
		t.tally(o.Group, o.ID)
		if phase == phaseMeasure {
			t.received++
			if ntp, ok := prftTime(o.Payload); ok {
				t.latency = append(t.latency, now.Sub(ntp))
			} else {
				t.noPRFT++
			}
		}
		if t.video {
			s.readyOnce.Do(func() { close(s.ready) })
		}
	}
}

// subTrack is what one subscription received.
type subTrack struct {
	name    string
	video   bool
	gop     float64 // objects one skipped group costs
	groups  map[uint64]*groupTally
	latency []time.Duration
	// received counts objects inside the window; noPRFT those of them
	// without a prft box.
	received, noPRFT int64
}

// groupTally is what arrived of one group.
type groupTally struct {
	count        uint64
	minID, maxID uint64
}

func (t *subTrack) tally(group, id uint64) {
	g := t.groups[group]
	if g == nil {
		t.groups[group] = &groupTally{count: 1, minID: id, maxID: id}
		return
	}
	g.count++
	g.minID = min(g.minID, id)
	g.maxID = max(g.maxID, id)
}

// lost counts the objects that never arrived: the holes in each group that
// a later group followed (object IDs run 0, 1, 2… in a group; the first
// group may start late, so only its inner holes count), and every skipped
// group ID between two received groups as one mean GOP of objects. The last
// group may still have been arriving when the window closed, so it is not
// judged.
func (t *subTrack) lost() (objects int64, groups int64) {
	ids := make([]uint64, 0, len(t.groups))
	for id := range t.groups {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var skippedObjects float64
	for i, id := range ids {
		if i == len(ids)-1 {
			break
		}
		g := t.groups[id]
		first := uint64(0)
		if i == 0 {
			first = g.minID
		}
		if want := g.maxID - first + 1; want > g.count {
			objects += int64(want - g.count)
		}
		if gap := ids[i+1] - id - 1; gap > 0 {
			groups += int64(gap)
			skippedObjects += float64(gap) * t.gop
		}
	}
	return objects + int64(skippedObjects+0.5), groups
}

// prftTime returns the NTP time of the prft box (ISO/IEC 14496-12 §8.16.5)
// that the packager puts at the front of each chunk: the wall clock when
// the gateway received the frame.
func prftTime(b []byte) (time.Time, bool) {
	const (
		ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
		minLen         = 4 + 4 + 4 + 4 + 8
	)
	if len(b) < minLen || string(b[4:8]) != "prft" || int(binary.BigEndian.Uint32(b)) < minLen {
		return time.Time{}, false
	}
	ntp := binary.BigEndian.Uint64(b[16:24])
	sec := int64(ntp>>32) - ntpEpochOffset
	nsec := int64((ntp & 0xffffffff) * uint64(time.Second) >> 32)
	return time.Unix(sec, nsec), true
}
