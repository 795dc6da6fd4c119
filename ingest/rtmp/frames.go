package rtmp

import (
	"bytes"
	"slices"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/moqgw/moq-gateway/ingest"
)

// AV1 OBU types (AV1 specification §6.2.2).
const (
	obuTemporalDelimiter = 2
	obuFrameHeader       = 3
	obuFrame             = 6
)

// trackState follows one ingest track while its frames flow.
type trackState struct {
	index int
	codec ingest.Codec
	// params are the parameter sets (H.264 SPS, PPS; H.265 VPS, SPS, PPS;
	// AV1 sequence header) the track's decoder has, to notice changes.
	params [][]byte
	// pending are changed parameter sets that go in front of the next
	// frame.
	pending [][]byte
	// reducedStill is the AV1 sequence header's
	// reduced_still_picture_header: every frame is then a key frame.
	reducedStill bool
	frames       uint64
}

func newTrackState(index int, t ingest.Track) *trackState {
	st := &trackState{index: index, codec: t.Codec}
	switch t.Codec {
	case ingest.CodecH264:
		st.params = [][]byte{t.SPS, t.PPS}
	case ingest.CodecH265:
		st.params = [][]byte{t.VPS, t.SPS, t.PPS}
	case ingest.CodecAV1:
		if t.AV1SequenceHeader != nil {
			st.params = [][]byte{t.AV1SequenceHeader}
			st.reducedStill = reducedStill(t.AV1SequenceHeader)
		}
	}
	return st
}

// newParams records parameter sets that arrived out of band; they are sent
// in band with the next frame when they differ from the current ones.
func (st *trackState) newParams(ps [][]byte) {
	if len(ps) == 0 || slices.EqualFunc(ps, st.params, bytes.Equal) {
		return
	}
	st.params, st.pending = ps, ps
	if st.codec == ingest.CodecAV1 {
		st.reducedStill = reducedStill(ps[0])
	}
}

// takePending puts pending parameter sets in front of au.
func (st *trackState) takePending(au [][]byte) [][]byte {
	if st.pending == nil {
		return au
	}
	au = append(slices.Clip(st.pending), au...)
	st.pending = nil
	return au
}

// timeline places an RTMP timestamp on the connection's 64-bit timeline.
// gortmplib hands out the 32-bit millisecond clock of the chunk stream as a
// time.Duration in [0, 2^32) ms: it reassembles extended timestamps (the
// 24-bit boundary) but wraps at 2^32 (49.7 days), so the clock is unwrapped
// here. All tracks share one Unwrapper because RTMP has one clock per
// connection; interleaved audio and video only step back a little.
func (c *conn) timeline(pts, dts time.Duration) (int64, int64) {
	d := c.clock.Unwrap(uint64(dts / time.Millisecond))
	return d, d + int64((pts-dts)/time.Millisecond)
}

// videoFrame handles an H.264 or H.265 access unit. gortmplib also calls it
// with the parameter sets of every sequence header, which are remembered and
// go in front of the next access unit when they changed.
func (c *conn) videoFrame(st *trackState, pts, dts time.Duration, au [][]byte) {
	au = slices.DeleteFunc(au, func(n []byte) bool { return len(n) == 0 })
	if len(au) == 0 {
		return
	}
	if onlyParams(st.codec, au) {
		st.newParams(cloneAll(au))
		return
	}
	au = st.takePending(au)
	var key bool
	if st.codec == ingest.CodecH264 {
		key = h264.IsRandomAccess(au)
	} else {
		key = h265.IsRandomAccess(au)
	}
	d, p := c.timeline(pts, dts)
	c.emit(st, d, p, key, au)
}

// onlyParams reports whether an access unit holds parameter sets only.
func onlyParams(codec ingest.Codec, au [][]byte) bool {
	for _, n := range au {
		switch codec {
		case ingest.CodecH264:
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS, h264.NALUTypePPS:
				continue
			}
		case ingest.CodecH265:
			switch h265.NALUType((n[0] >> 1) & 0x3f) {
			case h265.NALUType_VPS_NUT, h265.NALUType_SPS_NUT, h265.NALUType_PPS_NUT:
				continue
			}
		}
		return false
	}
	return len(au) > 0
}

func cloneAll(au [][]byte) [][]byte {
	out := make([][]byte, len(au))
	for i, n := range au {
		out[i] = bytes.Clone(n)
	}
	return out
}

// av1Frame handles an AV1 temporal unit. Temporal delimiters are dropped:
// CMAF samples carry none (AV1-ISOBMFF §2.4).
func (c *conn) av1Frame(st *trackState, pts time.Duration, tu [][]byte) {
	tu = slices.DeleteFunc(tu, func(obu []byte) bool {
		return len(obu) == 0 || obuType(obu) == obuTemporalDelimiter
	})
	if len(tu) == 0 {
		return
	}
	for _, obu := range tu {
		if obuType(obu) == uint8(av1.OBUTypeSequenceHeader) {
			st.newParams([][]byte{obu})
			st.pending = nil // already in band
			break
		}
	}
	tu = st.takePending(tu)
	d, p := c.timeline(pts, pts)
	c.emit(st, d, p, av1KeyFrame(tu, st.reducedStill), tu)
}

func obuType(obu []byte) uint8 { return (obu[0] >> 3) & 0xf }

// av1KeyFrame reports whether a temporal unit starts with a shown key frame,
// the AV1-ISOBMFF sync sample. It reads the first bits of the first frame
// header (AV1 specification §5.9.2): show_existing_frame, frame_type (0 is
// KEY_FRAME), show_frame.
func av1KeyFrame(tu [][]byte, reducedStill bool) bool {
	for _, obu := range tu {
		if len(obu) == 0 {
			continue
		}
		if typ := obuType(obu); typ != obuFrameHeader && typ != obuFrame {
			continue
		}
		if reducedStill {
			return true
		}
		i := 1
		if obu[0]&0x04 != 0 { // obu_extension_flag
			i++
		}
		if obu[0]&0x02 != 0 { // obu_has_size_field: skip the leb128 size
			for i < len(obu) && obu[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if i >= len(obu) {
			return false
		}
		b := obu[i]
		showExisting, frameType, show := b&0x80 != 0, (b>>5)&0x3, b&0x10 != 0
		return !showExisting && frameType == 0 && show
	}
	return false
}

// reducedStill reads reduced_still_picture_header from a sequence header OBU.
func reducedStill(obu []byte) bool {
	var sh av1.SequenceHeader
	return sh.Unmarshal(obu) == nil && sh.ReducedStillPictureHeader
}

// audioFrame handles an AAC or Opus frame: each one is a random access point.
func (c *conn) audioFrame(st *trackState, pts time.Duration, frame []byte) {
	if len(frame) == 0 {
		return
	}
	d, p := c.timeline(pts, pts)
	c.emit(st, d, p, true, [][]byte{frame})
}

// emit hands a frame to the publication. The first error stops the flow;
// the read loop returns it.
func (c *conn) emit(st *trackState, dts, pts int64, key bool, au [][]byte) {
	if c.writeErr != nil {
		return
	}
	err := c.pub.WriteFrame(ingest.Frame{
		Track:    st.index,
		DTS:      dts,
		PTS:      pts,
		Keyframe: key,
		AU:       au,
		Received: time.Now(),
	})
	if err != nil {
		c.writeErr = err
		return
	}
	st.frames++
	c.s.frames.Add(1)
}
