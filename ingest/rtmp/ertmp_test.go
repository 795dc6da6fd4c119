package rtmp

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// TestEnhancedRTMP publishes Enhanced RTMP (H.265, AV1, Opus, multitrack)
// with gortmplib's client, since Debian's ffmpeg 5.1 cannot send it.
func TestEnhancedRTMP(t *testing.T) {
	hevc, av, op, aac := genHEVC(t), genAV1(t), genOpus(t), genAAC(t)

	// sent is one frame as the publisher wrote it.
	type sent struct {
		dts, pts time.Duration
		au       [][]byte
		key      bool
	}
	type source struct {
		codec  ingest.Codec
		track  *gortmplib.Track
		frames []sent
		write  func(w *gortmplib.Writer, tr *gortmplib.Track, f sent) error
	}
	sources := map[ingest.Codec]func() source{
		ingest.CodecH265: func() source {
			s := source{codec: ingest.CodecH265, track: &gortmplib.Track{Codec: &codecs.H265{VPS: hevc.vps, SPS: hevc.sps, PPS: hevc.pps}}}
			for i, au := range hevc.aus {
				dts := time.Duration(i) * 100 * time.Millisecond
				// Odd frames carry a composition offset, so both E-RTMP
				// CodedFrames (with offset) and CodedFramesX (without) flow.
				pts := dts + time.Duration(i%2)*50*time.Millisecond
				s.frames = append(s.frames, sent{dts: dts, pts: pts, au: au, key: i%genGOP == 0})
			}
			s.write = func(w *gortmplib.Writer, tr *gortmplib.Track, f sent) error {
				return w.WriteH265(tr, f.pts, f.dts, f.au)
			}
			return s
		},
		ingest.CodecAV1: func() source {
			s := source{codec: ingest.CodecAV1, track: &gortmplib.Track{Codec: &codecs.AV1{}}}
			for i, tu := range av.tus {
				ts := time.Duration(i) * 100 * time.Millisecond
				s.frames = append(s.frames, sent{dts: ts, pts: ts, au: tu, key: av1.IsRandomAccess2(tu)})
			}
			s.write = func(w *gortmplib.Writer, tr *gortmplib.Track, f sent) error { return w.WriteAV1(tr, f.pts, f.au) }
			return s
		},
		ingest.CodecOpus: func() source {
			s := source{codec: ingest.CodecOpus, track: &gortmplib.Track{Codec: &codecs.Opus{IDHeader: op.head}}}
			for i, p := range op.packets {
				ts := time.Duration(i*opusPacketMs) * time.Millisecond
				s.frames = append(s.frames, sent{dts: ts, pts: ts, au: [][]byte{p}, key: true})
			}
			s.write = func(w *gortmplib.Writer, tr *gortmplib.Track, f sent) error { return w.WriteOpus(tr, f.pts, f.au[0]) }
			return s
		},
		ingest.CodecAAC: func() source {
			s := source{codec: ingest.CodecAAC, track: &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: aac.config}}}
			for i, au := range aac.aus {
				ts := time.Duration(i*mpeg4audio.SamplesPerAccessUnit*1000/aac.config.SampleRate) * time.Millisecond
				s.frames = append(s.frames, sent{dts: ts, pts: ts, au: [][]byte{au}, key: true})
			}
			s.write = func(w *gortmplib.Writer, tr *gortmplib.Track, f sent) error {
				return w.WriteMPEG4Audio(tr, f.pts, f.au[0])
			}
			return s
		},
	}

	for _, tc := range []struct {
		name   string
		codecs []ingest.Codec // videos first: the order of the ingest tracks
	}{
		{"hevc", []ingest.Codec{ingest.CodecH265}},
		{"av1", []ingest.Codec{ingest.CodecAV1}},
		{"hevc+opus", []ingest.Codec{ingest.CodecH265, ingest.CodecOpus}},
		{"multitrack", []ingest.Codec{ingest.CodecH265, ingest.CodecAV1, ingest.CodecOpus, ingest.CodecAAC}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &ingesttest.Sink{}
			logs := ingesttest.NewLogCapture(t)
			addr := startServer(t, &Server{Sink: sink}, logs)

			srcs := make([]source, len(tc.codecs))
			tracks := make([]*gortmplib.Track, len(tc.codecs))
			for i, c := range tc.codecs {
				srcs[i] = sources[c]()
				tracks[i] = srcs[i].track
			}
			c, err := dial(t, "rtmp://"+addr+"/live/"+tc.name, nil)
			require.NoError(t, err)
			w := &gortmplib.Writer{Conn: c, Tracks: tracks}
			require.NoError(t, w.Initialize())

			// Interleave the tracks in timestamp order, as an encoder does.
			type event struct {
				src int
				f   sent
			}
			var events []event
			for i, s := range srcs {
				for _, f := range s.frames {
					events = append(events, event{i, f})
				}
			}
			slices.SortStableFunc(events, func(a, b event) int { return cmp.Compare(a.f.dts, b.f.dts) })
			for _, e := range events {
				require.NoError(t, srcs[e.src].write(w, tracks[e.src], e.f))
			}
			c.Close()

			p := sink.WaitPublication(t, 1)
			p.WaitClosed(t)
			require.Equal(t, "live/"+tc.name, p.Req.Path)
			require.Len(t, p.Req.Tracks, len(tc.codecs))
			for i, s := range srcs {
				tr := p.Req.Tracks[i]
				require.Equal(t, s.codec, tr.Codec, "track %d", i)
				require.Equal(t, uint32(1000), tr.Timescale)
				switch s.codec {
				case ingest.CodecH265:
					require.Equal(t, hevc.vps, tr.VPS)
					require.Equal(t, hevc.sps, tr.SPS)
					require.Equal(t, hevc.pps, tr.PPS)
				case ingest.CodecAV1:
					require.Equal(t, av.seqHeader, tr.AV1SequenceHeader)
				case ingest.CodecOpus:
					require.Equal(t, 48000, tr.SampleRate)
					require.Equal(t, 2, tr.Channels)
					require.Equal(t, op.raw, tr.OpusHead, "ffmpeg's OpusHead, byte for byte")
				case ingest.CodecAAC:
					var asc mpeg4audio.AudioSpecificConfig
					require.NoError(t, asc.Unmarshal(tr.AudioSpecificConfig))
					require.Equal(t, 48000, asc.SampleRate)
					require.Equal(t, 48000, tr.SampleRate)
					require.Equal(t, 2, tr.Channels)
				}

				got := p.TrackFrames(i)
				require.Len(t, got, len(s.frames), "track %d (%s)", i, s.codec)
				for j, f := range got {
					want := s.frames[j]
					require.Equal(t, want.dts.Milliseconds(), f.DTS, "track %d frame %d", i, j)
					require.Equal(t, want.pts.Milliseconds(), f.PTS, "track %d frame %d", i, j)
					require.Equal(t, want.key, f.Keyframe, "track %d frame %d", i, j)
					require.Equal(t, want.au, f.AU, "track %d frame %d", i, j)
				}
				require.True(t, got[0].Keyframe)
			}
			logs.WaitFunc(t, "publish end", isLine("publish ended", "path", "live/"+tc.name))
		})
	}
}

