package packager

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/Eyevinn/mp4ff/av1"
	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/hevc"

	"github.com/moqgw/moq-gateway/ingest"
)

// videoTimescale is the media timescale of every video track: 90 kHz holds
// the common frame rates and the MPEG-TS/RTP clocks exactly.
const videoTimescale = 90000

// maxParamSetLen bounds one parameter set or configuration record; real
// ones are a few hundred bytes at most.
const maxParamSetLen = 64 << 10

// maxASCLen bounds an AudioSpecificConfig: real ones are 2 to 5 bytes, a
// few dozen with a program_config_element, and mp4ff's esds encoder
// writes one-byte descriptor sizes, which hold 127 bytes.
const maxASCLen = 64

// decoderConfig is the decoder configuration of a track and everything
// derived from it: the init segment and the catalog fields. It is immutable
// once built; a configuration change builds a new one.
type decoderConfig struct {
	codec ingest.Codec

	// Parameter sets (H.264, H.265) as single NAL units, and the AV1
	// sequence header OBU payload; private copies.
	vps, sps, pps [][]byte
	av1SeqHdr     []byte

	asc      []byte    // AAC AudioSpecificConfig
	opus     *opusHead // the source's Opus identification header, if any
	channels int       // audio output channels

	// timescale is the media timescale: 90 kHz for video, the output sample
	// rate for audio.
	timescale uint32
	// frameSamples is the fixed number of samples per AAC frame; Opus
	// frames carry their own length.
	frameSamples uint32

	codecString   string
	width, height int
	framerate     float64 // from the bitstream's timing info; 0 when absent

	init []byte // ftyp+moov
}

var errNoDecoderConfig = errors.New("no decoder configuration")

// newDecoderConfig builds the configuration a Track declares. It returns
// errNoDecoderConfig when the track carries none yet (parameter sets only in
// band), and another error when what it carries is unusable.
func newDecoderConfig(t ingest.Track) (*decoderConfig, error) {
	c := &decoderConfig{codec: t.Codec}
	switch t.Codec {
	case ingest.CodecH264:
		if len(trimZeros(t.SPS)) == 0 || len(trimZeros(t.PPS)) == 0 {
			return nil, errNoDecoderConfig
		}
		c.sps, c.pps = [][]byte{clone(trimZeros(t.SPS))}, [][]byte{clone(trimZeros(t.PPS))}
	case ingest.CodecH265:
		if len(trimZeros(t.VPS)) == 0 || len(trimZeros(t.SPS)) == 0 || len(trimZeros(t.PPS)) == 0 {
			return nil, errNoDecoderConfig
		}
		c.vps = [][]byte{clone(trimZeros(t.VPS))}
		c.sps = [][]byte{clone(trimZeros(t.SPS))}
		c.pps = [][]byte{clone(trimZeros(t.PPS))}
	case ingest.CodecAV1:
		if len(t.AV1SequenceHeader) == 0 {
			return nil, errNoDecoderConfig
		}
		p, err := av1SequenceHeaderPayload(t.AV1SequenceHeader)
		if err != nil {
			return nil, err
		}
		c.av1SeqHdr = clone(p)
	case ingest.CodecAAC:
		if len(t.AudioSpecificConfig) == 0 {
			return nil, errNoDecoderConfig
		}
		c.asc = clone(t.AudioSpecificConfig)
		c.channels = t.Channels
	case ingest.CodecOpus:
		c.channels = t.Channels
		if len(t.OpusHead) > 0 {
			h, err := parseOpusHead(t.OpusHead)
			if err != nil {
				return nil, err
			}
			c.opus, c.channels = h, int(h.channels)
		}
	default:
		return nil, fmt.Errorf("unsupported codec %q", t.Codec)
	}
	if err := c.derive(t.SampleRate); err != nil {
		return nil, err
	}
	return c, nil
}

// derive parses the configuration, fills in the derived fields and builds
// the init segment. sampleRate is the declared audio rate (Opus input rate).
func (c *decoderConfig) derive(sampleRate int) error {
	for _, ps := range [][][]byte{c.vps, c.sps, c.pps} {
		for _, p := range ps {
			if len(p) > maxParamSetLen {
				return fmt.Errorf("parameter set of %d bytes", len(p))
			}
		}
	}
	if len(c.av1SeqHdr) > maxParamSetLen || len(c.asc) > maxASCLen {
		return errors.New("decoder configuration too large")
	}
	var err error
	switch c.codec {
	case ingest.CodecH264:
		err = c.deriveH264()
	case ingest.CodecH265:
		err = c.deriveH265()
	case ingest.CodecAV1:
		err = c.deriveAV1()
	case ingest.CodecAAC:
		err = c.deriveAAC()
	case ingest.CodecOpus:
		if c.channels == 0 {
			return errors.New("opus: unknown channel count")
		}
		c.timescale = opusRate
		c.codecString = "opus"
	}
	if err != nil {
		return err
	}
	c.init, err = buildInit(c, sampleRate)
	if err != nil {
		return fmt.Errorf("%s init segment: %w", c.codec, err)
	}
	return nil
}

func (c *decoderConfig) deriveH264() (err error) {
	sps, err := parseAVCSPS(c.sps[0])
	if err != nil {
		return fmt.Errorf("h264 sps: %w", err)
	}
	c.timescale = videoTimescale
	c.codecString = avc.CodecString("avc1", sps)
	c.width, c.height = int(sps.Width), int(sps.Height)
	c.framerate, _ = h264FrameRate(c.sps[0]) // optional: measured when absent
	return nil
}

