package rtsp

import (
	"encoding/hex"
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

// A 16x16 x264 stream (no B-frames): parameter sets, an IDR and P slices.
var (
	testSPS = mustHex("6764000aacb23d8088000003000800000301e078913240")
	testPPS = mustHex("68ebc3cb22c0")
	testIDR = mustHex("6588840bfffef6aefccb2b747f81")
	testP1  = mustHex("419a3b10affec0")
	testP2  = mustHex("419a4f0864ca6109fffec1")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// frameOut is an emitted access unit.
type frameOut struct {
	dts, pts int64
	key      bool
	au       [][]byte
}

func collect(out *[]frameOut) emitFunc {
	return func(dts, pts int64, key bool, au [][]byte) error {
		*out = append(*out, frameOut{dts: dts, pts: pts, key: key, au: append([][]byte(nil), au...)})
		return nil
	}
}

func h264Track(t *testing.T) *track {
	t.Helper()
	f := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: testSPS, PPS: testPPS}
	tr, err := newTrack(&description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{f}}, f)
	require.NoError(t, err)
	return tr
}

// TestH264ParameterSetsFromSDP: the stream carries SPS/PPS only in the SDP
// (as ffmpeg sends it); they go in front of the IDR, so DTS can be derived
// and the packager finds them in band.
func TestH264ParameterSetsFromSDP(t *testing.T) {
	tr := h264Track(t)
	require.Equal(t, ingest.Track{Codec: ingest.CodecH264, Timescale: 90000, SPS: testSPS, PPS: testPPS}, tr.info)
	enc, err := tr.format.(*format.H264).CreateEncoder()
	require.NoError(t, err)

	var out []frameOut
	for i, au := range [][][]byte{{testIDR}, {testP1}, {testP2}} {
		pkts, err := enc.Encode(au)
		require.NoError(t, err)
		for _, p := range pkts {
			p.Timestamp = uint32(i * 3000)
			require.NoError(t, tr.dep.decode(p, int64(i*3000), collect(&out)))
		}
	}
	require.Len(t, out, 3)
	require.Equal(t, frameOut{dts: 0, pts: 0, key: true, au: [][]byte{testSPS, testPPS, testIDR}}, out[0])
	require.Equal(t, frameOut{dts: 3000, pts: 3000, au: [][]byte{testP1}}, out[1])
	require.Equal(t, frameOut{dts: 6000, pts: 6000, au: [][]byte{testP2}}, out[2])
}

// TestH264NoMarkerBit: a camera that never sets the marker bit; rtph264 ends
// each unit when the timestamp changes and returns it with the next packet,
// which must not lend it its PTS.
func TestH264NoMarkerBit(t *testing.T) {
	tr := h264Track(t)
	var out []frameOut
	for i, n := range [][]byte{testSPS, testPPS, testIDR, testP1, testP2} {
		ts := max(0, i-2) * 3000 // SPS and PPS share the IDR's timestamp
		p := &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: uint32(ts)},
			Payload: n,
		}
		require.NoError(t, tr.dep.decode(p, int64(ts), collect(&out)))
	}
	require.Len(t, out, 2, "the last unit waits for a packet with a new timestamp")
	require.Equal(t, frameOut{dts: 0, pts: 0, key: true, au: [][]byte{testSPS, testPPS, testIDR}}, out[0])
	require.Equal(t, frameOut{dts: 3000, pts: 3000, au: [][]byte{testP1}}, out[1])
}

func TestH264StartsMidStream(t *testing.T) {
	tr := h264Track(t)
	var out []frameOut
	// A P frame before any IDR costs itself (no reference), then decoding
	// starts at the IDR.
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true}, Payload: testP1}
	require.Error(t, tr.dep.decode(p, 0, collect(&out)))
	p = &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1, Timestamp: 3000, Marker: true}, Payload: testIDR}
	require.NoError(t, tr.dep.decode(p, 3000, collect(&out)))
	require.Len(t, out, 1)
	require.True(t, out[0].key)
}

func TestAACFramesInOnePacket(t *testing.T) {
	f := &format.MPEG4Audio{
		PayloadTyp: 97, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3,
		Config: &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelConfig: 2},
	}
	tr, err := newTrack(&description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{f}}, f)
	require.NoError(t, err)
	require.Equal(t, ingest.Track{
		Codec: ingest.CodecAAC, Timescale: 44100, AudioSpecificConfig: []byte{0x12, 0x10}, SampleRate: 44100, Channels: 2,
	}, tr.info)
	enc, err := f.CreateEncoder()
	require.NoError(t, err)
	pkts, err := enc.Encode([][]byte{{1, 2, 3}, {4, 5, 6}, {7, 8}})
	require.NoError(t, err)
	require.Len(t, pkts, 1)
	var out []frameOut
	require.NoError(t, tr.dep.decode(pkts[0], 44100, collect(&out)))
	require.Equal(t, []frameOut{
		{dts: 44100, pts: 44100, key: true, au: [][]byte{{1, 2, 3}}},
		{dts: 45124, pts: 45124, key: true, au: [][]byte{{4, 5, 6}}},
		{dts: 46148, pts: 46148, key: true, au: [][]byte{{7, 8}}},
	}, out)
}

func TestAnnouncedTracks(t *testing.T) {
	desc := &description.Session{Medias: []*description.Media{
		{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}}},
		{Type: description.MediaTypeAudio, Formats: []format.Format{
			&format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1},
			&format.Opus{PayloadTyp: 111, ChannelCount: 2},
		}},
		{Type: description.MediaTypeVideo, Formats: []format.Format{&format.MJPEG{}}},
		{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{PayloadTyp: 98, PacketizationMode: 2}}},
	}}
	tracks, skipped := announcedTracks(desc)
	require.Len(t, tracks, 2)
	require.Equal(t, ingest.CodecH264, tracks[0].info.Codec)
	require.Equal(t, ingest.Track{Codec: ingest.CodecOpus, Timescale: 48000, SampleRate: 48000, Channels: 2}, tracks[1].info)
	require.Len(t, skipped, 3)
}

func TestDropEmpty(t *testing.T) {
	a, b := []byte{1}, []byte{2}
	require.Equal(t, [][]byte{a, b}, dropEmpty([][]byte{a, b}))
	require.Equal(t, [][]byte{a, b}, dropEmpty([][]byte{{}, a, nil, b, {}}))
	require.Empty(t, dropEmpty([][]byte{{}}))
}
