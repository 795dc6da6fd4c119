package packager

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

func TestParseASC(t *testing.T) {
	tests := []struct {
		name    string
		asc     []byte
		want    ascInfo
		chans   int
		wantErr bool
	}{
		{"lc 44.1k mono", ascLC44m, ascInfo{objectType: 2, sampleRate: 44100, channelConfig: 1, frameSamples: 1024}, 1, false},
		{"lc 48k stereo", ascLC48s, ascInfo{objectType: 2, sampleRate: 48000, channelConfig: 2, frameSamples: 1024}, 2, false},
		// frameLengthFlag set: 960-sample frames (DAB+ style).
		{"lc 48k 960", []byte{0x11, 0x94}, ascInfo{objectType: 2, sampleRate: 48000, channelConfig: 2, frameSamples: 960}, 2, false},
		{"he-aac", ascHE24s, ascInfo{objectType: 5, sampleRate: 48000, channelConfig: 2, frameSamples: 2048}, 2, false},
		// HE-AACv2: 24 kHz mono core, parametric stereo makes two channels.
		{"he-aac v2", []byte{0xeb, 0x09, 0x88, 0x00}, ascInfo{objectType: 29, sampleRate: 48000, channelConfig: 1, frameSamples: 2048}, 2, false},
		{"lc 5.1", []byte{0x11, 0xb0}, ascInfo{objectType: 2, sampleRate: 48000, channelConfig: 6, frameSamples: 1024}, 6, false},
		// Explicit 24-bit rate (index 15).
		{"explicit rate", []byte{0x17, 0x80, 0x5d, 0xc0, 0x10}, ascInfo{objectType: 2, sampleRate: 48000, channelConfig: 2, frameSamples: 1024}, 2, false},
		{"ld", []byte{0xb9, 0x90}, ascInfo{objectType: 23, sampleRate: 48000, channelConfig: 2, frameSamples: 512}, 2, false},
		{"empty", nil, ascInfo{}, 0, true},
		{"truncated", []byte{0x12}, ascInfo{}, 0, true},
		{"reserved rate index", []byte{0x16, 0x88}, ascInfo{}, 0, true},
		{"unsupported object type", []byte{0x41, 0x90}, ascInfo{}, 0, true}, // 8: CELP
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseASC(tt.asc)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, a)
			require.Equal(t, tt.chans, a.channels())
		})
	}
}

func TestOpusPacketSamples(t *testing.T) {
	tests := []struct {
		name    string
		pkt     []byte
		want    uint32
		wantErr bool
	}{
		{"celt 20 ms", []byte{0xfc, 1, 2}, 960, false},      // config 31, code 0
		{"celt 2.5 ms", []byte{0x80}, 120, false},           // config 16
		{"silk 60 ms", []byte{0x18}, 2880, false},           // config 3
		{"hybrid 10 ms x2", []byte{0x61}, 960, false},       // config 12, code 1
		{"celt 20 ms x3", []byte{0xfb, 0x03}, 2880, false},  // code 3, 3 frames
		{"silk 60 ms x2", []byte{0x19}, 5760, false},        // 120 ms: the maximum
		{"too long", []byte{0xfb, 0x07}, 0, true},           // 140 ms
		{"code 3 without count", []byte{0xfb}, 0, true},     //
		{"code 3 zero frames", []byte{0xfb, 0x00}, 0, true}, //
		{"empty", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := opusPacketSamples(tt.pkt)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, n)
		})
	}
}

// opusHead51 is libopus's identification header for 5.1: family 1, four
// streams of which two coupled, pre-skip 312, input 48 kHz, gain -256.
var opusHead51 = []byte{
	'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 6,
	0x38, 0x01, // pre-skip 312, little-endian
	0x80, 0xbb, 0x00, 0x00, // 48000
	0x00, 0xff, // gain -256
	1, 4, 2, 0, 4, 1, 2, 3, 5,
}

func TestParseOpusHead(t *testing.T) {
	h, err := parseOpusHead(opusHead51)
	require.NoError(t, err)
	require.Equal(t, &opusHead{
		channels: 6, preSkip: 312, inputRate: 48000, outputGain: -256,
		family: 1, streams: 4, coupled: 2, mapping: []byte{0, 4, 1, 2, 3, 5},
	}, h)

	stereo := append([]byte("OpusHead"), 1, 2, 0x38, 0x01, 0x44, 0xac, 0, 0, 0, 0, 0)
	h, err = parseOpusHead(stereo)
	require.NoError(t, err)
	require.Equal(t, &opusHead{channels: 2, preSkip: 312, inputRate: 44100}, h)

	bad := map[string][]byte{
		"short":             opusHead51[:18],
		"signature":         append([]byte("OpusTags"), opusHead51[8:]...),
		"version 2.0":       append(append([]byte("OpusHead"), 0x20), opusHead51[9:]...),
		"no channels":       append(append([]byte("OpusHead"), 1, 0), opusHead51[10:]...),
		"family 0, 6 ch":    append(append([]byte("OpusHead"), 1, 6), stereo[10:]...),
		"table too short":   opusHead51[:len(opusHead51)-1],
		"no streams":        append(append([]byte(nil), opusHead51[:19]...), 0, 0, 0, 0, 0, 0, 0, 0),
		"coupled > streams": append(append([]byte(nil), opusHead51[:19]...), 1, 2, 0, 0, 0, 0, 0, 0),
		"mapping past end":  append(append([]byte(nil), opusHead51[:19]...), 4, 2, 0, 4, 1, 2, 3, 6),
	}
	for name, b := range bad {
		_, err := parseOpusHead(b)
		require.ErrorIs(t, err, errOpusHead, name)
	}
	// A bad header is the track's error, not a guess.
	_, err = newDecoderConfig(ingest.Track{Codec: ingest.CodecOpus, Timescale: 48000, Channels: 2, OpusHead: bad["no streams"]})
	require.ErrorIs(t, err, errOpusHead)
}
