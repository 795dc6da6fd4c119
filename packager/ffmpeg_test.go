package packager

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/Eyevinn/mp4ff/av1"
	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// These tests package real encoder output. ffmpeg writes a short MPEG-TS
// (or fragmented MP4 for AV1); an independent demuxer (mediacommon's MPEG-TS
// reader, mp4ff) turns it into ingest.Frames the way an adapter would; the
// packager's objects are then decoded back with mp4ff and judged by ffprobe.

func requireFFmpeg(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install ffmpeg: apt-get install -y ffmpeg", bin)
		}
	}
}

// ffmpeg runs ffmpeg with lavfi test sources; out is the last argument.
func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "ffmpeg %v: %s", args, out)
}

// source is encoder output in the ingest vocabulary.
type source struct {
	tracks []ingest.Track
	frames []ingest.Frame // in muxing order
}

func (s source) trackFrames(i int) []ingest.Frame {
	var out []ingest.Frame
	for _, f := range s.frames {
		if f.Track == i {
			out = append(out, f)
		}
	}
	return out
}

// readTS demuxes an MPEG-TS file with mediacommon, unwrapping the 33-bit
// clock with the ingest helper, as the SRT adapter does.
func readTS(t *testing.T, path string) source {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := &mpegts.Reader{R: bufio.NewReader(f)}
	require.NoError(t, r.Initialize())
	r.OnDecodeError(func(err error) { t.Errorf("mpegts: %v", err) })

	var src source
	for i, tr := range r.Tracks() {
		dtsU := &ingest.Unwrapper{Bits: ingest.MPEGTSClockBits}
		ptsU := &ingest.Unwrapper{Bits: ingest.MPEGTSClockBits}
		add := func(dts, pts int64, key bool, au [][]byte) {
			src.frames = append(src.frames, ingest.Frame{
				Track: i, DTS: dtsU.Unwrap(uint64(dts)), PTS: ptsU.Unwrap(uint64(pts)), Keyframe: key, AU: clones(au),
			})
		}
		switch c := tr.Codec.(type) {
		case *codecs.H264:
			src.tracks = append(src.tracks, ingest.Track{Codec: ingest.CodecH264, Timescale: 90000})
			r.OnDataH264(tr, func(pts, dts int64, au [][]byte) error {
				add(dts, pts, hasNALType(au, func(b byte) bool { return b&0x1f == 5 }), au)
				return nil
			})
		case *codecs.H265:
			src.tracks = append(src.tracks, ingest.Track{Codec: ingest.CodecH265, Timescale: 90000})
			r.OnDataH265(tr, func(pts, dts int64, au [][]byte) error {
				add(dts, pts, hasNALType(au, func(b byte) bool { typ := b >> 1 & 0x3f; return typ >= 16 && typ <= 21 }), au)
				return nil
			})
		case *codecs.MPEG4Audio:
			asc, err := c.Marshal()
			require.NoError(t, err)
			rate := int64(c.SampleRate)
			src.tracks = append(src.tracks, ingest.Track{
				Codec: ingest.CodecAAC, Timescale: 90000, AudioSpecificConfig: asc,
				SampleRate: c.SampleRate, Channels: int(c.ChannelConfig),
			})
			r.OnDataMPEG4Audio(tr, func(pts int64, aus [][]byte) error {
				for j, au := range aus {
					ts := pts + int64(j)*1024*90000/rate
					add(ts, ts, true, [][]byte{au})
				}
				return nil
			})
		case *codecs.Opus:
			src.tracks = append(src.tracks, ingest.Track{
				Codec: ingest.CodecOpus, Timescale: 90000, SampleRate: 48000, Channels: c.Desc.ChannelCount(),
			})
			r.OnDataOpus(tr, func(pts int64, packets [][]byte) error {
				for j, p := range packets { // 20 ms each: the tests pass -frame_duration 20
					ts := pts + int64(j)*90000/50
					add(ts, ts, true, [][]byte{p})
				}
				return nil
			})
		default:
			t.Fatalf("unexpected codec %T", c)
		}
	}
	for {
		err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
	}
	return src
}

func hasNALType(au [][]byte, is func(byte) bool) bool {
	for _, n := range au {
		if len(n) > 0 && is(n[0]) {
			return true
		}
	}
	return false
}

