package packager

import (
	"encoding/binary"
	"testing"
	"testing/synctest"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

// h264SPS640 is a second configuration (640x360 baseline) for changes.
var h264SPS640 = mustHex("6742c01eda0280bfe5c044000003000400000300c83c58ba80")

var (
	idrSlice = nal(0x65, 600)
	pSlice   = nal(0x41, 200)
	aud      = []byte{0x09, 0xf0}
)

// gopFrames returns n video frames in decode order, 30 fps with two
// B-frames per P-frame (I P B B P B B ...), a keyframe every gop frames, in
// milliseconds the way ffmpeg's FLV muxer writes them: DTS delayed by one
// frame and clamped at 0, so the first two frames share DTS 0.
func gopFrames(track, n, gop int) []ingest.Frame {
	ms := func(i int) int64 { return int64((i*1000 + 15) / 30) }
	// display index of decode position i within a mini-GOP of I/P B B
	display := func(i int) int {
		switch {
		case i%gop == 0:
			return i
		case (i%gop)%3 == 1:
			return i + 2
		default:
			return i - 1
		}
	}
	out := make([]ingest.Frame, n)
	for i := range n {
		key := i%gop == 0
		au := [][]byte{pSlice}
		if key {
			au = [][]byte{idrSlice}
		}
		out[i] = ingest.Frame{
			Track:    track,
			DTS:      max(ms(i-1), 0),
			PTS:      ms(display(i)) + ms(1),
			Keyframe: key,
			AU:       au,
		}
	}
	return out
}

// aacFrames returns n AAC frames of 1024 samples at rate with RTMP
// millisecond timestamps starting at startMS.
func aacFrames(track, n, rate int, startMS int64) []ingest.Frame {
	out := make([]ingest.Frame, n)
	for i := range n {
		ts := startMS + int64(i)*1024*1000/int64(rate)
		out[i] = ingest.Frame{Track: track, DTS: ts, PTS: ts, Keyframe: true, AU: [][]byte{nal(0x21, 300)}}
	}
	return out
}

// interleave merges frame lists by DTS, the way a muxer sends them.
func interleave(lists ...[]ingest.Frame) []ingest.Frame {
	var out []ingest.Frame
	idx := make([]int, len(lists))
	for {
		best := -1
		for i, l := range lists {
			if idx[i] < len(l) && (best < 0 || l[idx[i]].DTS < lists[best][idx[best]].DTS) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		out = append(out, lists[best][idx[best]])
		idx[best]++
	}
}

func writeAll(t *testing.T, s *Muxer, frames []ingest.Frame) {
	t.Helper()
	for i, f := range frames {
		require.NoError(t, s.WriteFrame(f), "frame %d", i)
	}
}

// checkTrack decodes a track's objects and checks the MoQ and CMAF
// invariants: contiguous object IDs from 0 in each group, growing group IDs,
// object 0 a sync sample, one sample per chunk, strictly increasing tfdt,
// mfhd sequence numbers counting up.
func checkTrack(t *testing.T, objs []object) []decodedSample {
	t.Helper()
	require.NotEmpty(t, objs)
	var out []decodedSample
	for i, o := range objs {
		d := decodeChunk(t, o.payload)
		if i > 0 {
			prev := objs[i-1]
			if o.object == 0 {
				require.Greater(t, o.group, prev.group, "object %d", i)
			} else {
				require.Equal(t, prev.group, o.group, "object %d", i)
				require.Equal(t, prev.object+1, o.object, "object %d", i)
			}
			require.Greater(t, d.decodeTime, out[i-1].decodeTime, "object %d", i)
			require.Equal(t, out[i-1].seq+1, d.seq, "object %d", i)
		} else {
			require.Zero(t, o.object)
		}
		if o.object == 0 {
			require.True(t, d.sync, "object 0 of group %d", o.group)
		}
		out = append(out, d)
	}
	return out
}

func newTestStream(t *testing.T, cfg Config, tracks ...ingest.Track) (*Muxer, *recorder) {
	t.Helper()
	rec := &recorder{}
	if cfg.FirstGroupID == 0 {
		cfg.FirstGroupID = 100
	}
	s := New(cfg, rec)
	require.NoError(t, s.SetTracks(tracks))
	return s, rec
}

func TestStreamRTMPWithBFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{}, rtmpH264, rtmpAAC)
		video := gopFrames(0, 30, 15)
		writeAll(t, s, interleave(video, aacFrames(1, 47, 48000, 0)))
		s.Close()

		// The catalog comes first, as object 0 of its group.
		require.Equal(t, CatalogTrackName, rec.objects[0].track)
		cats := rec.catalogs(t)
		require.Len(t, cats, 1)
		c := cats[0]
		require.EqualValues(t, CatalogVersion01, c.Version)
		require.Equal(t, testEpoch.UnixMilli(), c.GeneratedAt)
		require.Equal(t, []CatalogTrack{
			{
				Name: "video", Packaging: "cmaf", IsLive: true, Role: "video", RenderGroup: 1, AltGroup: 1,
				InitRef: "init-video-1", Codec: "avc1.4D400D", Timescale: 90000, Bitrate: 230400,
				Width: 320, Height: 240, Framerate: 30,
			},
			{
				Name: "audio", Packaging: "cmaf", IsLive: true, Role: "audio", RenderGroup: 1, AltGroup: 2,
				InitRef: "init-audio-1", Codec: "mp4a.40.2", Timescale: 48000, Bitrate: 128000,
				Samplerate: 48000, ChannelConfig: "2",
			},
		}, c.Tracks)
		for _, tr := range c.Tracks {
			init, err := c.Init(&tr)
			require.NoError(t, err)
			info, ok := s.Track(tr.Name)
			require.True(t, ok)
			require.Equal(t, info.Init, init)
		}

		// Video: a group per GOP, group IDs from FirstGroupID.
		vo := rec.track("video")
		require.Equal(t, 30, len(vo))
		vs := checkTrack(t, vo)
		base := uint64(testEpoch.UnixMilli()) * 90
		for i, d := range vs {
			f := video[i]
			require.Equal(t, uint64(i/15+100), vo[i].group)
			require.Equal(t, uint64(i%15), vo[i].object)
			require.Equal(t, f.Keyframe, d.sync, "frame %d", i)
			wantDTS := base + uint64(f.DTS)*90
			if i == 1 {
				wantDTS = base + 1 // the second DTS 0 is clamped
			}
			require.Equal(t, wantDTS, d.decodeTime, "frame %d", i)
			require.Equal(t, base+uint64(f.PTS)*90, d.decodeTime+uint64(d.cto), "frame %d: presentation time", i)
			require.Equal(t, idrOr(f), d.data[4:], "frame %d", i)
		}
		require.EqualValues(t, 3000, vs[0].dur, "nominal duration from the SPS timing info")

		// Audio: dropped until the keyframe's presentation time (33 ms), then
		// in the video's groups with an exact sample count.
		ao := rec.track("audio")
		as := checkTrack(t, ao)
		require.Equal(t, 47-2, len(ao))
		abase := uint64(testEpoch.UnixMilli()) * 48
		require.Equal(t, abase+42*48, as[0].decodeTime, "first frame at or after 33 ms: 2 * 21.3 ms")
		for i, d := range as {
			require.Equal(t, as[0].decodeTime+uint64(i)*1024, d.decodeTime)
			require.EqualValues(t, 1024, d.dur)
			require.True(t, d.sync)
		}
		key2 := vs[15].decodeTime + uint64(vs[15].cto) // the second keyframe's presentation time
		for i, o := range ao {
			want := uint64(100)
			if as[i].decodeTime*90000 >= key2*48000 {
				want = 101
			}
			require.Equal(t, want, o.group, "audio frame %d", i)
		}
		require.Equal(t, uint64(101), ao[24].group)
		require.Equal(t, uint64(100), ao[23].group)

		st := s.Stats()
		require.Equal(t, Stats{
			Frames: 77, Objects: 75, Bytes: st.Bytes, CatalogVersions: 1, DroppedWaiting: 2, Clamped: 1,
		}, st)
		require.ElementsMatch(t, []string{"video", "audio", "catalog"}, rec.ended)
	})
}

