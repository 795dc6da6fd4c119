package rtmp

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/abema/go-mp4"
	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/moqgw/moq-gateway/ingest"
)

// timescale is RTMP's clock: every timestamp and composition offset is a
// whole number of milliseconds, so 1000 is exact.
const timescale = 1000

// opusSampleRate is the rate of every Opus track (RFC 7845 §5.1).
const opusSampleRate = 48000

var errNoTracks = errors.New("no track with a supported codec (H.264, H.265, AV1, AAC, Opus)")

// analysis collects, while gortmplib's Reader probes the tracks, what the
// Reader does not expose: the IDs of the video tracks (to address E-RTMP
// multitrack messages), AV1 sequence headers (gortmplib's AV1 track carries
// none) and the bitrates declared in onMetaData.
type analysis struct {
	videoIDs  map[uint8]bool
	av1Config map[uint8][]byte // sequence header OBU of the av1C record
	av1InBand map[uint8][]byte // first sequence header OBU in the frames
	videoRate int              // bit/s
	audioRate int

	// What onMetaData declares and what the probe has seen of it: once
	// every declared track is configured, the probe can end (see ready).
	declaredVideo, declaredAudio bool
	videoReady, audioReady       bool
	audioAAC, multitrack         bool
	mediaSeen                    bool // a message that starts gortmplib's probe clock
	firstDTS                     time.Duration
	ended                        bool // the probe's end marker was sent
}

func newAnalysis() *analysis {
	return &analysis{
		videoIDs:  make(map[uint8]bool),
		av1Config: make(map[uint8][]byte),
		av1InBand: make(map[uint8][]byte),
	}
}

// observe looks at one message of the probe. The set of video IDs follows
// gortmplib's Reader.readTracks, so that sorted they pair with the video
// tracks Reader.Tracks returns.
func (a *analysis) observe(msg message.Message) {
	switch m := msg.(type) {
	case *message.Video:
		a.media(m.DTS)
		if m.Type == message.VideoTypeConfig {
			a.videoIDs[0] = true
			a.videoReady = a.videoReady || m.Codec == message.CodecH264 || m.Codec == message.CodecH265
		}
	case *message.VideoExSequenceStart:
		a.videoIDs[0] = true
		a.videoReady = true
		a.sequenceStart(0, m)
	case *message.VideoExCodedFrames:
		a.media(m.DTS)
		a.frame(0, m.FourCC, m.Payload)
	case *message.VideoExFramesX:
		a.media(m.DTS)
		a.frame(0, m.FourCC, m.Payload)
	case *message.Audio:
		a.media(m.DTS)
		a.audioAAC = m.Codec == message.CodecMPEG4Audio
		a.audioReady = a.audioReady || !a.audioAAC || (m.AACType == message.AudioAACTypeConfig && m.AACConfig != nil)
	case *message.AudioExCodedFrames:
		a.media(m.DTS)
		a.audioReady = true
	case *message.AudioExMultitrack:
		a.multitrack = true
	case *message.VideoExMultitrack:
		a.multitrack = true
		a.videoIDs[m.TrackID] = true
		switch w := m.Wrapped.(type) {
		case *message.VideoExSequenceStart:
			a.sequenceStart(m.TrackID, w)
		case *message.VideoExCodedFrames:
			a.frame(m.TrackID, w.FourCC, w.Payload)
		case *message.VideoExFramesX:
			a.frame(m.TrackID, w.FourCC, w.Payload)
		}
	case *message.DataAMF0:
		a.metadata(m.Payload)
	}
}

func (a *analysis) sequenceStart(id uint8, m *message.VideoExSequenceStart) {
	if m.FourCC == message.FourCCAV1 && m.AV1Config != nil {
		a.av1Config[id] = av1SequenceHeader(m.AV1Config.ConfigOBUs)
	}
}

