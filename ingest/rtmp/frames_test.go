package rtmp

import (
	"testing"
	"time"

	"github.com/abema/go-mp4"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

func TestAV1KeyFrame(t *testing.T) {
	seq := []byte{0x08, 0x00}
	for _, tc := range []struct {
		name         string
		tu           [][]byte
		reducedStill bool
		want         bool
	}{
		{"shown key frame", [][]byte{{0x30, 0x10}}, false, true},
		{"sequence header, then key frame", [][]byte{seq, {0x30, 0x10, 0xff}}, false, true},
		{"frame header OBU", [][]byte{{0x18, 0x10}}, false, true},
		{"inter frame", [][]byte{{0x30, 0x30}}, false, false},
		{"intra-only frame", [][]byte{{0x30, 0x50}}, false, false},
		{"hidden key frame", [][]byte{{0x30, 0x00}}, false, false},
		{"show existing frame", [][]byte{{0x18, 0x80}}, false, false},
		{"extension header", [][]byte{{0x34, 0x00, 0x10}}, false, true},
		{"size field", [][]byte{{0x32, 0x81, 0x01, 0x10}}, false, true},
		{"only the first frame counts", [][]byte{{0x30, 0x30}, {0x30, 0x10}}, false, false},
		{"truncated", [][]byte{{0x30}}, false, false},
		{"truncated size field", [][]byte{{0x32, 0x81}}, false, false},
		{"no frame", [][]byte{seq, {}}, false, false},
		{"reduced still picture", [][]byte{{0x30, 0x00}}, true, true},
		{"empty", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, av1KeyFrame(tc.tu, tc.reducedStill))
		})
	}
}

func TestOnlyParams(t *testing.T) {
	sps, pps, idr := []byte{0x67, 1}, []byte{0x68, 1}, []byte{0x65, 1}
	vps5, sps5, pps5, idr5 := []byte{0x40, 1}, []byte{0x42, 1}, []byte{0x44, 1}, []byte{0x26, 1}
	require.True(t, onlyParams(ingest.CodecH264, [][]byte{sps, pps}))
	require.False(t, onlyParams(ingest.CodecH264, [][]byte{sps, pps, idr}))
	require.False(t, onlyParams(ingest.CodecH264, nil))
	require.True(t, onlyParams(ingest.CodecH265, [][]byte{vps5, sps5, pps5}))
	require.False(t, onlyParams(ingest.CodecH265, [][]byte{vps5, idr5}))
}

// paramConn is a conn with one track whose frames go to a Publication.
func paramConn(t ingest.Track) (*conn, *trackState, *ingesttest.Publication) {
	pub := ingesttest.NewPublication(ingest.PublishRequest{})
	c := &conn{s: &Server{}, pub: pub, clock: ingest.Unwrapper{Bits: ingest.RTMPTimestampBits}}
	st := newTrackState(0, t)
	c.tracks = &trackSet{states: []*trackState{st}, byVideoID: map[uint8]*trackState{0: st}}
	return c, st, pub
}

