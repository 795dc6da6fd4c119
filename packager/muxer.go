package packager

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync/atomic"
	"time"

	"github.com/moqgw/moq-gateway/ingest"
)

// Output receives what a Muxer produces; the MoQ side implements it. Calls
// come from the goroutine that drives the Muxer, in order, and must not
// block on subscribers.
type Output interface {
	// Object delivers object `object` of group `group` on the named track
	// ("catalog", "video", "audio", "video1"...). Object 0 starts a group
	// and ends the previous group of that track. The packager never touches
	// payload again, so subscribers may share it.
	Object(track string, group, object uint64, payload []byte)
	// EndTrack says a track will get no more objects, e.g. it left the
	// catalog. A later catalog version may bring the name back; its group
	// IDs then keep growing.
	EndTrack(track string)
}

// Config configures a Muxer. The zero value is usable.
type Config struct {
	// FirstGroupID seeds the group IDs of every track; 0 takes wall-clock
	// milliseconds at stream start, so IDs keep growing across gateway
	// restarts (MSF group numbering).
	FirstGroupID uint64
	// ExactDurations holds one video frame back so that each chunk carries
	// its exact duration, at the cost of one frame of latency.
	ExactDurations bool
	// ProducerReferenceTime puts a prft box in front of each chunk's moof:
	// the NTP time Frame.Received, for the chunk's tfdt.
	ProducerReferenceTime bool
	// Logger receives the stream's events; nil discards them.
	Logger *slog.Logger
}

// Errors of the Muxer API.
var (
	ErrClosed       = errors.New("packager: stream closed")
	ErrNoTracks     = errors.New("packager: publication has no tracks")
	ErrUnknownTrack = errors.New("packager: frame for an unknown track")
)

// TrackInfo describes a track of the current catalog.
type TrackInfo struct {
	Name      string
	Kind      ingest.Kind
	Codec     string // RFC 6381 codecs value, as in the catalog
	Timescale uint32 // media timescale of the chunks
	InitID    string // the catalog's initRef
	Init      []byte // CMAF header (ftyp+moov); do not modify
	Bitrate   int    // the catalog's bitrate, bit/s
	// Width and Height (video), SampleRate and Channels (audio) are the
	// catalog's.
	Width, Height        int
	SampleRate, Channels int
}

// view is what the accessors read: replaced whole with each catalog.
type view struct {
	catalog      []byte
	catalogGroup uint64
	tracks       []TrackInfo
}

// Muxer packages one stream path: the publications that come and go on it
// (SetTracks), their frames (WriteFrame), until Close. SetTracks, WriteFrame
// and Close must not run concurrently: the owner serialises them (a stream
// calls them under its own lock, so a frame takes one lock on its way to
// the MoQ track's). The accessors (Track, Tracks, Declares, Stats) may be
// called from any goroutine.
type Muxer struct {
	cfg Config
	out Output
	log *slog.Logger

	tracks       map[string]*track // every track ever seen, by name
	order        []*track          // the current publication's tracks by index
	lead         *track            // the track whose groups others align to
	leadStarted  bool              // the lead started a group in this publication
	nextGroup    uint64
	catalogGroup uint64
	catalogDirty bool     // the track set changed since the last catalog
	origin       *big.Rat // source time (s) of the publication's first frame out
	resume       *big.Rat // media time (s) that origin maps to
	closed       bool

	scratch []byte // chunk headers are built here, see chunk

	view atomic.Pointer[view]
	// declared are the current publication's track names, known before
	// its first catalog (Declares).
	declared atomic.Pointer[[]string]
	stats    counters
}

// scratchLen bounds what a chunk may hold before its last NAL unit to be
// built in scratch: the boxes and SEI or slice NAL units in front.
const scratchLen = 4 << 10