func (a *analysis) frame(id uint8, fourCC message.FourCC, payload []byte) {
	if fourCC == message.FourCCAV1 && a.av1InBand[id] == nil {
		a.av1InBand[id] = av1SequenceHeader(payload)
	}
}

// media notes a message that gortmplib's probe times (its first one
// starts the probe's clock).
func (a *analysis) media(dts time.Duration) {
	if !a.mediaSeen {
		a.mediaSeen, a.firstDTS = true, dts
	}
}

// probePeriod is how much media gortmplib's Reader reads before it returns
// the tracks (its analyzePeriod).
const probePeriod = 2 * time.Second

// endOfProbe returns, once onMetaData declared the publication's tracks
// and each of them is configured, a message that ends gortmplib's probe at
// once: a video end-of-sequence (or, for AAC-only, an AAC configuration)
// stamped one probePeriod after the first media, which no track callback
// acts on. Without it every publisher waits 2 s of media for its stream to
// appear. Publications that declare nothing, or carry E-RTMP multitrack,
// keep the full probe: only it finds every track then.
func (a *analysis) endOfProbe() message.Message {
	switch {
	case a.ended || !a.mediaSeen || a.multitrack || (!a.declaredVideo && !a.declaredAudio):
		return nil
	case a.declaredVideo && !a.videoReady, a.declaredAudio && !a.audioReady:
		return nil
	}
	dts := a.firstDTS + probePeriod
	if a.declaredVideo {
		a.ended = true
		return &message.Video{DTS: dts, Type: message.VideoTypeEOS}
	}
	if !a.audioAAC {
		return nil
	}
	a.ended = true
	return &message.Audio{DTS: dts, Codec: message.CodecMPEG4Audio, AACType: message.AudioAACTypeConfig}
}

// undeclared drops media the early end of the probe did not find.
type undeclared struct {
	video, audio bool // kinds the probe found
	log          *ingest.RateLog
}

func newUndeclared(r *gortmplib.Reader, log *slog.Logger) *undeclared {
	u := &undeclared{log: ingest.NewRateLog(log, slog.LevelWarn, "dropping media of a track onMetaData did not declare")}
	for _, t := range r.Tracks() {
		switch t.Codec.(type) {
		case *codecs.H264, *codecs.H265, *codecs.AV1, *codecs.VP9:
			u.video = true
		default:
			u.audio = true
		}
	}
	return u
}

// drop reports whether msg is media of a kind the probe did not find.
func (u *undeclared) drop(msg message.Message) bool {
	var kind string
	switch msg.(type) {
	case *message.Video, *message.VideoExSequenceStart, *message.VideoExCodedFrames, *message.VideoExFramesX:
		if u.video {
			return false
		}
		kind = "video"
	case *message.Audio, *message.AudioExSequenceStart, *message.AudioExCodedFrames:
		if u.audio {
			return false
		}
		kind = "audio"
	case *message.VideoExMultitrack, *message.AudioExMultitrack:
		kind = "multitrack"
	default:
		return false
	}
	u.log.Log("kind", kind)
	return true
}

// metadata reads the tracks and kbit/s rates of onMetaData (OBS and ffmpeg
// send it with @setDataFrame before any media).
func (a *analysis) metadata(payload []any) {
	for _, v := range payload {
		obj, ok := objectOrArray(v)
		if !ok {
			continue
		}
		// gortmplib's writer (MediaMTX and others) sends 0 for a track it
		// does not have; as an audio codec 0 is LPCM, which then waits for
		// the full probe.
		if id, ok := codecID(obj, "videocodecid"); ok && id != 0 {
			a.declaredVideo = true
		}
		if id, ok := codecID(obj, "audiocodecid"); ok && id != 0 {
			a.declaredAudio = true
		}
		if r, ok := obj.GetFloat64("videodatarate"); ok {
			a.videoRate = kbps(r)
		}
		if r, ok := obj.GetFloat64("audiodatarate"); ok {
			a.audioRate = kbps(r)
		}
	}
}