func idrOr(f ingest.Frame) []byte {
	if f.Keyframe {
		return idrSlice
	}
	return pSlice
}

func TestStreamInBandParameterSets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{}, tsH264)
		key := func(dts int64, sps []byte) ingest.Frame {
			return ingest.Frame{DTS: dts, PTS: dts, Keyframe: true, AU: [][]byte{aud, sps, h264PPS, idrSlice}}
		}
		p := func(dts int64) ingest.Frame {
			return ingest.Frame{DTS: dts, PTS: dts, AU: [][]byte{aud, pSlice}}
		}
		// A keyframe without parameter sets cannot start the track either.
		bare := ingest.Frame{DTS: 3000, PTS: 3000, Keyframe: true, AU: [][]byte{idrSlice}}
		writeAll(t, s, []ingest.Frame{
			p(0), bare, key(6000, h264SPS), p(9000), key(12000, h264SPS), p(15000),
			key(18000, h264SPS640), p(21000),
		})

		cats := rec.catalogs(t)
		require.Len(t, cats, 2)
		require.Equal(t, "init-video-1", cats[0].Tracks[0].InitRef)
		require.Equal(t, "avc1.4D400D", cats[0].Tracks[0].Codec)
		require.Equal(t, "init-video-2", cats[1].Tracks[0].InitRef)
		require.Equal(t, "avc1.42C01E", cats[1].Tracks[0].Codec)
		require.Equal(t, 640, cats[1].Tracks[0].Width)

		// The catalog with the new init precedes the group it applies to.
		var order []string
		for _, o := range rec.objects {
			order = append(order, o.track)
		}
		require.Equal(t, []string{"catalog", "video", "video", "video", "video", "catalog", "video", "video"}, order)

		vo := rec.track("video")
		vs := checkTrack(t, vo)
		for i, d := range vs {
			// AUD and the parameter sets the init holds are not in the sample.
			want := pSlice
			if i%2 == 0 {
				want = idrSlice
			}
			require.EqualValues(t, len(want), binary.BigEndian.Uint32(d.data))
			require.Equal(t, want, d.data[4:], "sample %d", i)
		}
		require.Equal(t, []uint64{100, 100, 101, 101, 102, 102}, groupsOf(vo))

		st := s.Stats()
		require.EqualValues(t, 2, st.DroppedNoConfig)
		require.EqualValues(t, 1, st.ConfigChanges)
	})
}

