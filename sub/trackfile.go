package sub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

// trackFile writes one track's objects into fragmented MP4: the init
// segment, then each group's chunks in object order, groups in ID order.
// Groups travel on parallel streams, so a later group may arrive before an
// earlier one ends; those objects wait in pending.
type trackFile struct {
	name string
	dir  string
	log  *slog.Logger

	mu         sync.Mutex
	stdout     io.Writer // set: write here instead of files
	f          io.WriteCloser
	initRef    string
	init       []byte
	trex       *mp4.TrexBox // the init's sample defaults, for the sync test
	synced     bool         // a chunk starting with a sync sample has come
	files      int
	started    bool
	cur        uint64
	haveCur    bool
	pending    map[uint64][]moq.Object
	objects    int
	groups     int
	bytes      int
	firstGroup uint64
	lastGroup  uint64
	// Chunks are rebased so that a recording starts at 0 (the gateway's
	// timeline is the wall clock; prft keeps the mapping to it): tb decides
	// the recording's start over all its tracks, kept in seconds (baseSec)
	// and in this file's timescale (base).
	tb        *timeBase
	wallclock bool // keep the decode times as they come
	timescale uint32
	baseSec   float64
	haveBase  bool
	base      uint64
}

// setInit switches to a new init segment; a change after the first one
// starts a new file (name.2.mp4 …) since one MP4 has one moov.
func (t *trackFile) setInit(ref string, init []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.init != nil && ref == t.initRef {
		return
	}
	t.initRef, t.init = ref, init
	t.trex, t.timescale = initInfo(init)
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

// nopCloser keeps standard output open when a track file "closes".
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (t *trackFile) ensureFile() error {
	if t.f != nil {
		return nil
	}
	t.files++
	if t.haveBase {
		t.base = uint64(math.Round(t.baseSec * float64(t.timescale)))
	}
	if t.stdout != nil {
		t.f = nopCloser{t.stdout}
		_, err := t.f.Write(t.init)
		return err
	}
	name := t.name + ".mp4"
	if t.files > 1 {
		name = fmt.Sprintf("%s.%d.mp4", t.name, t.files)
	}
	f, err := os.Create(filepath.Join(t.dir, name))
	if err != nil {
		return err
	}
	t.f = f
	_, err = f.Write(t.init)
	return err
}

func (t *trackFile) consume(ctx context.Context, rt *moq.RemoteTrack) error {
	for {
		o, err := rt.ReadObject(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := t.add(o); err != nil {
			return err
		}
	}
}

// maxPendingGroups is how many later groups may wait for the current one
// to end before it is given up (its stream was reset). A subscriber that
// starts in the past receives the cached groups and the live one on
// parallel streams at once, so several may be under way.
const maxPendingGroups = 8

func (t *trackFile) add(o moq.Object) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		// The first groups arrive on parallel streams (cached ones and the
		// live one), in any order: wait until one has ended, or two are
		// under way, then begin at the oldest.
		if t.pending == nil {
			t.pending = map[uint64][]moq.Object{}
		}
		if len(t.pending[o.Group]) == 0 && o.ID != 0 {
			// Joined in the middle of a group (a relay's Largest Object
			// start): a file starts at a group's first object, its
			// keyframe.
			return nil
		}
		if !t.synced {
			// moq-rs relays number the objects they forward from 0 on each
			// stream, so the ID may lie: look at the chunk itself.
			if len(o.Payload) == 0 || !startsWithSync(o.Payload, t.trex) {
				return nil
			}
			t.synced = true
		}
		t.pending[o.Group] = append(t.pending[o.Group], o)
		if o.Status != wire.StatusEndOfGroup && !o.Datagram && len(t.pending) < 2 {
			return nil
		}
		t.started, t.firstGroup = true, o.Group
		for g := range t.pending {
			t.firstGroup = min(t.firstGroup, g)
		}
		return t.advanceLocked()
	}
	if !t.haveCur && o.Group >= t.cur {
		t.cur, t.haveCur = o.Group, true
		t.groups++
	}
	switch {
	case o.Group < t.cur:
		return nil // a group given up on
	case o.Group > t.cur:
		if o.Datagram {
			// Datagrams have no end-of-group marker: a newer group ends
			// the current one.
			if err := t.advanceLocked(); err != nil {
				return err
			}
			return t.writeLocked(o)
		}
		if t.pending == nil {
			t.pending = map[uint64][]moq.Object{}
		}
		t.pending[o.Group] = append(t.pending[o.Group], o)
		if len(t.pending) > maxPendingGroups {
			return t.advanceLocked()
		}
		return nil
	}
	return t.writeLocked(o)
}

func (t *trackFile) writeLocked(o moq.Object) error {
	switch o.Status {
	case wire.StatusEndOfGroup:
		return t.advanceLocked()
	case wire.StatusEndOfTrack:
		return nil
	}
	if len(o.Payload) == 0 {
		return nil
	}
	if err := t.ensureFile(); err != nil {
		return err
	}
	payload := o.Payload
	if !t.wallclock {
		payload = t.rebase(payload)
	}
	if _, err := t.f.Write(payload); err != nil {
		return err
	}
	t.objects++
	t.bytes += len(o.Payload)
	t.lastGroup = o.Group
	return nil
}