// codecID reads a codec ID of onMetaData: a number, or a FourCC string
// (Enhanced RTMP), which counts as non-zero.
func codecID(obj amf0.Object, key string) (float64, bool) {
	v, ok := obj.Get(key)
	if !ok {
		return 0, false
	}
	switch id := v.(type) {
	case float64:
		return id, true
	case string:
		return 1, id != ""
	}
	return 1, true
}

func kbps(r float64) int {
	if r <= 0 || r > 10e6 { // also false for NaN
		return 0
	}
	return int(r * 1000)
}

// av1SequenceHeader returns the first sequence header OBU of a low-overhead
// bitstream, as mediacommon represents OBUs (no size field), or nil.
func av1SequenceHeader(b []byte) []byte {
	var bs av1.Bitstream
	if len(b) == 0 || bs.Unmarshal(b) != nil {
		return nil
	}
	for _, obu := range bs {
		if len(obu) > 0 && av1.OBUType((obu[0]>>3)&0xf) == av1.OBUTypeSequenceHeader {
			return obu
		}
	}
	return nil
}

// trackSet is the publication's tracks and the state that maps frames to them.
type trackSet struct {
	tracks []ingest.Track
	states []*trackState
	// byVideoID finds the track of an E-RTMP video message.
	byVideoID map[uint8]*trackState
	// dropped names the codecs of tracks left out.
	dropped []string
}

// mapTracks turns the Reader's tracks into ingest tracks and registers a
// callback for every one of them: gortmplib's Reader calls a nil callback
// for a track without one, so tracks the gateway cannot package get a
// callback that drops their frames.
func (c *conn) mapTracks(r *gortmplib.Reader, an *analysis) (*trackSet, error) {
	ts := &trackSet{byVideoID: make(map[uint8]*trackState)}
	videoIDs := make([]uint8, 0, len(an.videoIDs))
	for id := range an.videoIDs {
		videoIDs = append(videoIDs, id)
	}
	slices.Sort(videoIDs)

	videoIdx := 0
	for _, rt := range r.Tracks() {
		var videoID uint8
		idKnown := false
		if rt.Codec.IsVideo() {
			if videoIdx < len(videoIDs) {
				videoID, idKnown = videoIDs[videoIdx], true
			}
			videoIdx++
		}

		t, err := c.ingestTrack(rt.Codec, videoID, idKnown, an)
		if err != nil {
			var u unsupportedCodecError
			if !errors.As(err, &u) {
				return ts, err
			}
			ts.dropped = append(ts.dropped, string(u))
			c.dropFrames(r, rt)
			continue
		}
		st := newTrackState(len(ts.tracks), t)
		ts.tracks = append(ts.tracks, t)
		ts.states = append(ts.states, st)
		if idKnown {
			ts.byVideoID[videoID] = st
		}
		c.onFrames(r, rt, st)
	}
	if videoIdx != len(videoIDs) {
		// The pairing of IDs and tracks is off: keep the tracks, lose only
		// mid-stream E-RTMP sequence starts.
		clear(ts.byVideoID)
	}
	if len(ts.tracks) == 0 {
		return ts, errNoTracks
	}
	return ts, nil
}

// unsupportedCodecError names a codec RTMP carries and the gateway does not
// package.
type unsupportedCodecError string

func (e unsupportedCodecError) Error() string { return string(e) + " is not supported" }

