package rtsp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtpsimpleaudio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/moqgw/moq-gateway/ingest"
)

// emitFunc hands one access unit on; timestamps are in the track's RTP
// clock on gortsplib's 64-bit timeline.
type emitFunc func(dts, pts int64, key bool, au [][]byte) error

// depacketizer turns the RTP packets of one format into access units.
type depacketizer interface {
	// decode handles one packet whose timestamp gortsplib decoded to pts.
	// It returns an error for packets that cost a frame; packets that
	// merely need more packets are not errors.
	decode(pkt *rtp.Packet, pts int64, emit emitFunc) error
}

// track is one announced media the gateway can package.
type track struct {
	media  *description.Media
	format format.Format
	info   ingest.Track
	dep    depacketizer
}

// announcedTracks picks, per announced media, the first format the gateway
// packages. skipped describes the formats it cannot use.
func announcedTracks(desc *description.Session) (tracks []*track, skipped []string) {
	for _, m := range desc.Medias {
		if m.IsBackChannel {
			continue
		}
		var t *track
		for _, f := range m.Formats {
			var err error
			t, err = newTrack(m, f)
			switch {
			case err != nil:
				skipped = append(skipped, fmt.Sprintf("%s %s: %v", m.Type, codecName(f), err))
			case t == nil:
				skipped = append(skipped, fmt.Sprintf("%s %s", m.Type, codecName(f)))
			}
			if t != nil {
				break
			}
		}
		if t != nil {
			tracks = append(tracks, t)
		}
	}
	return tracks, skipped
}

// codecName names a format for logs ("H264", "MJPEG").
func codecName(f format.Format) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", f), "*format.")
}

// newTrack maps a format; nil, nil when the gateway does not package it.
func newTrack(m *description.Media, f format.Format) (*track, error) {
	t := &track{media: m, format: f}
	switch f := f.(type) {
	case *format.H264:
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		sps, pps := f.SPS, f.PPS
		t.info = ingest.Track{Codec: ingest.CodecH264, Timescale: uint32(f.ClockRate()), SPS: sps, PPS: pps}
		d := &h264Depacketizer{dec: dec, sps: sps, pps: pps}
		d.dts.Initialize()
		t.dep = d
	case *format.H265:
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		vps, sps, pps := f.VPS, f.SPS, f.PPS
		t.info = ingest.Track{Codec: ingest.CodecH265, Timescale: uint32(f.ClockRate()), VPS: vps, SPS: sps, PPS: pps}
		d := &h265Depacketizer{dec: dec, vps: vps, sps: sps, pps: pps}
		d.dts.Initialize()
		t.dep = d
	case *format.MPEG4Audio:
		if f.Config == nil || f.Config.SampleRate <= 0 {
			return nil, errors.New("MPEG-4 audio without a usable config")
		}
		asc, err := f.Config.Marshal()
		if err != nil {
			return nil, fmt.Errorf("MPEG-4 audio config: %w", err)
		}
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		t.info = ingest.Track{
			Codec: ingest.CodecAAC, Timescale: uint32(f.ClockRate()),
			AudioSpecificConfig: asc, SampleRate: f.Config.SampleRate, Channels: ingest.AACChannels(f.Config.ChannelConfig),
		}
		t.dep = &aacDepacketizer{dec: dec, au: make([][]byte, 1)}
	case *format.Opus:
		dec, err := f.CreateDecoder()
		if err != nil {
			return nil, err
		}
		t.info = ingest.Track{
			Codec: ingest.CodecOpus, Timescale: uint32(f.ClockRate()),
			SampleRate: f.ClockRate(), Channels: f.ChannelCount,
		}
		t.dep = &opusDepacketizer{dec: dec, au: make([][]byte, 1)}
	default:
		return nil, nil
	}
	return t, nil
}

// h264Depacketizer rebuilds H.264 access units and derives their DTS, which
// RTP does not carry: mediacommon's DTSExtractor reads it off the slice
// headers' picture order count, which needs the SPS in band. ffmpeg and many
// cameras send SPS/PPS only in the SDP (sprop-parameter-sets), so the last
// known parameter sets are put in front of every IDR that lacks them; that
// also hands the packager in-band parameter sets at each keyframe.
type h264Depacketizer struct {
	dec      *rtph264.Decoder
	dts      h264.DTSExtractor
	sps, pps []byte

	// rtph264 also ends an access unit when the RTP timestamp changes
	// (cameras that never set the marker bit) and then returns the
	// previous unit while handling the next packet; pending remembers the
	// PTS of the unit being buffered so the returned one gets its own.
	pending   bool
	pendingTS uint32
	pendingPT int64
}