// TestUnsupportedCodecs: tracks the gateway cannot package are left out with
// a warning; a stream with none it can package is refused.
func TestUnsupportedCodecs(t *testing.T) {
	op := genOpus(t)
	for _, tc := range []struct {
		name   string
		opus   bool
		tracks int // 0: refused
	}{
		{"VP9 and Opus", true, 1},
		{"VP9 alone", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &ingesttest.Sink{}
			logs := ingesttest.NewLogCapture(t)
			s := &Server{Sink: sink}
			addr := startServer(t, s, logs)
			c, err := dial(t, "rtmp://"+addr+"/live/vp9", nil)
			require.NoError(t, err)
			vp9 := &gortmplib.Track{Codec: &codecs.VP9{}}
			opus := &gortmplib.Track{Codec: &codecs.Opus{IDHeader: op.head}}
			tracks := []*gortmplib.Track{vp9}
			if tc.opus {
				tracks = append(tracks, opus)
			}
			w := &gortmplib.Writer{Conn: c, Tracks: tracks}
			require.NoError(t, w.Initialize())
			var werr error
			for i := 0; i < 150 && werr == nil; i++ {
				ts := time.Duration(i*opusPacketMs) * time.Millisecond
				if i%5 == 0 {
					werr = w.WriteVP9(vp9, ts, []byte{0x82, 0x49, 0x83, byte(i)})
				}
				if tc.opus && werr == nil {
					werr = w.WriteOpus(opus, ts, op.packets[i%len(op.packets)])
				}
			}
			if tc.tracks > 0 {
				require.NoError(t, werr)
			} // else the server may close the connection before the last writes

			c.Close()

			logs.WaitFunc(t, "dropped", isLine("tracks dropped: codec not supported", "codecs", "VP9"))
			if tc.tracks == 0 {
				logs.WaitFunc(t, "refused", func(r ingesttest.LogRecord) bool {
					return r.Msg == "publish refused" && strings.Contains(r.Attrs["err"], errNoTracks.Error())
				})
				require.Empty(t, sink.Publications())
				require.Equal(t, uint64(1), s.Stats().Rejected)
				return
			}
			p := sink.WaitPublication(t, 1)
			p.WaitClosed(t)
			require.Len(t, p.Req.Tracks, 1)
			require.Equal(t, ingest.CodecOpus, p.Req.Tracks[0].Codec)
			require.Len(t, p.TrackFrames(0), 150)
		})
	}
}

func TestMetadataBitrates(t *testing.T) {
	an := newAnalysis()
	an.observe(&message.DataAMF0{Payload: []any{"@setDataFrame", "onMetaData", amf0.ECMAArray{
		{Key: "videodatarate", Value: float64(2500)},
		{Key: "audiodatarate", Value: float64(160)},
	}}})
	require.Equal(t, 2500000, an.videoRate)
	require.Equal(t, 160000, an.audioRate)
	an.observe(&message.DataAMF0{Payload: []any{"onMetaData", amf0.Object{{Key: "videodatarate", Value: float64(-1)}}}})
	require.Zero(t, an.videoRate)
}