// ingestTrack describes one gortmplib track.
func (c *conn) ingestTrack(codec codecs.Codec, videoID uint8, idKnown bool, an *analysis) (ingest.Track, error) {
	t := ingest.Track{Timescale: timescale}
	switch cd := codec.(type) {
	case *codecs.H264:
		if len(cd.SPS) == 0 || len(cd.PPS) == 0 {
			return t, errors.New("H.264 track without SPS or PPS")
		}
		t.Codec, t.SPS, t.PPS = ingest.CodecH264, cd.SPS, cd.PPS
	case *codecs.H265:
		if len(cd.VPS) == 0 || len(cd.SPS) == 0 || len(cd.PPS) == 0 {
			return t, errors.New("H.265 track without VPS, SPS or PPS")
		}
		t.Codec, t.VPS, t.SPS, t.PPS = ingest.CodecH265, cd.VPS, cd.SPS, cd.PPS
	case *codecs.AV1:
		t.Codec = ingest.CodecAV1
		if idKnown {
			// The sequence header of the frames is what decoders use; the
			// av1C record may be a placeholder (gortmplib's own Writer sends
			// a fixed one).
			t.AV1SequenceHeader = an.av1InBand[videoID]
			if t.AV1SequenceHeader == nil {
				t.AV1SequenceHeader = an.av1Config[videoID]
			}
		}
	case *codecs.MPEG4Audio:
		if cd.Config == nil {
			return t, errors.New("AAC track without AudioSpecificConfig")
		}
		asc, err := cd.Config.Marshal()
		if err != nil {
			return t, fmt.Errorf("AAC AudioSpecificConfig: %w", err)
		}
		t.Codec, t.AudioSpecificConfig = ingest.CodecAAC, asc
		t.SampleRate, t.Channels = cd.Config.SampleRate, ingest.AACChannels(cd.Config.ChannelConfig)
	case *codecs.Opus:
		t.Codec, t.SampleRate, t.Channels = ingest.CodecOpus, opusSampleRate, 2
		if cd.IDHeader != nil {
			t.Channels = int(cd.IDHeader.ChannelCount)
			// mediacommon reads the header's little-endian fields as big-
			// endian, and writes them back the same way: Marshal returns
			// the bytes the publisher sent, which the packager parses.
			head, err := cd.IDHeader.Marshal()
			if err != nil {
				return t, fmt.Errorf("opus identification header: %w", err)
			}
			t.OpusHead = head
		}
	case *codecs.VP9:
		return t, unsupportedCodecError("VP9")
	case *codecs.FLAC:
		return t, unsupportedCodecError("FLAC")
	case *codecs.MPEG1Audio:
		return t, unsupportedCodecError("MP3")
	case *codecs.AC3:
		return t, unsupportedCodecError("AC-3")
	case *codecs.G711:
		return t, unsupportedCodecError("G.711")
	case *codecs.LPCM:
		return t, unsupportedCodecError("LPCM")
	default:
		// A codec newer than this adapter: without a callback its first
		// frame would crash gortmplib's Reader, so refuse the stream.
		return t, fmt.Errorf("unknown codec %T", codec)
	}
	if t.Kind() == ingest.KindVideo {
		t.Bitrate = an.videoRate
	} else {
		t.Bitrate = an.audioRate
	}
	return t, nil
}

// onFrames registers the callback that feeds st.
func (c *conn) onFrames(r *gortmplib.Reader, rt *gortmplib.Track, st *trackState) {
	switch st.codec {
	case ingest.CodecH264, ingest.CodecH265:
		cb := func(pts, dts time.Duration, au [][]byte) { c.videoFrame(st, pts, dts, au) }
		if st.codec == ingest.CodecH264 {
			r.OnDataH264(rt, cb)
		} else {
			r.OnDataH265(rt, cb)
		}
	case ingest.CodecAV1:
		r.OnDataAV1(rt, func(pts time.Duration, tu [][]byte) { c.av1Frame(st, pts, tu) })
	case ingest.CodecAAC:
		r.OnDataMPEG4Audio(rt, func(pts time.Duration, au []byte) { c.audioFrame(st, pts, au) })
	case ingest.CodecOpus:
		r.OnDataOpus(rt, func(pts time.Duration, pkt []byte) { c.audioFrame(st, pts, pkt) })
	}
}