func (c *decoderConfig) deriveH265() error {
	sps, err := parseHEVCSPS(c.sps[0])
	if err != nil {
		return fmt.Errorf("h265 sps: %w", err)
	}
	c.timescale = videoTimescale
	c.codecString = hevc.CodecString("hvc1", sps)
	w, h := sps.ImageSize()
	c.width, c.height = int(w), int(h)
	if v := sps.VUI; v != nil && v.TimingInfoPresentFlag && v.NumUnitsInTick > 0 {
		c.framerate = sanitizeRate(float64(v.TimeScale) / float64(v.NumUnitsInTick))
	}
	return nil
}

func (c *decoderConfig) deriveAV1() error {
	sh, err := parseAV1SequenceHeader(c.av1SeqHdr)
	if err != nil {
		return fmt.Errorf("av1 sequence header: %w", err)
	}
	c.timescale = videoTimescale
	c.codecString = av1.CodecString("av01", sh)
	c.width, c.height = int(sh.Width()), int(sh.Height())
	if sh.TimingInfoPresent && sh.NumUnitsInDisplayTick > 0 {
		c.framerate = sanitizeRate(float64(sh.TimeScale) / float64(sh.NumUnitsInDisplayTick))
	}
	return nil
}

func (c *decoderConfig) deriveAAC() error {
	a, err := parseASC(c.asc)
	if err != nil {
		return fmt.Errorf("aac config: %w", err)
	}
	if ch := a.channels(); ch > 0 {
		c.channels = ch
	}
	if c.channels <= 0 || c.channels > 24 {
		return fmt.Errorf("aac config: channel configuration %d and %d declared channels",
			a.channelConfig, c.channels)
	}
	c.timescale = uint32(a.sampleRate)
	c.frameSamples = a.frameSamples
	c.codecString = a.codecString()
	return nil
}

// withParamSets returns the configuration with in-band parameter sets
// replacing the ones of the same kind; kinds absent in band are kept.
func (c *decoderConfig) withParamSets(ps *paramSets) (*decoderConfig, error) {
	n := &decoderConfig{codec: c.codec, vps: c.vps, sps: c.sps, pps: c.pps, av1SeqHdr: c.av1SeqHdr}
	if len(ps.vps) > 0 {
		n.vps = clones(ps.vps)
	}
	if len(ps.sps) > 0 {
		n.sps = clones(ps.sps)
	}
	if len(ps.pps) > 0 {
		n.pps = clones(ps.pps)
	}
	if ps.av1SeqHdr != nil {
		n.av1SeqHdr = clone(ps.av1SeqHdr)
	}
	if !n.complete() {
		return nil, errNoDecoderConfig
	}
	if err := n.derive(0); err != nil {
		return nil, err
	}
	return n, nil
}

// complete reports whether the configuration has every parameter set its
// codec needs.
func (c *decoderConfig) complete() bool {
	switch c.codec {
	case ingest.CodecH264:
		return len(c.sps) > 0 && len(c.pps) > 0
	case ingest.CodecH265:
		return len(c.vps) > 0 && len(c.sps) > 0 && len(c.pps) > 0
	case ingest.CodecAV1:
		return len(c.av1SeqHdr) > 0
	default:
		return true
	}
}

// same reports whether two configurations describe the same decoder setup;
// the init segment captures all of it.
func (c *decoderConfig) same(o *decoderConfig) bool {
	return c != nil && o != nil && bytes.Equal(c.init, o.init)
}

// channelConfig is the catalog's channelConfig: the channel count.
func (c *decoderConfig) channelConfig() string {
	return strconv.Itoa(c.channels)
}

// nominalFrameDur is the frame duration in 90 kHz ticks that the timing info
// declares, or that of 30 frames per second.
func (c *decoderConfig) nominalFrameDur() uint32 {
	if c.framerate > 0 {
		return uint32(math.Round(videoTimescale / c.framerate))
	}
	return videoTimescale / 30
}

// sanitizeRate drops frame rates no real stream has.
func sanitizeRate(r float64) float64 {
	if r < 1 || r > 1000 || math.IsNaN(r) {
		return 0
	}
	return math.Round(r*1000) / 1000
}

// av1SequenceHeaderPayload finds the sequence header OBU payload in b: an
// AV1CodecConfigurationRecord (as Enhanced RTMP sends it) or OBUs.
func av1SequenceHeaderPayload(b []byte) ([]byte, error) {
	obus := b
	if len(b) > 0 && b[0]&0x80 != 0 { // marker bit: a configuration record, never an OBU
		rec, err := decodeAV1ConfigRecord(b)
		if err != nil {
			return nil, fmt.Errorf("av1 configuration record: %w", err)
		}
		obus = rec.ConfigOBUs
	}
	split, err := av1.SplitOBUs(obus)
	if err != nil {
		return nil, fmt.Errorf("av1 sequence header: %w", err)
	}
	for _, o := range split {
		if o.Header.Type == av1.OBUSequenceHeader {
			return o.Payload, nil
		}
	}
	return nil, errors.New("av1: no sequence header OBU")
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func clones(bs [][]byte) [][]byte {
	out := make([][]byte, len(bs))
	for i, b := range bs {
		out[i] = clone(b)
	}
	return out
}
