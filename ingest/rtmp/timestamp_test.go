package rtmp

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// chunking is how the timestamp tests write their messages.
type chunking int

const (
	// absolute: every message opens with a type 0 chunk.
	absolute chunking = iota
	// deltas: type 0, then type 1, type 2, and type 3 for the rest, as
	// librtmp (OBS) does with a steady frame rate.
	deltas
	// continuation: type 0 chunks and bodies longer than the chunk size, so
	// type 3 continuation chunks repeat the extended timestamp.
	continuation
)

// TestTimestampBoundaries crosses the 24-bit extended timestamp boundary and
// the 32-bit wrap with hand-made chunks, and checks every DTS and PTS on the
// 64-bit timeline. Video and audio use their own chunk streams, as encoders
// do, and share one clock.
func TestTimestampBoundaries(t *testing.T) {
	const (
		chunkSize = 128
		frames    = 150 // 6 s
		step      = 40
	)
	for _, tc := range []struct {
		name  string
		start uint32
		mode  chunking
		// dupFirst gives the first two video frames the same DTS, as
		// ffmpeg's FLV muxer does with B-frames and no audio.
		dupFirst bool
	}{
		{"24-bit boundary, type 0", 0xffffff - 3000, absolute, false},
		{"24-bit boundary, types 1, 2, 3", 0xffffff - 3000, deltas, false},
		{"24-bit boundary, continuation chunks", 0xffffff - 3000, continuation, false},
		{"2^31", 0x7fffffff - 3000, deltas, false},
		{"32-bit wrap, type 0", 0xffffffff - 3000, absolute, false},
		{"32-bit wrap, types 1, 2, 3", 0xffffffff - 3000, deltas, false},
		{"32-bit wrap, continuation chunks", 0xffffffff - 3000, continuation, false},
		{"two frames at DTS 0", 0, absolute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &ingesttest.Sink{}
			logs := ingesttest.NewLogCapture(t)
			addr := startServer(t, &Server{Sink: sink}, logs)

			c, err := dial(t, "rtmp://"+addr+"/live/ts", nil)
			require.NoError(t, err)
			vt := &gortmplib.Track{Codec: &codecs.H264{}}
			at := &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: &mpeg4audio.AudioSpecificConfig{
				Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelConfig: 2,
			}}}
			w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{vt, at}}
			require.NoError(t, w.Initialize()) // sequence headers at timestamp 0

			padding := 8
			if tc.mode == continuation {
				padding = 300
			}
			videoTS := func(i int) uint32 {
				if tc.dupFirst {
					i = max(i-1, 0)
				}
				return tc.start + uint32(i*step)
			}
			audioTS := func(i int) uint32 { return tc.start + uint32(i*step+step/2) }
			cts := func(i int) uint32 { return uint32(i%3) * step }

			// The client told the server 65536; go down to 128 so that
			// the continuation case splits its messages.
			b := appendMessage(nil, setChunkSize(chunkSize), 65536)
			for i := range frames {
				video := make([]byte, 5, 9+padding)
				video[0] = 0x27 // inter frame, AVC
				if i%25 == 0 {
					video[0] = 0x17 // key frame, AVC
				}
				video[1] = 1 // NALU
				put24(video[2:5], cts(i))
				nalu := make([]byte, padding)
				nalu[0] = 0x41
				if i%25 == 0 {
					nalu[0] = 0x65
				}
				nalu[1] = byte(i)
				video = binary.BigEndian.AppendUint32(video, uint32(len(nalu)))
				video = append(video, nalu...)
				audio := append([]byte{0xaf, 1}, make([]byte, padding)...)
				audio[2] = byte(i)

				b = appendMessage(b, tc.mode.message(i, 6, msgVideo, videoTS, video), chunkSize)
				b = appendMessage(b, tc.mode.message(i, 4, msgAudio, audioTS, audio), chunkSize)
			}
			_, err = c.NetConn().Write(b)
			require.NoError(t, err)
			c.Close()

			p := sink.WaitPublication(t, 1)
			p.WaitClosed(t)
			vf, af := p.TrackFrames(0), p.TrackFrames(1)
			require.Len(t, vf, frames)
			require.Len(t, af, frames)
			for i := range frames {
				wantV := int64(tc.start) + int64(i*step)
				if tc.dupFirst {
					wantV = int64(tc.start) + int64(max(i-1, 0)*step)
				}
				require.Equal(t, wantV, vf[i].DTS, "video frame %d", i)
				require.Equal(t, wantV+int64(cts(i)), vf[i].PTS, "video frame %d", i)
				require.Equal(t, i%25 == 0, vf[i].Keyframe, "video frame %d", i)
				require.Equal(t, byte(i), vf[i].AU[0][1], "video frame %d", i)
				require.Equal(t, int64(tc.start)+int64(i*step+step/2), af[i].DTS, "audio frame %d", i)
				require.Equal(t, byte(i), af[i].AU[0][0], "audio frame %d", i)
			}
		})
	}
}

// message chunks frame i of a chunk stream whose timestamps ts gives.
func (m chunking) message(i int, csid, typ byte, ts func(int) uint32, body []byte) rawMessage {
	msg := rawMessage{csid: csid, typ: typ, body: body, ts: ts(i)}
	if m != deltas || i == 0 {
		return msg
	}
	msg.ts = ts(i) - ts(i-1) // uint32: wraps with the clock
	switch {
	case i == 1:
		msg.fmt = 1
	case i == 2:
		msg.fmt = 2
	case msg.ts == ts(i-1)-ts(i-2):
		msg.fmt = 3 // same delta, length and type as before
	default:
		msg.fmt = 2
	}
	return msg
}

func msDur(v uint32) time.Duration { return time.Duration(v) * time.Millisecond }

func put24(b []byte, v uint32) { b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v) }

// TestTimeline checks the unwrapping on its own: one clock shared by the
// tracks of a connection, forward across the wrap, a little backward for
// interleaving.
func TestTimeline(t *testing.T) {
	c := &conn{clock: ingest.Unwrapper{Bits: ingest.RTMPTimestampBits}}
	ms := func(v uint32) int64 {
		d, _ := c.timeline(msDur(v), msDur(v))
		return d
	}
	require.Equal(t, int64(0xfffffff0), ms(0xfffffff0))
	require.Equal(t, int64(1<<32+0x10), ms(0x10))       // wrapped
	require.Equal(t, int64(0xfffffff8), ms(0xfffffff8)) // other track, a little behind
	require.Equal(t, int64(1<<32+0x30), ms(0x30))
	_, pts := c.timeline(msDur(0x40)+80*time.Millisecond, msDur(0x40))
	require.Equal(t, int64(1<<32+0x40+80), pts)
}
