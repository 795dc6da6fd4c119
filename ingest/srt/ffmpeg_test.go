package srt

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// Encoder arguments of the pushes: three seconds of test pattern and tone,
// B-frames on, a keyframe every second.
var (
	h264AAC = []string{
		"-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30",
		"-c:a", "aac",
	}
	h265Opus = []string{
		"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:bframes=2", "-g", "30",
		"-c:a", "libopus", "-ar", "48000",
	}
)

// push runs ffmpeg in real time into url for three seconds.
func push(t *testing.T, codecArgs []string, url string) (string, error) {
	args := []string{
		"-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine", "-t", "3",
	}
	args = append(args, codecArgs...)
	args = append(args, "-f", "mpegts", url)
	return ingesttest.FFmpeg(t, args...)
}

// TestFFmpegPush pushes H.264+AAC and H.265+Opus from ffmpeg (libsrt) with
// every stream-ID form, with and without encryption.
func TestFFmpegPush(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	cases := []struct {
		name     string
		codecs   []string
		streamID string
		query    string
		path     string
		video    ingest.Codec
		audio    ingest.Codec
		// Minimum frames of three seconds (90 video, 129 AAC or 150 Opus),
		// with a margin for what libsrt drops at exit.
		minVideo, minAudio int
	}{
		{
			name: "access control H.264 AAC", codecs: h264AAC, streamID: "#!::r=live/cam1,m=publish",
			path: "live/cam1", video: ingest.CodecH264, audio: ingest.CodecAAC, minVideo: 85, minAudio: 120,
		},
		{
			name: "mediamtx form AES-128", codecs: h264AAC, streamID: "publish:secret/cam1",
			query: "&passphrase=" + testPassphrase, path: "secret/cam1",
			video: ingest.CodecH264, audio: ingest.CodecAAC, minVideo: 85, minAudio: 120,
		},
		{
			name: "bare form with stream key", codecs: h264AAC, streamID: "keyed/cam1?key=s3cret",
			path: "keyed/cam1", video: ingest.CodecH264, audio: ingest.CodecAAC, minVideo: 85, minAudio: 120,
		},
		{
			name: "H.265 Opus AES-256", codecs: h265Opus, streamID: "#!::r=secret/hevc,m=publish",
			query: "&passphrase=" + testPassphrase + "&pbkeylen=32", path: "secret/hevc",
			video: ingest.CodecH265, audio: ingest.CodecOpus, minVideo: 85, minAudio: 140,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, nil)
			// Without linger, libsrt drops what it has not sent when ffmpeg
			// exits: up to the last second or more on a loaded machine.
			url := fmt.Sprintf("srt://%s?streamid=%s&pkt_size=1316&linger=3%s", ts.addr, tc.streamID, tc.query)
			_, err := push(t, tc.codecs, url)
			require.NoError(t, err)

			pub := ts.sink.WaitPublication(t, 1)
			require.Eventually(t, pub.IsClosed, 10*time.Second, 10*time.Millisecond, "publication ends when ffmpeg disconnects")
			require.Equal(t, tc.path, pub.Req.Path)
			require.Len(t, pub.Req.Tracks, 2)
			vi, ai := pub.TrackIndex(t, tc.video), pub.TrackIndex(t, tc.audio)
			require.Equal(t, uint32(90000), pub.Req.Tracks[vi].Timescale)
			audio := pub.Req.Tracks[ai]
			require.Equal(t, uint32(90000), audio.Timescale)
			require.Positive(t, audio.Channels)
			if tc.audio == ingest.CodecAAC {
				require.Equal(t, 44100, audio.SampleRate)
				require.NotEmpty(t, audio.AudioSpecificConfig)
			} else {
				require.Equal(t, 48000, audio.SampleRate)
			}

			ingesttest.CheckVideo(t, pub.TrackFrames(vi), tc.video, tc.minVideo, false)
			ingesttest.CheckAudio(t, pub.TrackFrames(ai), tc.minAudio)
			require.Zero(t, ts.Stats().DecodeErrors)
		})
	}
}

// TestFFmpegWrongPassphrase: ffmpeg is refused in the handshake and gives
// up; nothing is published.
func TestFFmpegWrongPassphrase(t *testing.T) {
	ts := startServer(t, nil)
	url := fmt.Sprintf("srt://%s?streamid=publish:secret/cam1&pkt_size=1316&passphrase=not-the-passphrase", ts.addr)
	out, err := push(t, h264AAC, url)
	require.Error(t, err, out)
	require.Empty(t, ts.sink.Publications())
	require.Equal(t, uint64(1), ts.Stats().AuthFailures)
}
