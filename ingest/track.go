package ingest

import "fmt"

// Kind is the media type of a track.
type Kind uint8

// Track kinds.
const (
	KindVideo Kind = iota + 1
	KindAudio
)

func (k Kind) String() string {
	switch k {
	case KindVideo:
		return "video"
	case KindAudio:
		return "audio"
	default:
		return fmt.Sprintf("kind(%d)", uint8(k))
	}
}

// Codec names the codec of a track.
type Codec string

// Codecs the gateway packages.
const (
	CodecH264 Codec = "H264"
	CodecH265 Codec = "H265"
	CodecAV1  Codec = "AV1"
	CodecAAC  Codec = "AAC"
	CodecOpus Codec = "Opus"
)

// Kind reports whether the codec carries video or audio (0 when unknown).
func (c Codec) Kind() Kind {
	switch c {
	case CodecH264, CodecH265, CodecAV1:
		return KindVideo
	case CodecAAC, CodecOpus:
		return KindAudio
	default:
		return 0
	}
}

// Track describes one elementary stream of a publication and its decoder
// configuration. Configuration that a protocol only carries in band (H.264
// parameter sets in MPEG-TS) may be empty at publish time; the packager then
// takes it from the first keyframe that carries it.
type Track struct {
	Codec Codec
	// Timescale is the clock rate of the track's Frame DTS/PTS, as the
	// protocol carries it: 1000 for RTMP, 90000 for MPEG-TS, the RTP clock
	// rate for RTSP. The packager converts to its media timescales.
	Timescale uint32

	// VPS (H.265 only), SPS and PPS are single NAL units without start code
	// or length prefix.
	VPS, SPS, PPS []byte
	// AV1SequenceHeader is the AV1 sequence header OBU.
	AV1SequenceHeader []byte

	// AudioSpecificConfig is the MPEG-4 AudioSpecificConfig of an AAC track.
	AudioSpecificConfig []byte
	// OpusHead is the Opus identification header (RFC 7845 §5.1) when the
	// protocol carries one (Enhanced RTMP): channel mapping, output gain,
	// pre-skip and input rate come from it.
	OpusHead []byte
	// SampleRate and Channels describe audio tracks (Opus: 48000 and the
	// channel count of its identification header).
	SampleRate int
	Channels   int

	// Bitrate is the bitrate the source declared, in bit/s; 0 when unknown.
	Bitrate int
}

// Kind is the media type of the track's codec.
func (t Track) Kind() Kind { return t.Codec.Kind() }

// AACChannels is the channel count of an MPEG-4 Audio channel
// configuration (ISO/IEC 14496-3 Table 1.19); 0 when a program config
// element defines it.
func AACChannels(config uint8) int {
	switch {
	case config >= 1 && config <= 6:
		return int(config)
	case config == 7:
		return 8
	default:
		return 0
	}
}
