package srt

import (
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

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

	// write hands a frame on; it is set before the first Read.
	write func(ingest.Frame) error

	// clock unwraps the 33-bit program clock. All tracks share it, so they
	// stay on one timeline even when one starts just before a wrap and
	// another just after.
	clock ingest.Unwrapper
}

// newProgram maps r's tracks and registers the data callbacks that produce
// frames. Call it after r.Initialize.
func newProgram(r *mpegts.Reader) *program {
	p := &program{clock: ingest.Unwrapper{Bits: ingest.MPEGTSClockBits}}
	for _, t := range r.Tracks() {
		idx := len(p.Tracks)
		switch c := t.Codec.(type) {
		case *codecs.H264:
			p.Tracks = append(p.Tracks, ingest.Track{Codec: ingest.CodecH264, Timescale: tsClockRate})
			r.OnDataH264(t, func(pts, dts int64, au [][]byte) error {
				return p.video(idx, pts, dts, au, h264.IsRandomAccess(au))
			})
		case *codecs.H265:
			p.Tracks = append(p.Tracks, ingest.Track{Codec: ingest.CodecH265, Timescale: tsClockRate})
			r.OnDataH265(t, func(pts, dts int64, au [][]byte) error {
				return p.video(idx, pts, dts, au, h265.IsRandomAccess(au))
			})
		case *codecs.MPEG4Audio:
			tr, err := aacTrack(c.Config)
			if err != nil {
				p.Skipped = append(p.Skipped, fmt.Sprintf("PID %d AAC: %v", t.PID, err))
				continue
			}
			p.Tracks = append(p.Tracks, tr)
			au := make([][]byte, 1)
			r.OnDataMPEG4Audio(t, func(pts int64, aus [][]byte) error {
				base := p.audioTime(pts)
				for i, a := range aus {
					au[0] = a
					ts := base + int64(i)*mpeg4audio.SamplesPerAccessUnit*tsClockRate/int64(tr.SampleRate)
					if err := p.emit(idx, ts, ts, true, au); err != nil {
						return err
					}
				}
				return nil
			})
		case *codecs.Opus:
			channels := 2
			if c.Desc != nil {
				channels = c.Desc.ChannelCount()
			}
			p.Tracks = append(p.Tracks, ingest.Track{
				Codec: ingest.CodecOpus, Timescale: tsClockRate,
				SampleRate: opusClockRate, Channels: channels,
			})
			au := make([][]byte, 1)
			r.OnDataOpus(t, func(pts int64, packets [][]byte) error {
				base := p.audioTime(pts)
				var elapsed int64 // in 1/48000 s
				for _, pkt := range packets {
					au[0] = pkt
					ts := base + elapsed*tsClockRate/opusClockRate
					if err := p.emit(idx, ts, ts, true, au); err != nil {
						return err
					}
					elapsed += opus.PacketDuration2(pkt)
				}
				return nil
			})
		default:
			p.Skipped = append(p.Skipped, fmt.Sprintf("PID %d %T", t.PID, t.Codec))
		}
	}
	return p
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
		Channels:            aacChannels(cfg.ChannelConfig),
	}, nil
}

// aacChannels is the channel count of an MPEG-4 channel configuration
// (ISO/IEC 14496-3 Table 1.19); 0 when a program config element defines it.
func aacChannels(cfg uint8) int {
	switch {
	case cfg >= 1 && cfg <= 6:
		return int(cfg)
	case cfg == 7:
		return 8
	default:
		return 0
	}
}

// video emits a video access unit. The container's DTS is kept (not derived
// from PTS, which is what breaks B-frame streams elsewhere); PTS is placed
// relative to it, so a PTS and DTS on opposite sides of a wrap stay apart by
// their real difference.
func (p *program) video(track int, pts, dts int64, au [][]byte, key bool) error {
	d := p.clock.Unwrap(uint64(dts))
	return p.emit(track, d, d+clockDiff(pts, dts), key, au)
}

// audioTime unwraps the PTS of an audio PES (equal to its DTS: the demuxer
// drops audio PES whose DTS differs).
func (p *program) audioTime(pts int64) int64 {
	return p.clock.Unwrap(uint64(pts))
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