// readFLV demuxes an FLV file (H.264 and AAC) the way RTMP delivers it:
// millisecond DTS, composition time offsets, parameter sets and the
// AudioSpecificConfig in sequence headers, length-prefixed NAL units.
func readFLV(t *testing.T, path string) source {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "FLV", string(b[:3]))
	src := source{tracks: []ingest.Track{
		{Codec: ingest.CodecH264, Timescale: 1000},
		{Codec: ingest.CodecAAC, Timescale: 1000},
	}}
	p := int(binary.BigEndian.Uint32(b[5:9])) + 4
	for p+11 <= len(b) {
		typ := b[p]
		size := int(b[p+1])<<16 | int(b[p+2])<<8 | int(b[p+3])
		ts := int64(b[p+4])<<16 | int64(b[p+5])<<8 | int64(b[p+6]) | int64(b[p+7])<<24
		data := b[p+11 : p+11+size]
		p += 11 + size + 4
		switch {
		case typ == 9 && data[0]&0x0f == 7: // AVC
			cts := int64(int32(uint32(data[2])<<24|uint32(data[3])<<16|uint32(data[4])<<8) >> 8)
			switch data[1] {
			case 0: // sequence header
				rec, err := avc.DecodeAVCDecConfRec(data[5:])
				require.NoError(t, err)
				src.tracks[0].SPS, src.tracks[0].PPS = rec.SPSnalus[0], rec.PPSnalus[0]
				continue
			case 2: // end of sequence
				continue
			}
			var au [][]byte
			for n := data[5:]; len(n) >= 4; {
				l := int(binary.BigEndian.Uint32(n))
				au = append(au, n[4:4+l])
				n = n[4+l:]
			}
			src.frames = append(src.frames, ingest.Frame{Track: 0, DTS: ts, PTS: ts + cts, Keyframe: data[0]>>4 == 1, AU: au})
		case typ == 8 && data[0]>>4 == 10: // AAC
			if data[1] == 0 {
				src.tracks[1].AudioSpecificConfig = data[2:]
				continue
			}
			src.frames = append(src.frames, ingest.Frame{Track: 1, DTS: ts, PTS: ts, Keyframe: true, AU: [][]byte{data[2:]}})
		}
	}
	return src
}

// readAV1MP4 demuxes a fragmented MP4 with one AV1 track with mp4ff,
// splitting each sample into its OBUs.
func readAV1MP4(t *testing.T, path string) source {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	require.NoError(t, err)
	trak := f.Moov.Trak
	av1C := trak.Mdia.Minf.Stbl.Stsd.Av01.Av1C
	require.NotNil(t, av1C)
	src := source{tracks: []ingest.Track{{
		Codec: ingest.CodecAV1, Timescale: trak.Mdia.Mdhd.Timescale, AV1SequenceHeader: av1C.ConfigOBUs,
	}}}
	trex, _ := f.Moov.Mvex.GetTrex(trak.Tkhd.TrackID)
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			samples, err := frag.GetFullSamples(trex)
			require.NoError(t, err)
			for _, s := range samples {
				obus, err := av1.SplitOBUs(s.Data)
				require.NoError(t, err)
				au := make([][]byte, len(obus))
				for i, o := range obus {
					au[i] = o.Encode()
				}
				src.frames = append(src.frames, ingest.Frame{
					DTS: int64(s.DecodeTime), PTS: s.PresentationTime(), Keyframe: s.IsSync(), AU: au,
				})
			}
		}
	}
	return src
}

// pack runs a source through a Muxer.
func pack(t *testing.T, src source, cfg Config) (*Muxer, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg.FirstGroupID = 1000
	s := New(cfg, rec)
	require.NoError(t, s.SetTracks(src.tracks))
	for i, f := range src.frames {
		require.NoError(t, s.WriteFrame(f), "frame %d", i)
	}
	s.Close()
	return s, rec
}

