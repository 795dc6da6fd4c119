package rtmp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// Small real bitstreams, encoded by ffmpeg for each test: 3 s at 10 frames
// a second, a key frame every 10 frames.

const (
	genFPS     = 10
	genSeconds = 3
	genGOP     = 10
)

// encode runs ffmpeg on a lavfi source and returns the output file.
func encode(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	msg, err := ingesttest.FFmpeg(t, append(args, out)...)
	require.NoError(t, err, "ffmpeg: %s", msg)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	return b
}

type hevcStream struct {
	vps, sps, pps []byte
	aus           [][][]byte // without parameter sets and delimiters
}

func genHEVC(t *testing.T) hevcStream {
	t.Helper()
	b := encode(t, "v.h265", "-f", "lavfi", "-i", "testsrc2=size=128x72:rate=10", "-t", "3",
		"-c:v", "libx265", "-preset", "ultrafast",
		"-x265-params", "keyint=10:min-keyint=10:scenecut=0:bframes=0:aud=1:log-level=error",
		"-f", "hevc")
	var s hevcStream
	var au [][]byte
	for _, n := range splitAnnexB(b) {
		switch h265.NALUType((n[0] >> 1) & 0x3f) {
		case h265.NALUType_AUD_NUT:
			if len(au) > 0 {
				s.aus = append(s.aus, au)
			}
			au = nil
		case h265.NALUType_VPS_NUT:
			s.vps = n
		case h265.NALUType_SPS_NUT:
			s.sps = n
		case h265.NALUType_PPS_NUT:
			s.pps = n
		default:
			au = append(au, n)
		}
	}
	if len(au) > 0 {
		s.aus = append(s.aus, au)
	}
	require.NotEmpty(t, s.vps)
	require.Len(t, s.aus, genFPS*genSeconds)
	return s
}

// splitAnnexB returns the NAL units of an Annex-B byte stream.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+3 <= len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				out = append(out, bytes.TrimRight(b[start:i], "\x00"))
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 {
		out = append(out, b[start:])
	}
	return out
}

type av1Stream struct {
	seqHeader []byte
	tus       [][][]byte // without temporal delimiters
}

func genAV1(t *testing.T) av1Stream {
	t.Helper()
	b := encode(t, "v.obu", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-t", "3",
		"-c:v", "libaom-av1", "-usage", "realtime", "-cpu-used", "8", "-lag-in-frames", "0",
		"-g", "10", "-keyint_min", "10", "-f", "obu")
	var bs av1.Bitstream
	require.NoError(t, bs.Unmarshal(b))
	var s av1Stream
	var tu [][]byte
	for _, obu := range bs {
		switch av1.OBUType((obu[0] >> 3) & 0xf) {
		case av1.OBUTypeTemporalDelimiter:
			if len(tu) > 0 {
				s.tus = append(s.tus, tu)
			}
			tu = nil
			continue
		case av1.OBUTypeSequenceHeader:
			if s.seqHeader == nil {
				s.seqHeader = obu
			}
		}
		tu = append(tu, obu)
	}
	if len(tu) > 0 {
		s.tus = append(s.tus, tu)
	}
	require.NotNil(t, s.seqHeader)
	require.Len(t, s.tus, genFPS*genSeconds)
	return s
}

type opusStream struct {
	head    *opus.IDHeader
	raw     []byte   // the OpusHead packet as ffmpeg wrote it
	packets [][]byte // 20 ms each
}

const opusPacketMs = 20

func genOpus(t *testing.T) opusStream {
	t.Helper()
	b := encode(t, "a.opus", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3",
		"-ac", "2", "-c:a", "libopus", "-b:a", "32k", "-frame_duration", "20", "-f", "opus")
	packets := ingesttest.OggPackets(t, b)
	require.Greater(t, len(packets), 2)
	s := opusStream{raw: packets[0]}
	s.head = &opus.IDHeader{}
	require.NoError(t, s.head.Unmarshal(packets[0]))
	s.packets = packets[2:] // after OpusHead and OpusTags
	return s
}

type aacStream struct {
	config *mpeg4audio.AudioSpecificConfig
	aus    [][]byte
}

func genAAC(t *testing.T) aacStream {
	t.Helper()
	b := encode(t, "a.aac", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3",
		"-ac", "2", "-c:a", "aac", "-f", "adts")
	var ps mpeg4audio.ADTSPackets
	require.NoError(t, ps.Unmarshal(b))
	s := aacStream{config: &mpeg4audio.AudioSpecificConfig{
		Type:          ps[0].Type,
		SampleRate:    ps[0].SampleRate,
		ChannelConfig: ps[0].ChannelConfig,
	}}
	for _, p := range ps {
		s.aus = append(s.aus, p.AU)
	}
	return s
}