func distinct(v []uint64) []uint64 {
	var out []uint64
	for _, x := range v {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

func groupsOf(objs []object) []uint64 {
	out := make([]uint64, len(objs))
	for i, o := range objs {
		out[i] = o.group
	}
	return out
}

func TestStreamDropsBeforeKeyframe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{}, rtmpH264)
		frames := gopFrames(0, 20, 10)[5:] // joins mid-GOP
		writeAll(t, s, frames)
		require.EqualValues(t, 5, s.Stats().DroppedBeforeKeyframe)
		require.Len(t, rec.track("video"), 10)
		require.Empty(t, rec.track(CatalogTrackName)[1:])
	})
}

func TestStreamAudioOnlyGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{}, rtmpAAC)
		writeAll(t, s, aacFrames(0, 150, 48000, 5000)) // 3.2 s
		ao := rec.track("audio")
		as := checkTrack(t, ao)
		var starts []int
		for i, o := range ao {
			if o.object == 0 {
				starts = append(starts, i)
			}
		}
		// 1 s is 46.875 frames: groups start at frames 0, 47, 94, 141.
		require.Equal(t, []int{0, 47, 94, 141}, starts)
		require.Equal(t, []uint64{100, 101, 102, 103}, []uint64{ao[0].group, ao[47].group, ao[94].group, ao[141].group})
		require.Equal(t, uint64(testEpoch.UnixMilli())*48, as[0].decodeTime)
	})
}

func TestStreamAudioWaitsForVideo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The publication declares video but its first keyframe comes late:
		// audio waits startupWait, then goes on in its own groups, and follows
		// video's groups once there are any.
		s, rec := newTestStream(t, Config{}, rtmpH264, rtmpAAC)
		video := gopFrames(0, 30, 15)
		for i := range video {
			video[i].DTS += 3000
			video[i].PTS += 3000
		}
		writeAll(t, s, interleave(video, aacFrames(1, 200, 48000, 0)))
		ao := rec.track("audio")
		checkTrack(t, ao)
		require.EqualValues(t, 94, s.Stats().DroppedWaiting, "2 s of audio")
		vo := rec.track("video")
		checkTrack(t, vo)
		// Audio started its own group at 2 s, then took the video's group IDs
		// from the first keyframe at 3 s on.
		require.Equal(t, uint64(100), ao[0].group)
		require.Equal(t, uint64(101), vo[0].group)
		require.Equal(t, uint64(102), vo[15].group)
		require.Equal(t, []uint64{100, 101, 102}, distinct(groupsOf(ao)))
	})
}

func TestStreamReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{}, rtmpH264, rtmpAAC)
		writeAll(t, s, interleave(gopFrames(0, 30, 15), aacFrames(1, 47, 48000, 0)))
		vEnd := decodeChunk(t, rec.track("video")[29].payload)
		aEnd := decodeChunk(t, rec.track("audio")[len(rec.track("audio"))-1].payload)

		// Same shape, timestamps restart at 0: names, configuration and catalog
		// stay; timelines continue; group IDs grow.
		require.NoError(t, s.SetTracks([]ingest.Track{rtmpH264, rtmpAAC}))
		writeAll(t, s, interleave(gopFrames(0, 30, 15), aacFrames(1, 47, 48000, 0)))
		require.Len(t, rec.catalogs(t), 1)
		vo, ao := rec.track("video"), rec.track("audio")
		checkTrack(t, vo)
		checkTrack(t, ao)
		// The new publication starts where the furthest track (audio) ended, on
		// all tracks: no track rewinds, audio and video stay in sync.
		v2 := decodeChunk(t, vo[30].payload)
		require.GreaterOrEqual(t, v2.decodeTime, vEnd.decodeTime+uint64(vEnd.dur), "video never rewinds")
		require.Equal(t, (aEnd.decodeTime+1024)*90000/48000, v2.decodeTime, "video resumes at the end of the audio")
		require.Equal(t, uint64(102), vo[30].group)
		a2 := decodeChunk(t, ao[45].payload)
		require.Equal(t, uint64(102), ao[45].group)
		require.Equal(t, aEnd.decodeTime+1024+42*48, a2.decodeTime, "audio joins at the keyframe's presentation time")

		// The audio leaves: it ends, and the next catalog lists video only.
		require.NoError(t, s.SetTracks([]ingest.Track{rtmpH264}))
		require.Equal(t, []string{"audio"}, rec.ended)
		writeAll(t, s, gopFrames(0, 15, 15))
		cats := rec.catalogs(t)
		require.Len(t, cats, 2)
		require.Len(t, cats[1].Tracks, 1)
		require.Equal(t, "video", cats[1].Tracks[0].Name)
		require.Equal(t, "init-video-1", cats[1].Tracks[0].InitRef)

		// It comes back at 44.1 kHz: a new init, the timeline rescaled and
		// continued.
		require.NoError(t, s.SetTracks([]ingest.Track{rtmpH264, tsAAC44}))
		tsAudio := aacFrames(1, 20, 44100, 0)
		for i := range tsAudio {
			tsAudio[i].DTS *= 90
			tsAudio[i].PTS *= 90
		}
		writeAll(t, s, interleave(gopFrames(0, 15, 15), tsAudio))
		cats = rec.catalogs(t)
		require.Len(t, cats, 3)
		require.Equal(t, "init-audio-2", cats[2].Track("audio").InitRef)
		require.Equal(t, 44100, cats[2].Track("audio").Timescale)
		ao = rec.track("audio")
		a3 := decodeChunk(t, ao[len(ao)-1].payload)
		require.Greater(t, a3.decodeTime*48000, (aEnd.decodeTime+1024)*44100)
		require.EqualValues(t, 1, s.Stats().ConfigChanges)
	})
}

func TestStreamExactDurations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{ExactDurations: true}, rtmpH264)
		dts := []int64{0, 33, 67, 100, 140, 173}
		for i, d := range dts {
			require.NoError(t, s.WriteFrame(ingest.Frame{DTS: d, PTS: d, Keyframe: i == 0 || i == 4, AU: [][]byte{pSlice}}))
			require.Len(t, rec.track("video"), i, "one frame held back")
		}
		s.Close()
		vo := rec.track("video")
		vs := checkTrack(t, vo)
		for i := range len(dts) - 1 {
			require.EqualValues(t, (dts[i+1]-dts[i])*90, vs[i].dur, "frame %d", i)
		}
		require.EqualValues(t, 33*90, vs[5].dur, "the last frame keeps the previous delta")
		require.Equal(t, []uint64{100, 100, 100, 100, 101, 101}, groupsOf(vo))
	})
}

func TestStreamProducerReferenceTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{ProducerReferenceTime: true}, rtmpH264, rtmpAAC)
		received := testEpoch.Add(1234567 * time.Microsecond)
		writeAll(t, s, []ingest.Frame{
			{Track: 0, Keyframe: true, AU: [][]byte{idrSlice}, Received: received},
			{Track: 1, DTS: 40, PTS: 40, Keyframe: true, AU: [][]byte{{1, 2}}, Received: received},
		})
		for _, name := range []string{"video", "audio"} {
			d := decodeChunk(t, rec.track(name)[0].payload)
			require.NotNil(t, d.prft, name)
			require.Equal(t, mp4.NTP64(ntpTime(received)), d.prft.NTPTimestamp)
			require.Equal(t, d.decodeTime, d.prft.MediaTime)
		}
	})
}

func TestStreamAV1AndOpus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		av1Track := ingest.Track{Codec: ingest.CodecAV1, Timescale: 90000, AV1SequenceHeader: av1SeqOBU}
		s, rec := newTestStream(t, Config{}, av1Track, rtpOpus)
		td := []byte{0x12, 0x00}                      // temporal delimiter
		frameNoSize := []byte{0x30, 0xaa, 0xbb, 0xcc} // OBU_FRAME without size field
		writeAll(t, s, []ingest.Frame{
			{Track: 0, Keyframe: true, AU: [][]byte{td, av1SeqOBU, frameNoSize}},
			{Track: 1, DTS: 0, PTS: 0, Keyframe: true, AU: [][]byte{{0xfc, 1, 2, 3}}},  // 20 ms
			{Track: 1, DTS: 960, PTS: 960, Keyframe: true, AU: [][]byte{{0xf9, 1, 2}}}, // 2 x 20 ms
			{Track: 1, DTS: 2880, PTS: 2880, Keyframe: true, AU: [][]byte{{0xfc, 1}}},
		})
		v := decodeChunk(t, rec.track("video")[0].payload)
		require.Equal(t, append(append([]byte(nil), av1SeqOBU...), 0x32, 0x03, 0xaa, 0xbb, 0xcc), v.data)
		as := checkTrack(t, rec.track("audio"))
		require.Equal(t, []uint32{960, 1920, 960}, []uint32{as[0].dur, as[1].dur, as[2].dur})
		require.Equal(t, as[0].decodeTime+2880, as[2].decodeTime)
		c := rec.catalogs(t)[0]
		require.Equal(t, "opus", c.Track("audio").Codec)
		require.Equal(t, "2", c.Track("audio").ChannelConfig)
	})
}

func TestStreamMeasuredBitrate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{}, rtmpAAC)
		writeAll(t, s, aacFrames(0, 300, 48000, 0)) // 6.4 s
		cats := rec.catalogs(t)
		require.Len(t, cats, 2, "one update with the measured figures")
		a := cats[1].Track("audio")
		chunk := len(rec.track("audio")[0].payload)
		require.InDelta(t, chunk*8*47, a.Bitrate, float64(chunk*8), "peak of 1 s buckets")
		require.InDelta(t, chunk*8*48000/1024, a.AvgBitrate, float64(chunk*8))
		require.Equal(t, "init-audio-1", a.InitRef)
	})
}

func TestStreamErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestStream(t, Config{}, rtmpH264, rtpOpus)
		require.ErrorIs(t, s.WriteFrame(ingest.Frame{Track: 2}), ErrUnknownTrack)
		require.ErrorIs(t, s.WriteFrame(ingest.Frame{Track: -1}), ErrUnknownTrack)
		require.Error(t, s.WriteFrame(ingest.Frame{Track: 0, Keyframe: true, AU: [][]byte{aud}}), "nothing left")
		require.Error(t, s.WriteFrame(ingest.Frame{Track: 1, AU: [][]byte{{}}}), "empty opus")
		require.Error(t, s.WriteFrame(ingest.Frame{Track: 1, AU: [][]byte{{0xfb}}}), "bad toc")
		require.EqualValues(t, 3, s.Stats().Invalid)

		require.ErrorIs(t, s.SetTracks(nil), ErrNoTracks)
		require.Error(t, s.SetTracks([]ingest.Track{{Codec: "MP3", Timescale: 1000}}))
		require.Error(t, s.SetTracks([]ingest.Track{{Codec: ingest.CodecAAC, AudioSpecificConfig: ascLC48s}}), "no timescale")
		require.Error(t, s.SetTracks([]ingest.Track{{Codec: ingest.CodecH264, Timescale: 1, SPS: []byte{0x67}, PPS: h264PPS}}))

		s.Close()
		s.Close()
		require.ErrorIs(t, s.WriteFrame(ingest.Frame{}), ErrClosed)
		require.ErrorIs(t, s.SetTracks([]ingest.Track{rtmpAAC}), ErrClosed)
	})
}

