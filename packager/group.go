package packager

import "math/bits"

// Group cadence, in seconds.
const (
	// audioGroupDur is the audio group length while no video cuts groups:
	// short enough for a quick join, long enough to keep streams few.
	audioGroupDur = 1
	// audioMaxGroup caps an audio group while video should be cutting them,
	// in case video stops.
	audioMaxGroup = 5
	// startupWait is how long audio waits for the lead video's first group
	// before it starts its own; it bounds the audio lost when a publication
	// declares video it never sends.
	startupWait = 2
)

// boundary is the latest group start of the stream's lead track, which the
// other tracks align their groups to (CMSF: groups of a switching set are
// media-time aligned; audio follows video like moq-rs does).
type boundary struct {
	group uint64
	at    int64  // presentation time of the lead's first frame in the group
	rate  uint32 // the lead's media timescale
	set   bool
}

// pending reports whether the boundary starts a group the track has not
// started yet.
func (b boundary) pending(t *track) bool {
	return b.set && b.group > t.group
}

// allocGroup hands out the next group ID of the stream: IDs only grow.
func (s *Muxer) allocGroup() uint64 {
	g := s.nextGroup
	s.nextGroup++
	return g
}

// startGroup makes group the track's current group; the next object is 0.
func (s *Muxer) startGroup(t *track, group uint64, at int64) {
	t.group, t.object, t.inGroup, t.groupAt = group, 0, true, at
}

// leadGroup starts a new group on the lead track at presentation time at
// and announces it to the followers.
func (s *Muxer) leadGroup(t *track, at int64, rate uint32) {
	g := s.allocGroup()
	s.startGroup(t, g, at)
	s.leadStarted = true
	for _, o := range s.order {
		if o != t {
			o.boundary = boundary{group: g, at: at, rate: rate, set: true}
		}
	}
}

// startVideoGroup starts a group at a video keyframe with presentation time
// pts. A follower video track reuses the lead's group ID when it has not
// used it yet, so aligned renditions share IDs.
func (s *Muxer) startVideoGroup(t *track, pts int64) {
	switch {
	case t == s.lead:
		s.leadGroup(t, pts, videoTimescale)
	case t.boundary.pending(t):
		s.startGroup(t, t.boundary.group, pts)
	default:
		s.startGroup(t, s.allocGroup(), pts)
	}
}

// audioGate decides whether an audio frame with source DTS dts may go out
// while its track is between publications' groups: a follower waits for the
// lead's first group and joins it at the first frame at or after the group's
// presentation time. It reports false when the frame is to be dropped.
func (s *Muxer) audioGate(t *track, dts int64) bool {
	if t.inGroup || t == s.lead {
		return true
	}
	if b := t.boundary; b.pending(t) {
		if !t.anchored {
			s.anchor(t, dts)
		}
		exp, ok := t.at.clk.toMedia(dts)
		return ok && atOrAfter(exp, t.cfg.timescale, b.at, b.rate)
	}
	if !t.waiting {
		t.waiting, t.waitSince = true, dts
	}
	return dts-t.waitSince >= startupWait*int64(t.srcRate)
}

// audioGroup starts a new audio group when the frame at media time tm needs
// one: the lead's boundary passed, or the cadence for audio without video
// says so.
func (s *Muxer) audioGroup(t *track, tm int64) {
	rate := t.cfg.timescale
	b := t.boundary
	switch {
	case b.pending(t) && (!t.inGroup || atOrAfter(tm, rate, b.at, b.rate)):
		s.startGroup(t, b.group, tm)
	case t == s.lead:
		if !t.inGroup || tm-t.groupAt >= audioGroupDur*int64(rate) {
			s.leadGroup(t, tm, rate)
		}
	case !t.inGroup,
		!s.leadStarted && tm-t.groupAt >= audioGroupDur*int64(rate),
		tm-t.groupAt >= audioMaxGroup*int64(rate):
		s.startGroup(t, s.allocGroup(), tm)
	}
}

// atOrAfter reports whether media time a (timescale ra) is at or after b
// (timescale rb), comparing exactly in 128 bits. Negative times are before
// any non-negative one.
func atOrAfter(a int64, ra uint32, b int64, rb uint32) bool {
	switch {
	case a < 0 && b >= 0:
		return false
	case b < 0 && a >= 0:
		return true
	case a < 0:
		return atOrAfter(-b, rb, -a, ra) // a >= b when -b >= -a
	}
	ah, al := bits.Mul64(uint64(a), uint64(rb))
	bh, bl := bits.Mul64(uint64(b), uint64(ra))
	return ah > bh || ah == bh && al >= bl
}