// advanceLocked moves to the oldest pending group and writes what waited.
func (t *trackFile) advanceLocked() error {
	if len(t.pending) == 0 {
		t.cur++ // the next group to arrive starts after this one
		t.haveCur = false
		return nil
	}
	ids := make([]uint64, 0, len(t.pending))
	for g := range t.pending {
		ids = append(ids, g)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	next := ids[0]
	objs := t.pending[next]
	delete(t.pending, next)
	sort.Slice(objs, func(i, j int) bool { return objs[i].ID < objs[j].ID })
	t.cur, t.haveCur = next, true
	t.groups++
	for _, o := range objs {
		if err := t.writeLocked(o); err != nil {
			return err
		}
		if t.cur != next {
			return nil // that group ended and the next began
		}
	}
	return nil
}

func (t *trackFile) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.pending) > 0 {
		if err := t.advanceLocked(); err != nil {
			return err
		}
	}
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

// initInfo returns an init segment's trex (sample defaults, nil if it has
// none) and its first track's timescale (0 if unknown).
func initInfo(init []byte) (trex *mp4.TrexBox, timescale uint32) {
	defer func() { _ = recover() }() // a malformed init: nothing known
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil || f.Init == nil || f.Init.Moov == nil {
		return nil, 0
	}
	if mvex := f.Init.Moov.Mvex; mvex != nil {
		trex = mvex.Trex
	}
	if trak := f.Init.Moov.Trak; trak != nil && trak.Mdia != nil && trak.Mdia.Mdhd != nil {
		timescale = trak.Mdia.Mdhd.Timescale
	}
	return trex, timescale
}

// startsWithSync reports whether a CMAF chunk's first sample is a sync
// sample (a keyframe). A payload that is no chunk counts as one: the test
// only holds back a file's start.
func startsWithSync(chunk []byte, trex *mp4.TrexBox) (sync bool) {
	defer func() {
		if recover() != nil {
			sync = true
		}
	}()
	f, err := mp4.DecodeFile(bytes.NewReader(chunk))
	if err != nil || len(f.Segments) == 0 || len(f.Segments[0].Fragments) == 0 {
		return true
	}
	samples, err := f.Segments[0].Fragments[0].GetFullSamples(trex)
	if err != nil || len(samples) == 0 {
		return true
	}
	return samples[0].IsSync()
}

// rebase returns a CMAF chunk with its decode times (tfdt, and prft's media
// time) moved back by the file's first decode time, so that the file starts
// at 0. A payload mp4ff cannot read goes out as it came.
func (t *trackFile) rebase(chunk []byte) []byte {
	f, err := mp4.DecodeFile(bytes.NewReader(chunk))
	if err != nil {
		return chunk
	}
	var first *mp4.TfdtBox
	for _, c := range f.Children {
		if moof, ok := c.(*mp4.MoofBox); ok && moof.Traf != nil && moof.Traf.Tfdt != nil {
			first = moof.Traf.Tfdt
			break
		}
	}
	if first == nil {
		return chunk
	}
	if !t.haveBase {
		t.base, t.haveBase = first.BaseMediaDecodeTime(), true
		if t.timescale != 0 {
			t.baseSec = float64(t.base) / float64(t.timescale)
			if t.tb != nil {
				t.baseSec = t.tb.join(t.baseSec)
			}
			t.base = uint64(math.Round(t.baseSec * float64(t.timescale)))
		}
	}
	back := func(v uint64) uint64 { return v - min(t.base, v) }
	var out bytes.Buffer
	out.Grow(len(chunk))
	// Box by box: File.Encode would drop a prft ahead of its moof.
	for _, c := range f.Children {
		switch b := c.(type) {
		case *mp4.PrftBox:
			b.MediaTime = back(b.MediaTime)
		case *mp4.MoofBox:
			for _, traf := range b.Trafs {
				if traf.Tfdt != nil {
					version := traf.Tfdt.Version // its size, which trun's data offset counts
					traf.Tfdt.SetBaseMediaDecodeTime(back(traf.Tfdt.BaseMediaDecodeTime()))
					traf.Tfdt.Version = version
				}
			}
		}
		if err := c.Encode(&out); err != nil {
			return chunk
		}
	}
	if out.Len() != len(chunk) {
		return chunk
	}
	return out.Bytes()
}

// timeBase is a recording's start, common to its tracks so that their
// files keep their relative timing: the earliest first decode time of the
// tracks expected, or of those that started within timeBaseWait of the
// first.
type timeBase struct {
	mu       sync.Mutex
	expected int
	joined   int
	start    float64 // seconds
	decided  bool
	ready    chan struct{}
}

// timeBaseWait bounds how long a track's first chunk waits for the other
// tracks' first chunks.
const timeBaseWait = 1500 * time.Millisecond

func newTimeBase() *timeBase { return &timeBase{ready: make(chan struct{})} }

// expect announces n more tracks whose first chunk decides the start.
func (b *timeBase) expect(n int) {
	b.mu.Lock()
	b.expected += n
	b.mu.Unlock()
}

// join offers a track's first decode time and returns the recording's
// start once it is decided; a track that joins later than that and earlier
// in time starts after 0, clamped.
func (b *timeBase) join(first float64) float64 {
	b.mu.Lock()
	if b.decided {
		defer b.mu.Unlock()
		return b.start
	}
	if b.joined == 0 || first < b.start {
		b.start = first
	}
	b.joined++
	if b.joined >= b.expected {
		b.decideLocked()
	} else if b.joined == 1 {
		time.AfterFunc(timeBaseWait, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.decideLocked()
		})
	}
	b.mu.Unlock()
	<-b.ready
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.start
}

func (b *timeBase) decideLocked() {
	if !b.decided {
		b.decided = true
		close(b.ready)
	}
}
