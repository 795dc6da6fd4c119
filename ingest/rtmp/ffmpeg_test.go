package rtmp

import (
	"strconv"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// TestFFmpegH264AAC publishes what ffmpeg users publish: H.264 with
// B-frames and AAC in FLV, with a stream key in the URL.
func TestFFmpegH264AAC(t *testing.T) {
	sink := &ingesttest.Sink{}
	logs := ingesttest.NewLogCapture(t)
	s := &Server{Sink: sink, Auth: ingest.NewAuth([]ingest.PathRule{{Path: "live/*", Pass: "abc"}})}
	addr := startServer(t, s, logs)

	const (
		fps      = 30
		seconds  = 3
		gop      = 30
		rate     = 44100
		aacFrame = 1024
	)
	out, err := ingesttest.FFmpeg(t,
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "3",
		"-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30", "-sc_threshold", "0",
		"-c:a", "aac",
		"-f", "flv", "rtmp://"+addr+"/live/cam1?key=abc")
	require.NoError(t, err, "ffmpeg: %s", out)

	p := sink.WaitPublication(t, 1)
	require.Len(t, sink.Publications(), 1)
	p.WaitClosed(t)

	require.Equal(t, "live/cam1", p.Req.Path)
	require.Equal(t, "rtmp", p.Req.Proto)
	require.NotEmpty(t, p.Req.Remote)
	require.Len(t, p.Req.Tracks, 2)

	video := p.Req.Tracks[0]
	require.Equal(t, ingest.CodecH264, video.Codec)
	require.Equal(t, uint32(1000), video.Timescale)
	var sps h264.SPS
	require.NoError(t, sps.Unmarshal(video.SPS))
	require.Equal(t, 640, sps.Width())
	require.Equal(t, 360, sps.Height())
	require.NotEmpty(t, video.PPS)

	audio := p.Req.Tracks[1]
	require.Equal(t, ingest.CodecAAC, audio.Codec)
	require.Equal(t, uint32(1000), audio.Timescale)
	var asc mpeg4audio.AudioSpecificConfig
	require.NoError(t, asc.Unmarshal(audio.AudioSpecificConfig))
	require.Equal(t, mpeg4audio.ObjectTypeAACLC, asc.Type)
	require.Equal(t, rate, asc.SampleRate)
	require.Equal(t, rate, audio.SampleRate)
	require.Equal(t, 1, audio.Channels)
	require.Positive(t, audio.Bitrate, "from onMetaData")

	vf := p.TrackFrames(0)
	require.InDelta(t, fps*seconds, len(vf), 3)
	for i, f := range vf {
		require.Equal(t, i%gop == 0, f.Keyframe, "video frame %d", i)
		require.GreaterOrEqual(t, f.PTS, f.DTS, "video frame %d", i)
		require.False(t, f.Received.IsZero())
		require.NotEmpty(t, f.AU)
		if i > 0 {
			require.GreaterOrEqual(t, f.DTS, vf[i-1].DTS, "video frame %d", i)
		}
	}
	// The FLV muxer shifts the B-frame delay into the timestamps: DTS starts
	// at 0 and PTS one frame or more later.
	require.Equal(t, int64(0), vf[0].DTS)
	require.Positive(t, vf[0].PTS)
	reordered := 0
	for _, f := range vf {
		if f.PTS > f.DTS {
			reordered++
		}
	}
	require.Positive(t, reordered, "B-frames give composition offsets")

	af := p.TrackFrames(1)
	require.InDelta(t, seconds*rate/aacFrame, len(af), 4)
	for i, f := range af {
		require.True(t, f.Keyframe)
		require.Equal(t, f.DTS, f.PTS)
		require.Len(t, f.AU, 1)
		if i > 0 {
			require.Greater(t, f.DTS, af[i-1].DTS)
		}
	}

	logs.WaitFunc(t, "publish start", isLine("publishing", "proto", "rtmp", "path", "live/cam1",
		"codecs", "H264 640x360, AAC 44100Hz 1ch"))
	end := logs.WaitFunc(t, "publish end", isLine("publish ended", "proto", "rtmp", "path", "live/cam1"))
	require.Equal(t, strconv.Itoa(len(vf)+len(af)), end.Attrs["frames"])
	nbytes, err := strconv.ParseInt(end.Attrs["bytes"], 10, 64)
	require.NoError(t, err)
	require.Positive(t, nbytes)

	st := s.Stats()
	require.Equal(t, uint64(len(vf)+len(af)), st.Frames)
	require.Positive(t, st.BytesReceived)
	require.Equal(t, uint64(1), st.Accepted)
	require.Zero(t, st.Errors)
}
