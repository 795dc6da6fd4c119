package srt

import (
	"bytes"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/substructs"
	"github.com/stretchr/testify/require"
)

// Synthetic elementary-stream units for crafted TS programs.
var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
	testIDR = []byte{0x65, 0x88, 0x84, 0x00, 0x33, 0xff}
	testP   = []byte{0x41, 0x9a, 0x24, 0x6c, 0x42}
	// testOpus is a CELT fullband 20 ms packet (TOC config 31, one frame).
	testOpus = []byte{0xf8, 0xff, 0xfe}
	testAAC  = []byte{0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c}
)

const clockMask = 1<<33 - 1

// tsProgram writes a TS with an H.264, an AAC and an Opus track.
type tsProgram struct {
	buf              bytes.Buffer
	w                *mpegts.Writer
	video, aac, opus *mpegts.Track
}

func newTSProgram(t require.TestingT) *tsProgram {
	p := &tsProgram{
		video: &mpegts.Track{Codec: &codecs.H264{}},
		aac: &mpegts.Track{Codec: &codecs.MPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{
			Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2,
		}}},
		opus: &mpegts.Track{Codec: &codecs.Opus{Desc: &substructs.OpusAudioDescriptor{ChannelConfigCode: 2}}},
	}
	p.w = &mpegts.Writer{W: &p.buf, Tracks: []*mpegts.Track{p.video, p.aac, p.opus}}
	require.NoError(t, p.w.Initialize())
	return p
}

// frame writes a keyframe (with in-band SPS/PPS) or a P frame at the given
// 33-bit clock values, plus one AAC and one Opus unit at dts.
func (p *tsProgram) frame(t require.TestingT, pts, dts int64, key bool) {
	au := [][]byte{testP}
	if key {
		au = [][]byte{testSPS, testPPS, testIDR}
	}
	require.NoError(t, p.w.WriteH264(p.video, pts&clockMask, dts&clockMask, au))
	require.NoError(t, p.w.WriteMPEG4Audio(p.aac, dts&clockMask, [][]byte{testAAC, testAAC}))
	require.NoError(t, p.w.WriteOpus(p.opus, dts&clockMask, [][]byte{testOpus, testOpus}))
}
