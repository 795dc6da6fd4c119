package packager

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/mp4"
)

// opusRate is the only timescale of Opus in ISOBMFF: packets always decode to
// 48 kHz.
const opusRate = 48000

// maxOpusSamples is the longest Opus packet, 120 ms (RFC 6716 3.2.5).
const maxOpusSamples = 5760

var errEmptyOpus = errors.New("empty opus packet")

// opusFrameSamples holds the frame length in 48 kHz samples per TOC
// configuration number (RFC 6716 3.1, Table 2): SILK 0-11, Hybrid 12-15,
// CELT 16-31.
var opusFrameSamples = [32]uint16{
	480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880,
	480, 960, 480, 960,
	120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
}

// opusPacketSamples returns the duration of an Opus packet in 48 kHz samples,
// read from its TOC byte and, for code 3 packets, the frame count byte. For a
// multistream packet the first stream's TOC speaks for all.
func opusPacketSamples(p []byte) (uint32, error) {
	if len(p) == 0 {
		return 0, errEmptyOpus
	}
	toc := p[0]
	frames := uint32(1)
	switch toc & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0, errors.New("opus code 3 packet without frame count")
		}
		frames = uint32(p[1] & 0x3f)
	}
	n := frames * uint32(opusFrameSamples[toc>>3])
	if n == 0 || n > maxOpusSamples {
		return 0, fmt.Errorf("opus packet of %d samples", n)
	}
	return n, nil
}

// opusVorbisMapping is libopus's surround layout for channel mapping family 1
// (RFC 7845 5.1.1.2), indexed by channel count minus one: streams, coupled
// streams and the channel mapping. Without the OpusHead of the source this is
// the best guess for more than two channels; every encoder in practice
// (libopus, ffmpeg) uses it.
var opusVorbisMapping = [8]struct {
	streams, coupled byte
	mapping          []byte
}{
	{1, 0, []byte{0}},
	{1, 1, []byte{0, 1}},
	{2, 1, []byte{0, 2, 1}},
	{2, 2, []byte{0, 1, 2, 3}},
	{3, 2, []byte{0, 4, 1, 2, 3}},
	{4, 2, []byte{0, 4, 1, 2, 3, 5}},
	{4, 3, []byte{0, 4, 1, 2, 3, 5, 6}},
	{5, 3, []byte{0, 6, 1, 2, 3, 4, 5, 7}},
}

// opusHead is an Opus identification header (RFC 7845 §5.1).
type opusHead struct {
	channels   byte
	preSkip    uint16
	inputRate  uint32
	outputGain int16
	family     byte
	streams    byte
	coupled    byte
	mapping    []byte
}

// errOpusHead marks an identification header the packager cannot use.
var errOpusHead = errors.New("opus identification header")

// parseOpusHead reads an OpusHead packet; its multi-byte fields are
// little-endian (RFC 7845 §5.1), unlike those of the dOps box.
func parseOpusHead(b []byte) (*opusHead, error) {
	if len(b) < 19 || string(b[:8]) != "OpusHead" {
		return nil, fmt.Errorf("%w: no OpusHead signature", errOpusHead)
	}
	if b[8]>>4 != 0 {
		return nil, fmt.Errorf("%w: version %d", errOpusHead, b[8])
	}
	h := &opusHead{
		channels:   b[9],
		preSkip:    binary.LittleEndian.Uint16(b[10:]),
		inputRate:  binary.LittleEndian.Uint32(b[12:]),
		outputGain: int16(binary.LittleEndian.Uint16(b[16:])),
		family:     b[18],
	}
	if h.channels == 0 {
		return nil, fmt.Errorf("%w: no channels", errOpusHead)
	}
	if h.family == 0 {
		// RTP mapping: one stream, mono or stereo.
		if h.channels > 2 {
			return nil, fmt.Errorf("%w: %d channels in mapping family 0", errOpusHead, h.channels)
		}
		return h, nil
	}
	t := b[19:]
	if len(t) < 2+int(h.channels) {
		return nil, fmt.Errorf("%w: channel mapping table of %d bytes for %d channels", errOpusHead, len(t), h.channels)
	}
	h.streams, h.coupled, h.mapping = t[0], t[1], bytes.Clone(t[2:2+int(h.channels)])
	if h.streams == 0 || h.coupled > h.streams || int(h.streams)+int(h.coupled) > 255 {
		return nil, fmt.Errorf("%w: %d streams, %d coupled", errOpusHead, h.streams, h.coupled)
	}
	for _, m := range h.mapping {
		if m != 255 && int(m) >= int(h.streams)+int(h.coupled) {
			return nil, fmt.Errorf("%w: channel mapped to stream %d of %d", errOpusHead, m, int(h.streams)+int(h.coupled))
		}
	}
	return h, nil
}

// opusSpecificBox builds the dOps box (Opus in ISOBMFF 4.3.2). With the
// source's identification header it carries that header's values; without
// one (MPEG-TS, RTP) it has the channel count, libopus's surround mapping
// and PreSkip 0: a live subscriber joins mid-stream, where the encoder's
// priming samples are long gone.
func opusSpecificBox(channels, inputRate int, head *opusHead) (*mp4.DopsBox, error) {
	if head != nil {
		return &mp4.DopsBox{
			OutputChannelCount:   head.channels,
			PreSkip:              head.preSkip,
			InputSampleRate:      head.inputRate,
			OutputGain:           head.outputGain,
			ChannelMappingFamily: head.family,
			StreamCount:          head.streams,
			CoupledCount:         head.coupled,
			ChannelMapping:       head.mapping,
		}, nil
	}
	if channels < 1 || channels > len(opusVorbisMapping) {
		return nil, fmt.Errorf("opus with %d channels", channels)
	}
	if inputRate <= 0 || inputRate > maxAudioRate {
		inputRate = opusRate
	}
	d := &mp4.DopsBox{
		OutputChannelCount: byte(channels),
		InputSampleRate:    uint32(inputRate),
	}
	if channels > 2 {
		m := opusVorbisMapping[channels-1]
		d.ChannelMappingFamily = 1
		d.StreamCount = m.streams
		d.CoupledCount = m.coupled
		d.ChannelMapping = m.mapping
	}
	return d, nil
}