// probe is what ffprobe says about the first stream of a file.
type probe struct {
	CodecName    string `json:"codec_name"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	SampleRate   string `json:"sample_rate"`
	Channels     int    `json:"channels"`
	NbReadFrames string `json:"nb_read_frames"`
	// Span is the presentation time the stream's packets cover: from the
	// earliest to the latest PTS plus the mean packet spacing. Container
	// duration fields and packet durations differ between MPEG-TS and
	// fragmented MP4, presentation times do not.
	Span float64 `json:"-"`
}

func ffprobe(t *testing.T, path string, stream string) probe {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ffprobe", "-v", "error", "-count_frames", "-select_streams", stream,
		"-show_entries", "stream=codec_name,width,height,sample_rate,channels,nb_read_frames:packet=pts_time",
		"-of", "json", path).Output()
	require.NoError(t, err, "ffprobe %s", path)
	var r struct {
		Streams []probe
		Packets []struct {
			PTS string `json:"pts_time"`
		}
	}
	require.NoError(t, json.Unmarshal(out, &r))
	require.Len(t, r.Streams, 1, "ffprobe %s: %s", path, out)
	require.Greater(t, len(r.Packets), 1)
	p := r.Streams[0]
	first, last := math.Inf(1), math.Inf(-1)
	for _, pkt := range r.Packets {
		pts, err := strconv.ParseFloat(pkt.PTS, 64)
		require.NoError(t, err)
		first, last = min(first, pts), max(last, pts)
	}
	n := float64(len(r.Packets))
	p.Span = (last - first) * n / (n - 1)
	return p
}

func (p probe) frames(t *testing.T) int {
	n, err := strconv.Atoi(p.NbReadFrames)
	require.NoError(t, err)
	return n
}

// writeTrackFile writes a track's init segment and chunks as one fMP4 file.
func writeTrackFile(t *testing.T, s *Muxer, rec *recorder, name string) string {
	t.Helper()
	info, ok := s.Track(name)
	require.True(t, ok)
	var b bytes.Buffer
	b.Write(info.Init)
	for _, o := range rec.track(name) {
		b.Write(o.payload)
	}
	path := filepath.Join(t.TempDir(), name+".mp4")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	return path
}

// verifyTrack checks a packaged track against its source: every frame is
// an object (after the drops the packager reports), decode times follow
// the source, durations fill the timeline, and ffprobe sees the same
// stream as in the source file.
func verifyTrack(t *testing.T, s *Muxer, rec *recorder, name string, srcFrames []ingest.Frame,
	srcRate uint32, want probe, sourceProbe probe, exact bool,
) {
	t.Helper()
	objs := rec.track(name)
	samples := checkTrack(t, objs)
	info, _ := s.Track(name)
	skipped := len(srcFrames) - len(objs)
	require.GreaterOrEqual(t, skipped, 0)
	srcFrames = srcFrames[skipped:] // the packager drops only at the start here
	if info.Kind == ingest.KindAudio {
		require.LessOrEqual(t, skipped, 2, "audio waits at most for the keyframe's presentation time")
	} else {
		require.Zero(t, skipped)
	}

	for i := 1; i < len(samples); i++ {
		prev, cur := samples[i-1], samples[i]
		switch {
		case info.Kind == ingest.KindAudio:
			require.Equal(t, prev.decodeTime+uint64(prev.dur), cur.decodeTime, "%s %d: gapless sample count", name, i)
		case exact:
			require.Equal(t, prev.decodeTime+uint64(prev.dur), cur.decodeTime, "%s %d: exact durations", name, i)
		default:
			// tfdt follows the source DTS exactly; durations are the
			// previous delta.
			srcDelta := (srcFrames[i].DTS - srcFrames[i-1].DTS) * int64(info.Timescale) / int64(srcRate)
			require.Equal(t, uint64(srcDelta), cur.decodeTime-prev.decodeTime, "%s %d: source DTS delta", name, i)
			require.Equal(t, uint32(cur.decodeTime-prev.decodeTime), cur.dur, "%s %d: previous delta", name, i)
		}
		srcCTO := (srcFrames[i].PTS - srcFrames[i].DTS) * int64(info.Timescale) / int64(srcRate)
		require.EqualValues(t, srcCTO, cur.cto, "%s %d: composition offset", name, i)
		require.Equal(t, srcFrames[i].Keyframe, cur.sync, "%s %d: sync flag", name, i)
	}

	got := ffprobe(t, writeTrackFile(t, s, rec, name), "0")
	require.Equal(t, want.CodecName, got.CodecName)
	require.Equal(t, want.Width, got.Width)
	require.Equal(t, want.Height, got.Height)
	require.Equal(t, want.SampleRate, got.SampleRate)
	require.Equal(t, want.Channels, got.Channels)
	require.Equal(t, len(objs), got.frames(t), "%s: frames ffprobe decodes", name)
	require.Equal(t, sourceProbe.frames(t)-skipped, got.frames(t), "%s: frames vs. source", name)
	frameDur := float64(samples[len(samples)-1].dur) / float64(info.Timescale)
	require.InDelta(t, sourceProbe.Span-float64(skipped)*frameDur, got.Span, frameDur*1.01,
		"%s: duration vs. source", name)
}

func TestFFmpegH264AACWithBFrames(t *testing.T) {
	requireFFmpeg(t)
	ts := filepath.Join(t.TempDir(), "in.ts")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30", "-x264-params", "keyint=30:min-keyint=30:scenecut=0",
		"-c:a", "aac", "-ac", "2", "-b:a", "96k", ts)
	src := readTS(t, ts)
	require.Len(t, src.tracks, 2)
	require.True(t, reordered(src.trackFrames(0)), "B-frames")

	for _, exact := range []bool{false, true} {
		t.Run(fmt.Sprintf("exact=%v", exact), func(t *testing.T) {
			s, rec := pack(t, src, Config{ExactDurations: exact})
			cat := rec.catalogs(t)
			require.Len(t, cat, 1)
			require.Equal(t, "avc1.4D400D", cat[0].Track("video").Codec)
			require.Equal(t, []uint64{1000, 1001, 1002}, distinct(groupsOf(rec.track("video"))))
			require.Equal(t, []uint64{1000, 1001, 1002}, distinct(groupsOf(rec.track("audio"))))

			verifyTrack(t, s, rec, "video", src.trackFrames(0), 90000,
				probe{CodecName: "h264", Width: 320, Height: 240}, ffprobe(t, ts, "v:0"), exact)
			for i, d := range checkTrack(t, rec.track("video")) {
				for _, typ := range avc.FindNaluTypes(d.data) {
					require.NotContains(t, []avc.NaluType{avc.NALU_SPS, avc.NALU_PPS, avc.NALU_AUD}, typ,
						"sample %d: parameter sets live in the init segment", i)
				}
			}
			verifyTrack(t, s, rec, "audio", src.trackFrames(1), 90000,
				probe{CodecName: "aac", SampleRate: "48000", Channels: 2}, ffprobe(t, ts, "a:0"), exact)
		})
	}
}

func TestFFmpegFLV(t *testing.T) {
	// What RTMP carries: FLV timing (millisecond DTS and composition
	// offsets), parameter sets declared up front, and 44.1 kHz audio whose
	// frames are not a whole number of milliseconds.
	requireFFmpeg(t)
	in := filepath.Join(t.TempDir(), "in.flv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "25",
		"-c:a", "aac", "-ac", "1", in)
	src := readFLV(t, in)
	require.True(t, reordered(src.trackFrames(0)), "B-frames")

	s, rec := pack(t, src, Config{ProducerReferenceTime: true})
	st := s.Stats()
	require.Zero(t, st.Resynced+st.DroppedLate+st.Reanchored, "millisecond jitter stays within a frame")
	verifyTrack(t, s, rec, "video", src.trackFrames(0), 1000,
		probe{CodecName: "h264", Width: 320, Height: 240}, ffprobe(t, in, "v:0"), false)
	verifyTrack(t, s, rec, "audio", src.trackFrames(1), 1000,
		probe{CodecName: "aac", SampleRate: "44100", Channels: 1}, ffprobe(t, in, "a:0"), false)
	for _, d := range checkTrack(t, rec.track("video")) {
		require.NotNil(t, d.prft)
		require.Equal(t, d.decodeTime, d.prft.MediaTime)
	}
}

// reordered reports whether frames come in an order other than their
// presentation order.
func reordered(frames []ingest.Frame) bool {
	for i := 1; i < len(frames); i++ {
		if frames[i].PTS < frames[i-1].PTS {
			return true
		}
	}
	return false
}

func TestFFmpegH265(t *testing.T) {
	requireFFmpeg(t)
	ts := filepath.Join(t.TempDir(), "in.ts")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "2",
		"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=30:bframes=2", ts)
	src := readTS(t, ts)
	require.True(t, reordered(src.trackFrames(0)), "B-frames")
	s, rec := pack(t, src, Config{})
	require.Equal(t, "hvc1", rec.catalogs(t)[0].Track("video").Codec[:4])
	verifyTrack(t, s, rec, "video", src.trackFrames(0), 90000,
		probe{CodecName: "hevc", Width: 320, Height: 240}, ffprobe(t, ts, "v:0"), false)
}

func TestFFmpegOpus(t *testing.T) {
	requireFFmpeg(t)
	ts := filepath.Join(t.TempDir(), "in.ts")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2",
		"-c:a", "libopus", "-ac", "2", "-b:a", "64k", "-frame_duration", "20", ts)
	src := readTS(t, ts)
	s, rec := pack(t, src, Config{})
	ao := rec.track("audio")
	require.Equal(t, uint64(1001), ao[50].group, "audio-only groups of a second: 50 packets of 20 ms")
	require.Equal(t, uint64(1000), ao[49].group)
	verifyTrack(t, s, rec, "audio", src.trackFrames(0), 90000,
		probe{CodecName: "opus", SampleRate: "48000", Channels: 2}, ffprobe(t, ts, "a:0"), false)
}

// TestFFmpegOpusHead packages ffmpeg's 5.1 Opus with the OpusHead it
// wrote (what Enhanced RTMP carries): the dOps box holds that header's
// values, little-endian fields turned big-endian, and ffprobe decodes six
// channels from the CMAF track.
func TestFFmpegOpusHead(t *testing.T) {
	requireFFmpeg(t)
	in := filepath.Join(t.TempDir(), "in.opus")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2",
		"-ac", "6", "-c:a", "libopus", "-b:a", "192k", "-frame_duration", "20", "-f", "opus", in)
	b, err := os.ReadFile(in)
	require.NoError(t, err)
	pkts := ingesttest.OggPackets(t, b)
	require.Greater(t, len(pkts), 50)
	head := pkts[0]
	src := source{tracks: []ingest.Track{{
		Codec: ingest.CodecOpus, Timescale: opusRate, SampleRate: opusRate, Channels: 2, OpusHead: head,
	}}}
	var dts int64
	for _, p := range pkts[2:] { // after OpusHead and OpusTags
		n, err := opusPacketSamples(p)
		require.NoError(t, err)
		src.frames = append(src.frames, ingest.Frame{DTS: dts, PTS: dts, Keyframe: true, AU: [][]byte{p}})
		dts += int64(n)
	}
	s, rec := pack(t, src, Config{})

	info, ok := s.Track("audio")
	require.True(t, ok)
	f, err := mp4.DecodeFile(bytes.NewReader(info.Init))
	require.NoError(t, err)
	entry, ok := f.Moov.Trak.Mdia.Minf.Stbl.Stsd.Children[0].(*mp4.AudioSampleEntryBox)
	require.True(t, ok)
	require.EqualValues(t, 6, entry.ChannelCount)
	require.Equal(t, &mp4.DopsBox{
		OutputChannelCount:   6,
		PreSkip:              binary.LittleEndian.Uint16(head[10:]),
		InputSampleRate:      binary.LittleEndian.Uint32(head[12:]),
		OutputGain:           int16(binary.LittleEndian.Uint16(head[16:])),
		ChannelMappingFamily: 1,
		StreamCount:          head[19],
		CoupledCount:         head[20],
		ChannelMapping:       head[21:27],
	}, entry.Dops)
	require.Equal(t, "6", rec.catalogs(t)[0].Track("audio").ChannelConfig)

	verifyTrack(t, s, rec, "audio", src.frames, opusRate,
		probe{CodecName: "opus", SampleRate: "48000", Channels: 6}, ffprobe(t, in, "a:0"), false)
}

func TestFFmpegAV1(t *testing.T) {
	requireFFmpeg(t)
	in := filepath.Join(t.TempDir(), "in.mp4")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "2",
		"-c:v", "libsvtav1", "-preset", "12", "-g", "30", "-svtav1-params", "lp=1",
		"-movflags", "frag_keyframe+empty_moov+default_base_moof", in)
	src := readAV1MP4(t, in)
	s, rec := pack(t, src, Config{})
	c := rec.catalogs(t)[0].Track("video")
	require.Equal(t, "av01", c.Codec[:4])
	require.Equal(t, 320, c.Width)
	want := probe{CodecName: "av1", Width: 320, Height: 240}
	verifyTrack(t, s, rec, "video", src.trackFrames(0), src.tracks[0].Timescale, want, ffprobe(t, in, "v:0"), false)
	require.Equal(t, 60, len(rec.track("video")))
}
