package srt

import (
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/substructs"

	"github.com/moqgw/moq-gateway/ingest"
)

// tsClockRate is the MPEG-TS system clock of PTS and DTS, the timescale of
// every track the adapter publishes.
const tsClockRate = 90000

// opusClockRate is the rate Opus packet durations are counted in (RFC 7587).
const opusClockRate = 48000

// program turns the elementary streams of one MPEG-TS program into ingest
// tracks and frames. H.264/H.265 tracks are published with empty parameter
// sets: MPEG-TS carries them only in band, in front of keyframes, where the
// packager picks them up; waiting for the first keyframe instead would
// delay the publication by up to a GOP and buffer it.
type program struct {
	// Tracks are the published tracks, in PMT order, supported ones only.
	Tracks []ingest.Track
	// Skipped describes elementary streams the gateway cannot package.
	Skipped []string

	// write hands a frame on; set it before the first packet.
	write func(ingest.Frame) error
	// onLost is called with the number of TS packets a continuity gap
	// lost; onError with input that cost a frame. Both are optional.
	onLost  func(n int)
	onError func(err error)

	streams map[uint16]*pesStream

	// clock unwraps the 33-bit program clock. All tracks share it, so they
	// stay on one timeline even when one starts just before a wrap and
	// another just after.
	clock ingest.Unwrapper
}

// newProgram maps the tracks mediacommon found in the program tables.
func newProgram(tracks []*mpegts.Track) *program {
	p := &program{
		clock:   ingest.Unwrapper{Bits: ingest.MPEGTSClockBits},
		streams: make(map[uint16]*pesStream),
		onLost:  func(int) {},
		onError: func(error) {},
	}
	for _, t := range tracks {
		idx := len(p.Tracks)
		var (
			info   ingest.Track
			handle pesHandler
		)
		switch c := t.Codec.(type) {
		case *codecs.H264:
			info = ingest.Track{Codec: ingest.CodecH264, Timescale: tsClockRate}
			handle = p.h264(idx)
		case *codecs.H265:
			info = ingest.Track{Codec: ingest.CodecH265, Timescale: tsClockRate}
			handle = p.h265(idx)
		case *codecs.MPEG4Audio:
			var err error
			if info, err = aacTrack(c.Config); err != nil {
				p.Skipped = append(p.Skipped, fmt.Sprintf("PID %d AAC: %v", t.PID, err))
				continue
			}
			handle = p.aac(idx, info.SampleRate)
		case *codecs.Opus:
			channels := 2
			if c.Desc != nil {
				channels = c.Desc.ChannelCount()
			}
			info = ingest.Track{Codec: ingest.CodecOpus, Timescale: tsClockRate, SampleRate: opusClockRate, Channels: channels}
			handle = p.opus(idx)
		default:
			p.Skipped = append(p.Skipped, fmt.Sprintf("PID %d %T", t.PID, t.Codec))
			continue
		}
		p.Tracks = append(p.Tracks, info)
		p.streams[t.PID] = &pesStream{pid: t.PID, handle: handle}
	}
	return p
}

// h264 handles H.264 PES: an Annex B access unit, its delimiter dropped.
func (p *program) h264(track int) pesHandler {
	return func(pts, dts int64, data []byte) error {
		au, ok := p.annexB(data, func(n []byte) bool { return h264.NALUType(n[0]&0x1F) == h264.NALUTypeAccessUnitDelimiter })
		if !ok {
			return nil
		}
		return p.video(track, pts, dts, au, h264.IsRandomAccess(au))
	}
}

// h265 handles H.265 PES like h264.
func (p *program) h265(track int) pesHandler {
	return func(pts, dts int64, data []byte) error {
		au, ok := p.annexB(data, func(n []byte) bool { return h265.NALUType(n[0]>>1&0x3F) == h265.NALUType_AUD_NUT })
		if !ok {
			return nil
		}
		return p.video(track, pts, dts, au, h265.IsRandomAccess(au))
	}
}

