package packager

import "sync/atomic"

// Stats are a Muxer's counters since New.
type Stats struct {
	Frames          uint64 // frames written
	Objects         uint64 // media objects delivered (catalog excluded)
	Bytes           uint64 // payload bytes of those objects
	CatalogVersions uint64 // catalog objects delivered

	// Frames dropped because they could not be decoded yet or any more.
	DroppedNoConfig       uint64 // the track's decoder configuration is unknown
	DroppedBeforeKeyframe uint64 // video before the track's first keyframe
	DroppedWaiting        uint64 // audio before the group it aligns to
	DroppedLate           uint64 // audio whose source clock fell behind the sample count
	// Invalid counts malformed frames (dropped, WriteFrame errors) and
	// malformed in-band configurations (ignored, the frame goes out).
	Invalid uint64

	// Timeline repairs.
	Clamped    uint64 // non-increasing video DTS moved to the previous DTS + 1
	Reanchored uint64 // timestamp jumps continued after the previous frame
	Resynced   uint64 // audio counts moved forward to the source clock
	BadCTO     uint64 // PTS implausibly far from DTS, written as DTS

	ConfigChanges uint64 // decoder configuration changes (new init segments)
}

// dropReason is why a frame was dropped; it picks a counter and a log line.
type dropReason uint8

const (
	dropNoConfig dropReason = iota
	dropBeforeKeyframe
	dropWaiting
	dropLate
	dropInvalid
)

func (r dropReason) String() string {
	switch r {
	case dropNoConfig:
		return "no decoder configuration yet"
	case dropBeforeKeyframe:
		return "waiting for a keyframe"
	case dropWaiting:
		return "waiting for the group to align to"
	case dropLate:
		return "audio behind its sample count"
	default:
		return "invalid frame"
	}
}

// counters are the atomic counterparts of Stats: the write path bumps them
// under the stream lock, Stats reads them from anywhere.
type counters struct {
	frames, objects, bytes, catalogs atomic.Uint64
	dropped                          [dropInvalid + 1]atomic.Uint64
	clamped, reanchored, resynced    atomic.Uint64
	badCTO, configChanges            atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Frames:                c.frames.Load(),
		Objects:               c.objects.Load(),
		Bytes:                 c.bytes.Load(),
		CatalogVersions:       c.catalogs.Load(),
		DroppedNoConfig:       c.dropped[dropNoConfig].Load(),
		DroppedBeforeKeyframe: c.dropped[dropBeforeKeyframe].Load(),
		DroppedWaiting:        c.dropped[dropWaiting].Load(),
		DroppedLate:           c.dropped[dropLate].Load(),
		Invalid:               c.dropped[dropInvalid].Load(),
		Clamped:               c.clamped.Load(),
		Reanchored:            c.reanchored.Load(),
		Resynced:              c.resynced.Load(),
		BadCTO:                c.badCTO.Load(),
		ConfigChanges:         c.configChanges.Load(),
	}
}

// event counts what placing a frame on its timeline did.
func (c *counters) event(e timelineEvent) {
	switch e {
	case eventClamped:
		c.clamped.Add(1)
	case eventReanchor:
		c.reanchored.Add(1)
	case eventResync:
		c.resynced.Add(1)
	case eventBadCTO:
		c.badCTO.Add(1)
	}
}