// TestParameterSetChanges: parameter sets that change mid-stream, in a
// legacy sequence header or an E-RTMP sequence start, go in front of the
// next frame; unchanged ones do not.
func TestParameterSetChanges(t *testing.T) {
	sps, sps2, pps, idr, p := []byte{0x67, 1}, []byte{0x67, 2}, []byte{0x68, 1}, []byte{0x65, 1}, []byte{0x41, 1}

	t.Run("legacy H.264 sequence header", func(t *testing.T) {
		c, st, pub := paramConn(ingest.Track{Codec: ingest.CodecH264, SPS: sps, PPS: pps})
		c.videoFrame(st, 0, 0, [][]byte{sps, pps}) // the header replayed at the start
		c.videoFrame(st, 0, 0, [][]byte{idr})
		c.videoFrame(st, 40*time.Millisecond, 40*time.Millisecond, [][]byte{sps2, pps}) // encoder restart
		c.videoFrame(st, 40*time.Millisecond, 40*time.Millisecond, [][]byte{{}, idr})
		c.videoFrame(st, 80*time.Millisecond, 80*time.Millisecond, [][]byte{p})
		f := pub.TrackFrames(0)
		require.Len(t, f, 3)
		require.Equal(t, [][]byte{idr}, f[0].AU)
		require.True(t, f[0].Keyframe)
		require.Equal(t, [][]byte{sps2, pps, idr}, f[1].AU)
		require.True(t, f[1].Keyframe)
		require.Equal(t, [][]byte{p}, f[2].AU)
		require.False(t, f[2].Keyframe)
		require.Equal(t, []int64{0, 40, 80}, []int64{f[0].DTS, f[1].DTS, f[2].DTS})
	})

	t.Run("E-RTMP HEVC sequence start", func(t *testing.T) {
		vps, sps5, pps5, idr5 := []byte{0x40, 1}, []byte{0x42, 1}, []byte{0x44, 1}, []byte{0x26, 1}
		sps5b := []byte{0x42, 2}
		c, st, pub := paramConn(ingest.Track{Codec: ingest.CodecH265, VPS: vps, SPS: sps5, PPS: pps5})
		start := func(sps []byte) *message.VideoExSequenceStart {
			arr := func(typ byte, n []byte) mp4.HEVCNaluArray {
				return mp4.HEVCNaluArray{NaluType: typ, NumNalus: 1, Nalus: []mp4.HEVCNalu{{Length: uint16(len(n)), NALUnit: n}}}
			}
			return &message.VideoExSequenceStart{FourCC: message.FourCCHEVC, HEVCConfig: &mp4.HvcC{
				NaluArrays: []mp4.HEVCNaluArray{arr(34, pps5), arr(32, vps), arr(33, sps)},
			}}
		}
		c.tracks.sequenceStart(0, start(sps5)) // same as the track's
		c.videoFrame(st, 0, 0, [][]byte{idr5})
		require.NoError(t, c.observe(start(sps5b)), "before the stream phase: ignored")
		c.phase = phaseStream
		require.NoError(t, c.observe(&message.VideoExMultitrack{TrackID: 0, Wrapped: start(sps5b)}))
		c.videoFrame(st, 0, 0, [][]byte{idr5})
		c.tracks.sequenceStart(7, start(sps5)) // unknown track
		f := pub.TrackFrames(0)
		require.Len(t, f, 2)
		require.Equal(t, [][]byte{idr5}, f[0].AU)
		require.Equal(t, [][]byte{vps, sps5b, pps5, idr5}, f[1].AU)
		require.ErrorIs(t, c.observe(&message.CommandAMF0{Name: "deleteStream"}), errUnpublished)
	})

	t.Run("AV1 sequence header in band", func(t *testing.T) {
		seq, seq2, key := []byte{0x08, 0x00}, []byte{0x08, 0x01}, []byte{0x30, 0x10}
		c, st, pub := paramConn(ingest.Track{Codec: ingest.CodecAV1, AV1SequenceHeader: seq})
		c.av1Frame(st, 0, [][]byte{{0x12, 0x00}, seq2, key}) // temporal delimiter dropped
		c.av1Frame(st, 0, [][]byte{{0x12, 0x00}})
		f := pub.TrackFrames(0)
		require.Len(t, f, 1)
		require.Equal(t, [][]byte{seq2, key}, f[0].AU, "no second copy of the new sequence header")
		require.True(t, f[0].Keyframe)
		require.Equal(t, [][]byte{seq2}, st.params)
	})
}

// TestWriteError: the first WriteFrame error stops the flow.
func TestWriteError(t *testing.T) {
	c, st, pub := paramConn(ingest.Track{Codec: ingest.CodecOpus})
	c.audioFrame(st, 0, []byte{1})
	pub.FailWrites(ingest.ErrReplaced)
	c.audioFrame(st, 20*time.Millisecond, []byte{2})
	pub.FailWrites(nil)
	c.audioFrame(st, 40*time.Millisecond, []byte{3})
	c.audioFrame(st, 60*time.Millisecond, nil)
	require.ErrorIs(t, c.writeErr, ingest.ErrReplaced)
	require.Len(t, pub.TrackFrames(0), 1)
	require.Equal(t, uint64(1), st.frames)
}
