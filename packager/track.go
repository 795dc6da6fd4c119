package packager

import (
	"strconv"

	"github.com/moqgw/moq-gateway/ingest"
)

// track is the packaging state of one MoQ track. It lives as long as the
// Muxer, across publications, so that a reconnecting publisher continues
// its timeline, sequence numbers and group IDs.
type track struct {
	name  string
	kind  ingest.Kind
	index int          // position in the current publication; -1 when absent
	src   ingest.Track // declaration of the current publication

	cfg       *decoderConfig // current decoder configuration; nil until known
	published *decoderConfig // configuration the latest catalog lists; nil when not listed
	initCfg   *decoderConfig // configuration initID names
	initSeq   int            // numbers the track's init segments
	initID    string         // catalog id of initCfg's init segment

	vt       videoTimeline
	at       audioTimeline
	srcRate  uint32 // protocol timescale of the current publication
	anchored bool   // timeline anchored for the current publication

	seq      uint32 // mfhd sequence number of the last chunk
	group    uint64 // current group ID
	object   uint64 // next object ID in the group
	inGroup  bool   // false: the next frame emitted must start a group
	groupAt  int64  // media time the current group started at
	boundary boundary

	waiting   bool  // audio waits for the lead's first group
	waitSince int64 // source DTS of the first frame waited for

	held heldChunk

	meter    bitrateMeter
	measured bool // meter completed for the current configuration
	emitted  bool // a chunk went out under the current configuration

	live bool // listed in a catalog or sent objects since the last EndTrack
	logs map[dropLogKey]*ingest.RateLog
}

// dropLogKey names one kind of drop log line of a track.
type dropLogKey struct {
	reason dropReason
	msg    string
}

// heldChunk is a video chunk held back for its exact duration.
type heldChunk struct {
	payload       []byte
	durAt         int
	group, object uint64
}

// trackNames assigns MoQ track names to a publication's tracks: "video",
// "audio", then "video1", "audio1"... in publication order. The same
// publication shape always gets the same names, which is what keeps them
// stable across reconnects.
func trackNames(tracks []ingest.Track) []string {
	names := make([]string, len(tracks))
	var n [3]int
	for i, t := range tracks {
		k := t.Kind()
		base := k.String()
		if k != ingest.KindVideo && k != ingest.KindAudio {
			base, k = "track", 0
		}
		if n[k] == 0 {
			names[i] = base
		} else {
			names[i] = base + strconv.Itoa(n[k])
		}
		n[k]++
	}
	return names
}

// initRef is the catalog id of the track's current init segment.
func (t *track) nextInitID() string {
	t.initSeq++
	return "init-" + t.name + "-" + strconv.Itoa(t.initSeq)
}

// end returns where the track's timeline ends, in media ticks, and its
// media timescale; ok is false when nothing was placed yet.
func (t *track) end() (ticks int64, rate uint32, ok bool) {
	if t.kind == ingest.KindVideo {
		return t.vt.end(), videoTimescale, t.vt.started
	}
	return t.at.end(), t.at.clkRate(), t.at.started
}
