package packager

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// initCases are the decoder configurations with golden init segments.
var initCases = []struct {
	name       string
	track      ingest.Track
	codec      string
	timescale  uint32
	width      int
	height     int
	channels   int
	entry      string // sample entry type
	frameSamps uint32
}{
	{"h264", rtmpH264, "avc1.4D400D", videoTimescale, 320, 240, 0, "avc1", 0},
	{
		"h265",
		ingest.Track{Codec: ingest.CodecH265, Timescale: 90000, VPS: h265VPS, SPS: h265SPS, PPS: h265PPS},
		"hvc1.1.6.L60.90", videoTimescale, 320, 240, 0, "hvc1", 0,
	},
	{
		"av1",
		ingest.Track{Codec: ingest.CodecAV1, Timescale: 90000, AV1SequenceHeader: av1SeqOBU},
		"av01.0.00M.08.0.110.02.02.02.0", videoTimescale, 320, 240, 0, "av01", 0,
	},
	{"aac-lc-44k-mono", tsAAC44, "mp4a.40.2", 44100, 0, 0, 1, "mp4a", 1024},
	{"aac-lc-48k-stereo", rtmpAAC, "mp4a.40.2", 48000, 0, 0, 2, "mp4a", 1024},
	{
		"he-aac-48k-stereo",
		ingest.Track{Codec: ingest.CodecAAC, Timescale: 1000, AudioSpecificConfig: ascHE24s},
		"mp4a.40.5", 48000, 0, 0, 2, "mp4a", 2048,
	},
	{"opus-stereo", rtpOpus, "opus", 48000, 0, 0, 2, "Opus", 0},
	{"opus-5.1", ingest.Track{Codec: ingest.CodecOpus, Timescale: 48000, Channels: 6}, "opus", 48000, 0, 0, 6, "Opus", 0},
}

func TestGoldenInit(t *testing.T) {
	for _, tt := range initCases {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newDecoderConfig(tt.track)
			require.NoError(t, err)
			require.Equal(t, tt.codec, c.codecString)
			require.Equal(t, tt.timescale, c.timescale)
			require.Equal(t, tt.width, c.width)
			require.Equal(t, tt.height, c.height)
			require.Equal(t, tt.frameSamps, c.frameSamples)
			if tt.channels > 0 {
				require.Equal(t, tt.channels, c.channels)
			}

			ext := ".cmfv"
			if tt.track.Kind() == ingest.KindAudio {
				ext = ".cmfa"
			}
			golden := filepath.Join("testdata", "init-"+tt.name+ext)
			if *update {
				require.NoError(t, os.WriteFile(golden, c.init, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./packager -run Golden -update")
			require.Equal(t, want, c.init, "init segment differs from %s", golden)

			checkInit(t, c.init, tt.entry, tt.timescale, tt.channels)
		})
	}
}

// checkInit decodes an init segment with mp4ff and checks its structure.
func checkInit(t *testing.T, b []byte, entry string, timescale uint32, channels int) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	require.NoError(t, err)
	require.NotNil(t, f.Init)
	require.Equal(t, "cmfc", f.Ftyp.MajorBrand())
	require.Contains(t, f.Ftyp.CompatibleBrands(), "cmfc")
	require.Len(t, f.Moov.Traks, 1)
	trak := f.Moov.Trak
	require.EqualValues(t, 1, trak.Tkhd.TrackID)
	require.Equal(t, timescale, trak.Mdia.Mdhd.Timescale)
	require.NotNil(t, f.Moov.Mvex)
	require.Nil(t, f.Moov.Mvex.Mehd)
	stsd := trak.Mdia.Minf.Stbl.Stsd
	require.Len(t, stsd.Children, 1)
	require.Equal(t, entry, stsd.Children[0].Type())
	switch entry {
	case "mp4a":
		require.EqualValues(t, channels, stsd.Mp4a.ChannelCount)
		require.NotNil(t, stsd.Mp4a.Esds)
	case "Opus":
		require.EqualValues(t, channels, stsd.Opus.ChannelCount)
		dops, ok := stsd.Opus.Children[0].(*mp4.DopsBox)
		require.True(t, ok)
		require.EqualValues(t, channels, dops.OutputChannelCount)
	}
}

func TestDecoderConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		track ingest.Track
		none  bool // errNoDecoderConfig: to be taken in band
	}{
		{"h264 without parameter sets", tsH264, true},
		{"h264 without pps", ingest.Track{Codec: ingest.CodecH264, SPS: h264SPS}, true},
		{"h265 without vps", ingest.Track{Codec: ingest.CodecH265, SPS: h265SPS, PPS: h265PPS}, true},
		{"av1 without sequence header", ingest.Track{Codec: ingest.CodecAV1}, true},
		{"aac without config", ingest.Track{Codec: ingest.CodecAAC}, true},
		{"h264 garbage sps", ingest.Track{Codec: ingest.CodecH264, SPS: []byte{0x67, 0xff}, PPS: h264PPS}, false},
		{"h265 garbage sps", ingest.Track{Codec: ingest.CodecH265, VPS: h265VPS, SPS: []byte{0x42, 1}, PPS: h265PPS}, false},
		{"av1 not an obu", ingest.Track{Codec: ingest.CodecAV1, AV1SequenceHeader: []byte{0x12, 0}}, false},
		{"aac short config", ingest.Track{Codec: ingest.CodecAAC, AudioSpecificConfig: []byte{0x12}}, false},
		{"aac pce without channels", ingest.Track{Codec: ingest.CodecAAC, AudioSpecificConfig: []byte{0x12, 0x00}}, false},
		{"opus without channels", ingest.Track{Codec: ingest.CodecOpus}, false},
		{"opus 9 channels", ingest.Track{Codec: ingest.CodecOpus, Channels: 9}, false},
		{"unknown codec", ingest.Track{Codec: "MP3"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newDecoderConfig(tt.track)
			require.Error(t, err)
			require.Equal(t, tt.none, errors.Is(err, errNoDecoderConfig), "err = %v", err)
		})
	}
}

func TestAV1ConfigRecord(t *testing.T) {
	// Enhanced RTMP sends an AV1CodecConfigurationRecord instead of the OBU.
	rec := append([]byte{0x81, 0x00, 0x0c, 0x00}, av1SeqOBU...)
	a, err := newDecoderConfig(ingest.Track{Codec: ingest.CodecAV1, Timescale: 1000, AV1SequenceHeader: rec})
	require.NoError(t, err)
	b, err := newDecoderConfig(ingest.Track{Codec: ingest.CodecAV1, Timescale: 1000, AV1SequenceHeader: av1SeqOBU})
	require.NoError(t, err)
	require.True(t, a.same(b))
}