func (d *h264Depacketizer) decode(pkt *rtp.Packet, pts int64, emit emitFunc) error {
	au, err := d.dec.Decode(pkt)
	split := err == nil && d.pending && d.pendingTS != pkt.Timestamp
	auPTS := pts
	if split {
		auPTS = d.pendingPT
	}
	switch {
	case errors.Is(err, rtph264.ErrMorePacketsNeeded):
		if !d.pending || d.pendingTS != pkt.Timestamp {
			d.pending, d.pendingTS, d.pendingPT = true, pkt.Timestamp, pts
		}
		return nil
	case split:
		d.pending, d.pendingTS, d.pendingPT = true, pkt.Timestamp, pts
	default:
		d.pending = false
	}
	if errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) {
		return nil // joined mid-unit; normal at the start
	}
	if err != nil {
		return err
	}
	au = dropEmpty(au)
	if len(au) == 0 {
		return nil
	}

	var hasSPS, hasPPS, idr bool
	for _, n := range au {
		switch h264.NALUType(n[0] & 0x1F) {
		case h264.NALUTypeSPS:
			hasSPS = true
			keep(&d.sps, n)
		case h264.NALUTypePPS:
			hasPPS = true
			keep(&d.pps, n)
		case h264.NALUTypeIDR:
			idr = true
		}
	}
	if idr && (!hasSPS || !hasPPS) && d.sps != nil && d.pps != nil {
		au = append([][]byte{d.sps, d.pps}, au...)
	}
	dts, err := d.dts.Extract(au, auPTS)
	if err != nil {
		return fmt.Errorf("H.264 DTS: %w", err)
	}
	return emit(dts, auPTS, idr, au)
}

// h265Depacketizer is h264Depacketizer for H.265 (VPS/SPS/PPS in front of
// IRAP pictures).
type h265Depacketizer struct {
	dec           *rtph265.Decoder
	dts           h265.DTSExtractor
	vps, sps, pps []byte
}

func (d *h265Depacketizer) decode(pkt *rtp.Packet, pts int64, emit emitFunc) error {
	au, err := d.dec.Decode(pkt)
	if errors.Is(err, rtph265.ErrMorePacketsNeeded) || errors.Is(err, rtph265.ErrNonStartingPacketAndNoPrevious) {
		return nil
	}
	if err != nil {
		return err
	}
	au = dropEmpty(au)
	if len(au) == 0 {
		return nil
	}

	var hasVPS, hasSPS, hasPPS bool
	for _, n := range au {
		switch h265.NALUType((n[0] >> 1) & 0x3F) {
		case h265.NALUType_VPS_NUT:
			hasVPS = true
			keep(&d.vps, n)
		case h265.NALUType_SPS_NUT:
			hasSPS = true
			keep(&d.sps, n)
		case h265.NALUType_PPS_NUT:
			hasPPS = true
			keep(&d.pps, n)
		}
	}
	key := h265.IsRandomAccess(au)
	if key && (!hasVPS || !hasSPS || !hasPPS) && d.vps != nil && d.sps != nil && d.pps != nil {
		au = append([][]byte{d.vps, d.sps, d.pps}, au...)
	}
	dts, err := d.dts.Extract(au, pts)
	if err != nil {
		return fmt.Errorf("H.265 DTS: %w", err)
	}
	return emit(dts, pts, key, au)
}

// keep stores parameter set n in *dst, copied, when it changed (the
// decoder reuses its buffers).
func keep(dst *[]byte, n []byte) {
	if !bytes.Equal(n, *dst) {
		*dst = bytes.Clone(n)
	}
}

// dropEmpty removes empty NAL units, which the codec helpers would index
// out of range; it allocates only when there is one.
func dropEmpty(au [][]byte) [][]byte {
	for i, n := range au {
		if len(n) == 0 {
			out := append([][]byte(nil), au[:i]...)
			for _, m := range au[i+1:] {
				if len(m) > 0 {
					out = append(out, m)
				}
			}
			return out
		}
	}
	return au
}

// aacDepacketizer splits RFC 3640 packets into AAC frames of 1024 samples;
// the RTP clock is the sample rate, so frame i is 1024·i after the packet.
type aacDepacketizer struct {
	dec *rtpmpeg4audio.Decoder
	au  [][]byte // reused single-frame access unit
}

func (d *aacDepacketizer) decode(pkt *rtp.Packet, pts int64, emit emitFunc) error {
	aus, err := d.dec.Decode(pkt)
	if errors.Is(err, rtpmpeg4audio.ErrMorePacketsNeeded) {
		return nil
	}
	if err != nil {
		return err
	}
	for i, a := range aus {
		d.au[0] = a
		ts := pts + int64(i)*mpeg4audio.SamplesPerAccessUnit
		if err := emit(ts, ts, true, d.au); err != nil {
			return err
		}
	}
	return nil
}

// opusDepacketizer hands on one Opus packet per RTP packet (RFC 7587).
type opusDepacketizer struct {
	dec *rtpsimpleaudio.Decoder
	au  [][]byte
}

func (d *opusDepacketizer) decode(pkt *rtp.Packet, pts int64, emit emitFunc) error {
	p, err := d.dec.Decode(pkt)
	if err != nil {
		return err
	}
	d.au[0] = p
	return emit(pts, pts, true, d.au)
}