func TestTrackNames(t *testing.T) {
	require.Equal(t, []string{"video", "audio", "audio1", "video1", "audio2"}, trackNames([]ingest.Track{
		rtmpH264, rtmpAAC, rtpOpus, tsH264, tsAAC44,
	}))
}

func TestStreamFirstGroupIDFromClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{}, &recorder{})
		require.Equal(t, uint64(testEpoch.UnixMilli()), s.nextGroup)
	})
}

func TestStreamSecondVideoSharesGroupIDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{}, rtmpH264, rtmpH264)
		writeAll(t, s, interleave(gopFrames(0, 30, 15), gopFrames(1, 30, 15)))
		require.Equal(t, []uint64{100, 101}, distinct(groupsOf(rec.track("video"))))
		require.Equal(t, []uint64{100, 101}, distinct(groupsOf(rec.track("video1"))))
		c := rec.catalogs(t)[0]
		require.Equal(t, c.Track("video").AltGroup, c.Track("video1").AltGroup)
	})
}

func TestStreamTimestampJump(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{}, rtmpH264)
		frames := gopFrames(0, 30, 15)
		for i := 15; i < 30; i++ { // the encoder restarts its clock 1 h on
			frames[i].DTS += 3_600_000
			frames[i].PTS += 3_600_000
		}
		writeAll(t, s, frames)
		vs := checkTrack(t, rec.track("video"))
		require.EqualValues(t, 1, s.Stats().Reanchored)
		require.Equal(t, vs[14].decodeTime+uint64(vs[14].dur), vs[15].decodeTime, "continues right after")
	})
}

func TestStreamCloseEndsListedTracks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Audio is listed in the catalog but never sends: it still ends.
		s, rec := newTestStream(t, Config{}, rtmpH264, rtmpAAC)
		writeAll(t, s, gopFrames(0, 3, 15))
		s.Close()
		require.Equal(t, []string{"video", "audio", "catalog"}, rec.ended)
		catalog, group, ok := s.Catalog()
		require.True(t, ok)
		require.EqualValues(t, 100, group)
		c, err := ParseCatalog(catalog)
		require.NoError(t, err)
		require.Len(t, c.Tracks, 2)
		require.Len(t, s.Tracks(), 2)
	})
}

func TestStreamNoCatalogBeforeMedia(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{}, tsH264)
		_, _, ok := s.Catalog()
		require.False(t, ok)
		require.Nil(t, s.Tracks())
		_, ok = s.Track("video")
		require.False(t, ok)
		s.Close()
		require.Empty(t, rec.ended, "nothing was announced")
	})
}

func TestStreamAudioLosesConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, rec := newTestStream(t, Config{}, rtmpH264, rtmpAAC)
		writeAll(t, s, interleave(gopFrames(0, 15, 15), aacFrames(1, 20, 48000, 0)))
		// The next publisher's audio has no AudioSpecificConfig (yet): its
		// frames cannot be packaged, so the track leaves the catalog.
		require.NoError(t, s.SetTracks([]ingest.Track{rtmpH264, {Codec: ingest.CodecAAC, Timescale: 1000}}))
		require.Equal(t, []string{"audio"}, rec.ended)
		writeAll(t, s, interleave(gopFrames(0, 15, 15), aacFrames(1, 20, 48000, 0)))
		cats := rec.catalogs(t)
		require.Len(t, cats, 2)
		require.Nil(t, cats[1].Track("audio"))
		require.EqualValues(t, 20, s.Stats().DroppedNoConfig)
	})
}
