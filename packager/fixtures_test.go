package packager

import (
	"bytes"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

// Decoder configurations captured from ffmpeg 5.1 (libx264, libx265,
// libsvtav1, aac) for 320x240 test streams; fixed bytes keep the golden
// files independent of the installed encoders.
var (
	h264SPS   = mustHex("674d400deca0a0fd8088000003000800000301e078a14cb0")
	h264PPS   = mustHex("68ce0fc8")
	h265VPS   = mustHex("40010c01ffff01600000030090000003000003003c959409")
	h265SPS   = mustHex("42010101600000030090000003000003003ca00a080f16595952930bc05a020000030002000003003c10")
	h265PPS   = mustHex("4401c073c189")
	av1SeqOBU = mustHex("0a0b000000043cffbcfbf90040")
	ascLC44m  = mustHex("1208")     // AAC-LC, 44.1 kHz, mono
	ascLC48s  = mustHex("1190")     // AAC-LC, 48 kHz, stereo
	ascHE24s  = mustHex("2b118800") // HE-AAC, 24 kHz core, 48 kHz output, stereo
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Tracks as adapters declare them.
var (
	rtmpH264 = ingest.Track{Codec: ingest.CodecH264, Timescale: 1000, SPS: h264SPS, PPS: h264PPS}
	tsH264   = ingest.Track{Codec: ingest.CodecH264, Timescale: 90000}
	rtmpAAC  = ingest.Track{Codec: ingest.CodecAAC, Timescale: 1000, AudioSpecificConfig: ascLC48s}
	tsAAC44  = ingest.Track{Codec: ingest.CodecAAC, Timescale: 90000, AudioSpecificConfig: ascLC44m}
	rtpOpus  = ingest.Track{Codec: ingest.CodecOpus, Timescale: 48000, SampleRate: 48000, Channels: 2}
)

// testEpoch is the wall clock of the tests, which run in a synctest
// bubble: its fake clock starts there and moves only when they sleep.
var testEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// object is one delivered object.
type object struct {
	track         string
	group, object uint64
	payload       []byte
}

// recorder is an Output that keeps everything.
type recorder struct {
	mu      sync.Mutex
	objects []object
	ended   []string
}

func (r *recorder) Object(track string, group, obj uint64, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.objects = append(r.objects, object{track, group, obj, payload})
}

func (r *recorder) EndTrack(track string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, track)
}

// track returns the objects of one track in delivery order.
func (r *recorder) track(name string) []object {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []object
	for _, o := range r.objects {
		if o.track == name {
			out = append(out, o)
		}
	}
	return out
}

// catalogs returns the parsed catalog versions.
func (r *recorder) catalogs(t *testing.T) []*Catalog {
	t.Helper()
	var out []*Catalog
	for _, o := range r.track(CatalogTrackName) {
		require.Zero(t, o.object)
		c, err := ParseCatalog(o.payload)
		require.NoError(t, err)
		out = append(out, c)
	}
	return out
}

// decodedSample is a chunk decoded back with mp4ff.
type decodedSample struct {
	seq        uint32
	decodeTime uint64
	dur        uint32
	cto        int32
	sync       bool
	data       []byte
	prft       *mp4.PrftBox
}

// decodeChunk decodes one CMAF chunk with mp4ff and checks it holds exactly
// one sample of track 1.
func decodeChunk(t *testing.T, b []byte) decodedSample {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	require.NoError(t, err)
	require.Len(t, f.Segments, 1)
	require.Len(t, f.Segments[0].Fragments, 1)
	frag := f.Segments[0].Fragments[0]
	require.Len(t, frag.Moof.Trafs, 1)
	require.EqualValues(t, 1, frag.Moof.Traf.Tfhd.TrackID)
	samples, err := frag.GetFullSamples(nil)
	require.NoError(t, err)
	require.Len(t, samples, 1)
	s := samples[0]
	var prft *mp4.PrftBox
	for _, c := range f.Children {
		if p, ok := c.(*mp4.PrftBox); ok {
			prft = p
		}
	}
	return decodedSample{
		seq:        frag.Moof.Mfhd.SequenceNumber,
		decodeTime: s.DecodeTime,
		dur:        s.Dur,
		cto:        s.CompositionTimeOffset,
		sync:       s.IsSync(),
		data:       s.Data,
		prft:       prft,
	}
}