// dropFrames registers a callback that discards the frames of rt.
func (c *conn) dropFrames(r *gortmplib.Reader, rt *gortmplib.Track) {
	drop := func(time.Duration, []byte) {}
	switch rt.Codec.(type) {
	case *codecs.VP9:
		r.OnDataVP9(rt, drop)
	case *codecs.FLAC:
		r.OnDataFLAC(rt, drop)
	case *codecs.MPEG1Audio:
		r.OnDataMPEG1Audio(rt, drop)
	case *codecs.AC3:
		r.OnDataAC3(rt, drop)
	case *codecs.G711:
		r.OnDataG711(rt, drop)
	case *codecs.LPCM:
		r.OnDataLPCM(rt, drop)
	}
}

// sequenceStart handles an E-RTMP sequence start that arrives after the
// probe: gortmplib's Reader ignores it, so new parameter sets (an encoder
// restart, a resolution change) go in front of the track's next frame, where
// the packager finds them.
func (ts *trackSet) sequenceStart(id uint8, m *message.VideoExSequenceStart) {
	st := ts.byVideoID[id]
	if st == nil {
		return
	}
	var params [][]byte
	switch {
	case m.FourCC == message.FourCCAVC && st.codec == ingest.CodecH264 && m.AVCConfig != nil:
		params = avcParams(m.AVCConfig)
	case m.FourCC == message.FourCCHEVC && st.codec == ingest.CodecH265 && m.HEVCConfig != nil:
		params = hevcParams(m.HEVCConfig)
	case m.FourCC == message.FourCCAV1 && st.codec == ingest.CodecAV1 && m.AV1Config != nil:
		if sh := av1SequenceHeader(m.AV1Config.ConfigOBUs); sh != nil {
			params = [][]byte{sh}
		}
	}
	st.newParams(params)
}

func avcParams(c *mp4.AVCDecoderConfiguration) [][]byte {
	var ps [][]byte
	for _, s := range c.SequenceParameterSets {
		ps = appendNALU(ps, s.NALUnit)
	}
	for _, s := range c.PictureParameterSets {
		ps = appendNALU(ps, s.NALUnit)
	}
	return ps
}

func hevcParams(c *mp4.HvcC) [][]byte {
	var ps [][]byte
	for _, typ := range []h265.NALUType{h265.NALUType_VPS_NUT, h265.NALUType_SPS_NUT, h265.NALUType_PPS_NUT} {
		for _, a := range c.NaluArrays {
			if a.NaluType != uint8(typ) {
				continue
			}
			for _, n := range a.Nalus {
				ps = appendNALU(ps, n.NALUnit)
			}
		}
	}
	return ps
}

func appendNALU(ps [][]byte, n []byte) [][]byte {
	if len(n) == 0 {
		return ps
	}
	return append(ps, bytes.Clone(n))
}

// describe is the codec list of the publish log line: "H264 640x360",
// "AAC 44100Hz 2ch".
func describe(t ingest.Track) string {
	var b strings.Builder
	b.WriteString(string(t.Codec))
	switch t.Codec {
	case ingest.CodecH264:
		var sps h264.SPS
		if sps.Unmarshal(t.SPS) == nil {
			fmt.Fprintf(&b, " %dx%d", sps.Width(), sps.Height())
		}
	case ingest.CodecH265:
		var sps h265.SPS
		if sps.Unmarshal(t.SPS) == nil {
			fmt.Fprintf(&b, " %dx%d", sps.Width(), sps.Height())
		}
	case ingest.CodecAV1:
		var sh av1.SequenceHeader
		if len(t.AV1SequenceHeader) > 0 && sh.Unmarshal(t.AV1SequenceHeader) == nil {
			fmt.Fprintf(&b, " %dx%d", sh.Width(), sh.Height())
		}
	case ingest.CodecAAC, ingest.CodecOpus:
		fmt.Fprintf(&b, " %dHz %dch", t.SampleRate, t.Channels)
	}
	return b.String()
}