func TestEndOfProbe(t *testing.T) {
	meta := func(keys ...string) message.Message {
		var arr amf0.ECMAArray
		for _, k := range keys {
			arr = append(arr, amf0.ObjectEntry{Key: k, Value: float64(7)})
		}
		return &message.DataAMF0{Payload: []any{"@setDataFrame", "onMetaData", arr}}
	}
	const first = 5 * time.Second
	videoConfig := &message.Video{DTS: first, Codec: message.CodecH264, Type: message.VideoTypeConfig}
	aacConfig := &message.Audio{DTS: first, Codec: message.CodecMPEG4Audio, AACType: message.AudioAACTypeConfig, AACConfig: &mpeg4audio.AudioSpecificConfig{}}
	aacFrame := &message.Audio{DTS: first, Codec: message.CodecMPEG4Audio, AACType: message.AudioAACTypeAU}
	cases := []struct {
		name string
		msgs []message.Message
		want message.Message // nil: the probe runs its 2 s
	}{
		{
			"video and audio declared and configured",
			[]message.Message{meta("videocodecid", "audiocodecid"), videoConfig, aacConfig},
			&message.Video{DTS: first + probePeriod, Type: message.VideoTypeEOS},
		},
		{"audio declared, not yet configured", []message.Message{meta("videocodecid", "audiocodecid"), videoConfig, aacFrame}, nil},
		{"no metadata", []message.Message{videoConfig, aacConfig}, nil},
		{"metadata without codecs", []message.Message{meta("videodatarate"), videoConfig, aacConfig}, nil},
		{
			"AAC only",
			[]message.Message{meta("audiocodecid"), aacConfig},
			&message.Audio{DTS: first + probePeriod, Codec: message.CodecMPEG4Audio, AACType: message.AudioAACTypeConfig},
		},
		{"multitrack", []message.Message{meta("videocodecid"), &message.VideoExMultitrack{TrackID: 1}, videoConfig}, nil},
		{"codec ID 0 declares nothing (gortmplib's writer)", []message.Message{
			&message.DataAMF0{Payload: []any{"@setDataFrame", "onMetaData", amf0.Object{
				{Key: "videocodecid", Value: float64(7)}, {Key: "audiocodecid", Value: float64(0)},
			}}}, videoConfig,
		}, &message.Video{DTS: first + probePeriod, Type: message.VideoTypeEOS}},
		{"legacy video codec gortmplib does not configure", []message.Message{
			meta("videocodecid"),
			&message.Video{DTS: first, Codec: 4, Type: message.VideoTypeConfig},
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			an := newAnalysis()
			var got message.Message
			for _, m := range tc.msgs {
				an.observe(m)
				if end := an.endOfProbe(); end != nil {
					require.Nil(t, got, "one end marker")
					got = end
				}
			}
			require.Equal(t, tc.want, got)
			require.Nil(t, an.endOfProbe(), "the marker is sent once")
		})
	}
}

// TestUndeclaredTrackAfterEarlyProbe: a publisher whose onMetaData
// declares video only, then sends audio too, ends the probe early on the
// video and keeps publishing it; the audio is dropped, not fatal.
func TestUndeclaredTrackAfterEarlyProbe(t *testing.T) {
	sink := &ingesttest.Sink{}
	logs := ingesttest.NewLogCapture(t)
	addr := startServer(t, &Server{Sink: sink}, logs)
	c, err := dial(t, "rtmp://"+addr+"/live/cam1", nil)
	require.NoError(t, err)
	p := newH264Pusher(t, c) // onMetaData: videocodecid only
	require.NoError(t, p.push(1))
	pub := sink.WaitPublication(t, 1)
	require.Len(t, pub.Req.Tracks, 1, "published on the declared video alone")
	aac := genAAC(t)
	require.NoError(t, c.Write(&message.Audio{
		ChunkStreamID: message.AudioChunkStreamID, MessageStreamID: 0x1000000, Codec: message.CodecMPEG4Audio,
		Rate: message.AudioRate44100, Depth: message.AudioDepth16, IsStereo: true, AACType: message.AudioAACTypeConfig, AACConfig: aac.config,
	}))
	for i, au := range aac.aus[:20] {
		require.NoError(t, c.Write(&message.Audio{
			ChunkStreamID: message.AudioChunkStreamID, MessageStreamID: 0x1000000, Codec: message.CodecMPEG4Audio,
			Rate: message.AudioRate44100, Depth: message.AudioDepth16, IsStereo: true, AACType: message.AudioAACTypeAU, AU: au,
			DTS: time.Duration(i) * 21 * time.Millisecond,
		}))
	}
	require.NoError(t, p.push(30))
	require.Eventually(t, func() bool { return len(pub.TrackFrames(0)) >= 31 }, waitTime, pollEvery, "video keeps flowing")
	require.False(t, pub.IsClosed())
	logs.WaitFunc(t, "undeclared audio dropped", isLine("dropping media of a track onMetaData did not declare", "kind", "audio"))
}