// annexB splits an Annex B access unit and drops a leading delimiter.
func (p *program) annexB(data []byte, isAUD func([]byte) bool) ([][]byte, bool) {
	var au h264.AnnexB
	if err := au.Unmarshal(data); err != nil {
		p.onError(fmt.Errorf("access unit: %w", err))
		return nil, false
	}
	if isAUD(au[0]) {
		au = au[1:]
	}
	if len(au) == 0 {
		p.onError(errors.New("access unit: only a delimiter"))
		return nil, false
	}
	return au, true
}

// aac handles ADTS PES; each raw AAC frame becomes one frame, 1024 samples
// after the one before.
func (p *program) aac(track, sampleRate int) pesHandler {
	au := make([][]byte, 1)
	var pkts mpeg4audio.ADTSPackets
	return func(pts, dts int64, data []byte) error {
		if pts != dts {
			p.onError(errors.New("AAC: PTS differs from DTS"))
			return nil
		}
		pkts = pkts[:0] // Unmarshal appends
		if err := pkts.Unmarshal(data); err != nil {
			p.onError(fmt.Errorf("ADTS: %w", err))
			return nil
		}
		base := p.clock.Unwrap(uint64(pts))
		for i, pkt := range pkts {
			au[0] = pkt.AU
			ts := base + int64(i)*mpeg4audio.SamplesPerAccessUnit*tsClockRate/int64(sampleRate)
			if err := p.emit(track, ts, ts, true, au); err != nil {
				return err
			}
		}
		return nil
	}
}

// opus handles Opus PES (ETSI TS 102 366 style access units, one control
// header each); each packet becomes one frame, placed by the durations of
// the ones before it.
func (p *program) opus(track int) pesHandler {
	au := make([][]byte, 1)
	return func(pts, dts int64, data []byte) error {
		if pts != dts {
			p.onError(errors.New("opus: PTS differs from DTS"))
			return nil
		}
		base := p.clock.Unwrap(uint64(pts))
		var elapsed int64 // in 1/48000 s
		for len(data) > 0 {
			var a substructs.OpusAccessUnit
			n, err := a.Unmarshal(data)
			if err != nil {
				p.onError(fmt.Errorf("opus: %w", err))
				return nil
			}
			data = data[n:]
			au[0] = a.Packet
			ts := base + elapsed*tsClockRate/opusClockRate
			if err := p.emit(track, ts, ts, true, au); err != nil {
				return err
			}
			elapsed += opus.PacketDuration2(a.Packet)
		}
		return nil
	}
}

// aacTrack describes an AAC elementary stream from the configuration the
// demuxer read from its first ADTS header.
func aacTrack(cfg mpeg4audio.AudioSpecificConfig) (ingest.Track, error) {
	if cfg.SampleRate <= 0 {
		return ingest.Track{}, fmt.Errorf("sample rate %d", cfg.SampleRate)
	}
	asc, err := cfg.Marshal()
	if err != nil {
		return ingest.Track{}, fmt.Errorf("audio specific config: %w", err)
	}
	return ingest.Track{
		Codec: ingest.CodecAAC, Timescale: tsClockRate,
		AudioSpecificConfig: asc,
		SampleRate:          cfg.SampleRate,
		Channels:            ingest.AACChannels(cfg.ChannelConfig),
	}, nil
}

// video emits a video access unit. The container's DTS is kept (not derived
// from PTS, which is what breaks B-frame streams elsewhere); PTS is placed
// relative to it, so a PTS and DTS on opposite sides of a wrap stay apart by
// their real difference.
func (p *program) video(track int, pts, dts int64, au [][]byte, key bool) error {
	d := p.clock.Unwrap(uint64(dts))
	return p.emit(track, d, d+clockDiff(pts, dts), key, au)
}

func (p *program) emit(track int, dts, pts int64, key bool, au [][]byte) error {
	return p.write(ingest.Frame{
		Track: track, DTS: dts, PTS: pts, Keyframe: key, AU: au,
		Received: time.Now(),
	})
}

// clockDiff is a−b on the 33-bit clock, as a signed value in
// [−2^32, 2^32).
func clockDiff(a, b int64) int64 {
	const mod = int64(1) << ingest.MPEGTSClockBits
	d := (a - b) & (mod - 1)
	if d >= mod/2 {
		d -= mod
	}
	return d
}
