package packager

import (
	"math"
	"math/big"
	"math/bits"
)

// Discontinuity thresholds, in seconds of media time. A larger step between
// consecutive frames of a track is a jump (an encoder restart, a wrapped
// clock the adapter missed), after which the track continues right after its
// previous frame. Smaller backward steps are clamped (video) or dropped
// (audio); smaller forward steps are gaps and kept.
const (
	maxForwardStep  = 10
	maxBackwardStep = 0.1
	// maxCTO bounds PTS-DTS; anything larger is garbage and written as 0.
	maxCTO = 10
)

// timelineEvent tells the stream what placing a frame did, for its counters.
type timelineEvent uint8

const (
	eventNone      timelineEvent = iota
	eventClamped                 // non-increasing video DTS moved to last+1
	eventReanchor                // jump: continued after the previous frame
	eventResync                  // audio count moved forward to the source clock
	eventBadCTO                  // PTS too far from DTS, written as DTS
	eventAudioLate               // audio frame behind the count: dropped
)

// clock maps a track's source timestamps (its protocol timescale) to its
// media timescale relative to an anchor pair, so that rounding never
// accumulates.
type clock struct {
	srcRate, mediaRate uint64
	src, media         int64 // anchor
}

// toMedia converts a source timestamp; ok is false when the distance to the
// anchor does not fit.
func (c *clock) toMedia(t int64) (int64, bool) {
	d := t - c.src
	if (d > 0) != (t > c.src) { // overflowed
		return 0, false
	}
	if c.srcRate == c.mediaRate {
		return c.media + d, true
	}
	neg := d < 0
	ud := uint64(d)
	if neg {
		ud = uint64(-d)
	}
	hi, lo := bits.Mul64(ud, c.mediaRate)
	if hi >= c.srcRate {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, c.srcRate)
	if q > math.MaxInt64/2 {
		return 0, false
	}
	if neg {
		if r != 0 {
			q++ // floor, as for positive distances
		}
		return c.media - int64(q), true
	}
	return c.media + int64(q), true
}

// seconds converts a media duration in seconds to ticks.
func (c *clock) ticks(seconds float64) int64 {
	return int64(seconds * float64(c.mediaRate))
}

// videoTimeline places video frames on a track's decode timeline.
type videoTimeline struct {
	clk     clock
	started bool  // a frame has been placed
	disc    bool  // the next frame follows a re-anchor (publisher reconnect)
	last    int64 // media DTS of the previous frame
	// dur is the default duration of the next frame: the previous DTS delta,
	// or the nominal frame duration before there is one.
	dur uint32
}

// videoPlace is where a video frame goes.
type videoPlace struct {
	dts   int64
	cto   int32
	dur   uint32 // default-mode duration
	delta uint32 // exact duration of the previous frame (0 after a discontinuity)
	event timelineEvent
}

// anchor maps the source timestamp src to media time media; the next frame
// placed is a discontinuity.
func (v *videoTimeline) anchor(src, media int64) {
	v.clk.src, v.clk.media = src, media
	v.disc = true
}

// end is where the track's timeline ends: after the last frame.
func (v *videoTimeline) end() int64 {
	if !v.started {
		return 0
	}
	return v.last + int64(v.dur)
}

// place computes the decode time, composition offset and default duration
// of a frame with source timestamps dts and pts.
func (v *videoTimeline) place(dts, pts int64) videoPlace {
	m, ok := v.clk.toMedia(dts)
	var p videoPlace
	switch {
	case !v.started || v.disc:
		if !ok || m < 0 {
			m = max(v.clk.media, 0)
		}
	default:
		d := m - v.last
		switch {
		case !ok || d > v.clk.ticks(maxForwardStep) || d < -v.clk.ticks(maxBackwardStep):
			m = v.last + int64(v.dur)
			v.clk.src, v.clk.media = dts, m
			p.event = eventReanchor
			p.delta = v.dur
		case d <= 0:
			m = v.last + 1
			p.event = eventClamped
			p.delta = 1
		default:
			v.dur = uint32(d)
			p.delta = uint32(d)
		}
	}
	v.started, v.disc = true, false
	v.last = m
	p.dts, p.dur = m, v.dur

	pm, ok := v.clk.toMedia(pts)
	cto := pm - m
	if !ok || cto > v.clk.ticks(maxCTO) || cto < -v.clk.ticks(maxCTO) {
		cto = 0
		p.event = eventBadCTO
	}
	p.cto = int32(cto)
	return p
}

// audioTimeline places audio frames by counting samples.
type audioTimeline struct {
	clk     clock
	started bool
	next    int64 // media time where the next frame starts by the count
}

// anchor maps the source timestamp src to media time media.
func (a *audioTimeline) anchor(src, media int64) {
	a.clk.src, a.clk.media = src, media
	if !a.started || media > a.next {
		a.next = media
	}
}

// end is where the track's timeline ends.
func (a *audioTimeline) end() int64 { return a.next }

// clkRate is the media timescale the timeline counts in.
func (a *audioTimeline) clkRate() uint32 { return uint32(a.clk.mediaRate) }

// rescale moves the timeline to another media timescale (a reconnecting
// publisher changed the sample rate), rounding its end up so that it never
// rewinds.
func (a *audioTimeline) rescale(rate uint32) {
	old := a.clk.mediaRate
	a.clk.mediaRate = uint64(rate)
	if old == 0 || old == uint64(rate) || !a.started {
		return
	}
	t := new(big.Int).Mul(big.NewInt(a.next), new(big.Int).SetUint64(uint64(rate)))
	o := new(big.Int).SetUint64(old)
	t.Add(t, o).Sub(t, big.NewInt(1)).Div(t, o)
	if t.IsInt64() {
		a.next = t.Int64()
	}
}

// place returns the decode time of a frame of dur samples with source
// timestamp dts, or eventAudioLate when the frame must be dropped.
func (a *audioTimeline) place(dts int64, dur uint32) (int64, timelineEvent) {
	exp, ok := a.clk.toMedia(dts)
	t, ev := a.next, eventNone
	switch diff := exp - a.next; {
	case !a.started:
		if ok && exp > 0 {
			t = exp
		}
	case !ok || diff > a.clk.ticks(maxForwardStep) || diff < -a.clk.ticks(maxBackwardStep):
		a.clk.src, a.clk.media = dts, a.next
		ev = eventReanchor
	case diff > int64(dur):
		t, ev = exp, eventResync
	case diff < -int64(dur):
		return 0, eventAudioLate
	}
	a.started = true
	a.next = t + int64(dur)
	return t, ev
}

// anchorTicks maps a source timestamp to media ticks on the stream's
// common timeline: the stream's origin (a source time, in seconds) is placed
// at resume (media seconds). It runs once per track and publication, so it
// affords exact rational arithmetic.
func anchorTicks(dts int64, srcRate, mediaRate uint32, origin, resume *big.Rat) int64 {
	t := new(big.Rat).SetFrac64(dts, int64(srcRate))
	t.Sub(t, origin)
	t.Add(t, resume)
	t.Mul(t, new(big.Rat).SetInt64(int64(mediaRate)))
	q := new(big.Int).Div(t.Num(), t.Denom()) // Euclidean: floor for a positive denominator
	if !q.IsInt64() || q.Sign() < 0 {
		return 0
	}
	return q.Int64()
}

// ticksToSeconds is a media time as exact seconds.
func ticksToSeconds(ticks int64, rate uint32) *big.Rat {
	return new(big.Rat).SetFrac64(ticks, int64(rate))
}