// New returns a Muxer that writes to out.
func New(cfg Config, out Output) *Muxer {
	s := &Muxer{
		cfg: cfg, out: out, log: cfg.Logger,
		tracks:  map[string]*track{},
		scratch: make([]byte, scratchLen),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.nextGroup = cfg.FirstGroupID
	if s.nextGroup == 0 {
		s.nextGroup = uint64(time.Now().UnixMilli())
	}
	s.catalogGroup = s.nextGroup
	return s
}

// CheckTracks reports whether SetTracks would accept tracks, so that a
// publication is refused before anything about it is announced.
func CheckTracks(tracks []ingest.Track) error {
	_, err := decoderConfigs(tracks)
	return err
}

// decoderConfigs builds the configuration of each track; a track whose
// configuration comes in band later gets nil.
func decoderConfigs(tracks []ingest.Track) ([]*decoderConfig, error) {
	if len(tracks) == 0 {
		return nil, ErrNoTracks
	}
	cfgs := make([]*decoderConfig, len(tracks))
	for i, t := range tracks {
		if t.Kind() == 0 {
			return nil, fmt.Errorf("packager: track %d: unsupported codec %q", i, t.Codec)
		}
		if t.Timescale == 0 {
			return nil, fmt.Errorf("packager: track %d (%s): no timescale", i, t.Codec)
		}
		c, err := newDecoderConfig(t)
		if err != nil && !errors.Is(err, errNoDecoderConfig) {
			return nil, fmt.Errorf("packager: track %d: %w", i, err)
		}
		cfgs[i] = c
	}
	return cfgs, nil
}

// SetTracks starts a publication: the first publisher's, and again each time
// a publisher (re)connects on the same path; frames then index tracks. Track
// names stay as long as the publication's shape does, timelines continue
// after where they ended, and group IDs keep growing. Tracks the new
// publication lacks end. Decoder configuration a track lacks is taken from
// the first keyframe that carries it in band.
func (s *Muxer) SetTracks(tracks []ingest.Track) error {
	cfgs, err := decoderConfigs(tracks)
	if err != nil {
		return err
	}

	if s.closed {
		return ErrClosed
	}
	for _, t := range s.order {
		s.flushHeld(t, 0)
	}
	names := trackNames(tracks)
	s.declared.Store(&names)
	order := make([]*track, len(tracks))
	for i, name := range names {
		t := s.tracks[name]
		if t == nil {
			t = &track{name: name, kind: tracks[i].Kind(), index: -1}
			s.tracks[name] = t
		}
		if t.index < 0 {
			s.catalogDirty = true // the track joins the catalog
		}
		order[i] = t
		t.index = i
		s.setSource(t, tracks[i], cfgs[i])
	}
	for _, t := range s.order {
		if t.index >= 0 && (t.index >= len(order) || order[t.index] != t) {
			s.removeTrack(t)
		}
	}
	s.order = order
	s.lead = nil
	for _, k := range []ingest.Kind{ingest.KindVideo, ingest.KindAudio} {
		for _, t := range order {
			if s.lead == nil && t.kind == k {
				s.lead = t
			}
		}
	}
	s.leadStarted = false
	s.origin = nil
	s.resume = s.resumePoint()
	s.log.Info("publication", "tracks", names)
	return nil
}

// setSource points a track at its declaration in a new publication.
func (s *Muxer) setSource(t *track, src ingest.Track, cfg *decoderConfig) {
	t.src, t.srcRate = src, src.Timescale
	switch {
	case cfg != nil:
		s.setConfig(t, cfg)
	case t.kind == ingest.KindAudio && t.cfg != nil:
		// Audio has no in-band configuration to wait for: the track leaves
		// the catalog until a publication declares one.
		t.cfg, t.published = nil, nil
		s.catalogDirty = true
		s.endTrack(t)
	}
	// Video without declared parameter sets keeps the previous ones until a
	// keyframe confirms or replaces them.
	t.inGroup, t.anchored, t.waiting = false, false, false
	t.boundary = boundary{}
}

// setConfig makes cfg the track's configuration; the next frame out
// publishes a catalog listing it.
func (s *Muxer) setConfig(t *track, cfg *decoderConfig) {
	if cfg.same(t.cfg) {
		return
	}
	if t.cfg != nil {
		s.stats.configChanges.Add(1)
		s.log.Info("decoder configuration change", "track", t.name, "codec", cfg.codecString)
	}
	if t.kind == ingest.KindAudio {
		t.at.rescale(cfg.timescale)
	}
	t.cfg = cfg
	t.inGroup = false // a new init segment starts a new group
}

// removeTrack ends a track the new publication lacks.
func (s *Muxer) removeTrack(t *track) {
	t.index = -1
	t.published = nil
	s.catalogDirty = true
	s.endTrack(t)
}

// endTrack tells the output that a track that was announced or sent
// objects gets no more.
func (s *Muxer) endTrack(t *track) {
	if t.live {
		t.live = false
		s.out.EndTrack(t.name)
	}
}

// resumePoint is where a new publication starts on the common timeline: at
// the end of the furthest track, so that no track rewinds, or at the
// wall-clock time for the first one.
func (s *Muxer) resumePoint() *big.Rat {
	var r *big.Rat
	for _, t := range s.tracks {
		if ticks, rate, ok := t.end(); ok && rate > 0 {
			if e := ticksToSeconds(ticks, rate); r == nil || e.Cmp(r) > 0 {
				r = e
			}
		}
	}
	if r == nil {
		r = new(big.Rat).SetFrac64(time.Now().UnixMilli(), 1000)
	}
	return r
}

// anchor places a track's timeline for the current publication: its frame
// with source DTS dts goes where the stream's origin maps it, never before
// the end of the track's earlier frames. The first frame the stream emits
// in a publication sets the origin.
func (s *Muxer) anchor(t *track, dts int64) {
	if s.origin == nil {
		s.origin = new(big.Rat).SetFrac64(dts, int64(t.srcRate))
	}
	rate := t.cfg.timescale
	m := anchorTicks(dts, t.srcRate, rate, s.origin, s.resume)
	if end, r, ok := t.end(); ok && r == rate && m < end {
		m = end
	}
	if t.kind == ingest.KindVideo {
		t.vt.clk.srcRate, t.vt.clk.mediaRate = uint64(t.srcRate), uint64(rate)
		if !t.vt.started {
			t.vt.dur = t.cfg.nominalFrameDur()
		}
		t.vt.anchor(dts, m)
	} else {
		t.at.clk.srcRate, t.at.clk.mediaRate = uint64(t.srcRate), uint64(rate)
		t.at.anchor(dts, m)
	}
	t.anchored = true
}

// WriteFrame packages one frame and delivers it, with any catalog it needs
// first. A frame that cannot be decoded yet is dropped and counted; a
// malformed one is dropped with an error. Either way the stream goes on.
func (s *Muxer) WriteFrame(f ingest.Frame) error {
	if s.closed {
		return ErrClosed
	}
	if f.Track < 0 || f.Track >= len(s.order) {
		return fmt.Errorf("%w: %d", ErrUnknownTrack, f.Track)
	}
	s.stats.frames.Add(1)
	t := s.order[f.Track]
	if t.kind == ingest.KindVideo {
		return s.writeVideo(t, &f)
	}
	return s.writeAudio(t, &f)
}

func (s *Muxer) writeVideo(t *track, f *ingest.Frame) error {
	codec := t.src.Codec
	if f.Keyframe && hasNewParamSets(codec, f.AU, t.cfg) {
		if err := s.takeParamSets(t, f.AU); err != nil {
			if t.cfg == nil {
				s.drop(t, dropInvalid)
				return fmt.Errorf("packager %s: %w", t.name, err)
			}
			// The frame still decodes with what the decoder has: keep going.
			s.stats.dropped[dropInvalid].Add(1)
			s.logDrop(t, dropInvalid, "ignoring in-band parameter sets", err)
		}
	}
	switch {
	case t.cfg == nil:
		s.drop(t, dropNoConfig)
		return nil
	case !f.Keyframe && !t.inGroup:
		s.drop(t, dropBeforeKeyframe)
		return nil
	}
	size, err := sampleLen(codec, f.AU, t.cfg)
	if err != nil || size == 0 {
		s.drop(t, dropInvalid)
		if err == nil {
			err = errors.New("empty access unit")
		}
		return fmt.Errorf("packager %s: %w", t.name, err)
	}
	if !t.anchored {
		s.anchor(t, f.DTS)
	}
	p := t.vt.place(f.DTS, f.PTS)
	s.stats.event(p.event)
	s.flushHeld(t, p.delta)
	if t.published != t.cfg || s.catalogDirty {
		s.publishCatalog()
	}
	flags := uint32(nonSyncSampleFlags)
	if f.Keyframe {
		flags = syncSampleFlags
		s.startVideoGroup(t, p.dts+int64(p.cto))
	}
	payload, durAt := s.chunk(t, f, size, p.dts, p.dur, p.cto, flags)
	object := t.object
	t.object++
	if s.cfg.ExactDurations {
		t.held = heldChunk{payload: payload, durAt: durAt, group: t.group, object: object}
	} else {
		s.emit(t, t.group, object, payload)
	}
	s.measure(t, p.dts, len(payload))
	return nil
}

// takeParamSets makes a keyframe's in-band parameter sets the track's
// configuration.
func (s *Muxer) takeParamSets(t *track, au [][]byte) error {
	ps, err := inbandParamSets(t.src.Codec, au)
	if err != nil {
		return err
	}
	base := t.cfg
	if base == nil {
		base = &decoderConfig{codec: t.src.Codec}
	}
	cfg, err := base.withParamSets(&ps)
	if errors.Is(err, errNoDecoderConfig) && t.cfg == nil {
		return nil // incomplete: keep waiting, the frame counts as no config
	}
	if err != nil {
		return err
	}
	s.setConfig(t, cfg)
	return nil
}

func (s *Muxer) writeAudio(t *track, f *ingest.Frame) error {
	if t.cfg == nil {
		s.drop(t, dropNoConfig)
		return nil
	}
	size, err := sampleLen(t.src.Codec, f.AU, t.cfg)
	if err == nil && size == 0 {
		err = errors.New("empty audio frame")
	}
	dur := t.cfg.frameSamples
	if err == nil && t.src.Codec == ingest.CodecOpus {
		dur, err = opusPacketSamples(firstNonEmpty(f.AU))
	}
	if err != nil {
		s.drop(t, dropInvalid)
		return fmt.Errorf("packager %s: %w", t.name, err)
	}
	if !s.audioGate(t, f.DTS) {
		s.drop(t, dropWaiting)
		return nil
	}
	if !t.anchored {
		s.anchor(t, f.DTS)
	}
	tm, ev := t.at.place(f.DTS, dur)
	if ev == eventAudioLate {
		s.drop(t, dropLate)
		return nil
	}
	s.stats.event(ev)
	if t.published != t.cfg || s.catalogDirty {
		s.publishCatalog()
	}
	s.audioGroup(t, tm)
	payload, _ := s.chunk(t, f, size, tm, dur, 0, syncSampleFlags)
	object := t.object
	t.object++
	s.emit(t, t.group, object, payload)
	s.measure(t, tm, len(payload))
	return nil
}

// chunk builds the CMAF chunk of a frame in a new slice, and returns the
// offset of its duration field.
func (s *Muxer) chunk(t *track, f *ingest.Frame, size int, dts int64, dur uint32, cto int32, flags uint32) ([]byte, int) {
	prft := s.cfg.ProducerReferenceTime
	decodeTime := uint64(dts)
	hl := chunkHeaderLen(decodeTime, prft)
	t.seq++
	cs := chunkSample{seq: t.seq, decodeTime: decodeTime, dur: dur, size: uint32(size), flags: flags, cto: cto}
	if prft {
		rt := f.Received
		if rt.IsZero() {
			rt = time.Now()
		}
		cs.prft = ntpTime(rt)
	}
	codec := t.src.Codec
	var b []byte
	if li, tail := lastPiece(codec, f.AU, t.cfg); tail != nil && hl+size-len(tail) <= len(s.scratch) {
		// Everything before the last NAL unit (or audio element) goes into
		// scratch, then append copies it and the tail into a new slice of
		// exactly the right size without zeroing it first, which make
		// would do: that saves a pass over a 20 KB frame.
		head := s.scratch[:hl+size-len(tail)]
		putChunkHeader(head, &cs)
		putSample(head[hl:], codec, f.AU[:li], t.cfg)
		if codec != ingest.CodecAAC && codec != ingest.CodecOpus {
			binary.BigEndian.PutUint32(head[len(head)-4:], uint32(len(tail)))
		}
		b = head[:len(head):len(head)] // full: append must allocate
		b = append(b, tail...)
	} else {
		b = make([]byte, hl+size)
		putChunkHeader(b, &cs)
		putSample(b[hl:], codec, f.AU, t.cfg)
	}
	return b[:len(b):len(b)], durOffset(decodeTime, prft)
}

// flushHeld delivers a track's held video chunk; delta, when not 0, is its
// exact duration.
func (s *Muxer) flushHeld(t *track, delta uint32) {
	h := t.held
	if h.payload == nil {
		return
	}
	t.held = heldChunk{}
	if delta > 0 {
		binary.BigEndian.PutUint32(h.payload[h.durAt:], delta)
	}
	s.emit(t, h.group, h.object, h.payload)
}

func (s *Muxer) emit(t *track, group, object uint64, payload []byte) {
	t.emitted, t.live = true, true
	s.stats.objects.Add(1)
	s.stats.bytes.Add(uint64(len(payload)))
	s.out.Object(t.name, group, object, payload)
}

// measure feeds the track's bitrate meter and publishes the measured
// figures once every track that needs them has them.
func (s *Muxer) measure(t *track, tm int64, n int) {
	if t.meter.add(tm, n) && t.src.Bitrate == 0 {
		t.measured = true
		if s.measuredAll() {
			s.publishCatalog()
		}
	}
}

// drop counts a dropped frame and logs drops of each kind per track,
// rate-limited.
func (s *Muxer) drop(t *track, r dropReason) {
	s.stats.dropped[r].Add(1)
	s.logDrop(t, r, "dropping frames", nil)
}

func (s *Muxer) logDrop(t *track, r dropReason, msg string, err error) {
	k := dropLogKey{r, msg}
	l := t.logs[k]
	if l == nil {
		level := slog.LevelDebug
		if r == dropInvalid {
			level = slog.LevelWarn
		}
		l = ingest.NewRateLog(s.log, level, msg)
		if t.logs == nil {
			t.logs = make(map[dropLogKey]*ingest.RateLog)
		}
		t.logs[k] = l
	}
	l.Log("track", t.name, "reason", r.String(), "err", err)
}

// Close delivers a held frame and ends every track, the catalog last.
// Frames and publications after Close are refused.
func (s *Muxer) Close() {
	if s.closed {
		return
	}
	s.closed = true
	for _, t := range s.order {
		s.flushHeld(t, 0)
		s.endTrack(t)
	}
	if s.view.Load() != nil {
		s.out.EndTrack(CatalogTrackName)
	}
	st := s.stats.snapshot()
	s.log.Info("stream closed", "objects", st.Objects, "dropped",
		st.DroppedNoConfig+st.DroppedBeforeKeyframe+st.DroppedWaiting+st.DroppedLate, "invalid", st.Invalid)
}

// Catalog returns the latest catalog version and its group ID; ok is false
// before the first one.
func (s *Muxer) Catalog() (catalog []byte, group uint64, ok bool) {
	v := s.view.Load()
	if v == nil {
		return nil, 0, false
	}
	return v.catalog, v.catalogGroup, true
}

// Tracks describes the tracks of the latest catalog.
func (s *Muxer) Tracks() []TrackInfo {
	v := s.view.Load()
	if v == nil {
		return nil
	}
	return append([]TrackInfo(nil), v.tracks...)
}

// Track describes one track of the latest catalog.
func (s *Muxer) Track(name string) (TrackInfo, bool) {
	if v := s.view.Load(); v != nil {
		for _, t := range v.tracks {
			if t.Name == name {
				return t, true
			}
		}
	}
	return TrackInfo{}, false
}

// Declares reports whether the current publication has a track called
// name, whether or not a catalog lists it yet: a subscriber that asks right
// after the announce (as relays do) waits for its first object instead of
// being refused.
func (s *Muxer) Declares(name string) bool {
	if _, ok := s.Track(name); ok {
		return true
	}
	d := s.declared.Load()
	return d != nil && slices.Contains(*d, name)
}

// Stats returns the stream's counters.
func (s *Muxer) Stats() Stats { return s.stats.snapshot() }

func firstNonEmpty(au [][]byte) []byte {
	for _, b := range au {
		if len(b) > 0 {
			return b
		}
	}
	return nil
}
