package packager

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

// fuzzCodecs are the codecs a fuzz input's first byte selects from.
var fuzzCodecs = []ingest.Codec{ingest.CodecH264, ingest.CodecH265, ingest.CodecAV1, ingest.CodecAAC, ingest.CodecOpus}

// splitUnits cuts fuzz data into units: a length byte, then that many bytes.
func splitUnits(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := min(int(b[0]), len(b)-1)
		out = append(out, b[1:1+n])
		b = b[1+n:]
	}
	return out
}

// joinUnits is the inverse of splitUnits, for seeds.
func joinUnits(units ...[]byte) []byte {
	var b []byte
	for _, u := range units {
		b = append(b, byte(len(u)))
		b = append(b, u...)
	}
	return b
}

// FuzzDecoderConfig feeds codec configuration (parameter sets, sequence
// headers, AudioSpecificConfig, Opus channel counts) to the code that turns
// it into an init segment. Whatever is accepted must yield an init segment
// mp4ff decodes.
func FuzzDecoderConfig(f *testing.F) {
	f.Add(byte(0), h264SPS, h264PPS, []byte(nil))
	f.Add(byte(1), h265SPS, h265PPS, h265VPS)
	f.Add(byte(2), av1SeqOBU, []byte(nil), []byte(nil))
	f.Add(byte(2), append([]byte{0x81, 0, 0x0c, 0}, av1SeqOBU...), []byte(nil), []byte(nil))
	f.Add(byte(3), ascLC48s, []byte(nil), []byte(nil))
	f.Add(byte(3), ascHE24s, []byte(nil), []byte(nil))
	f.Add(byte(3), []byte{0x17, 0x80, 0x5d, 0xc0, 0x10}, []byte(nil), []byte(nil))
	f.Add(byte(4), []byte{6}, []byte(nil), []byte(nil))
	f.Add(byte(4), []byte{2}, []byte(nil), opusHead51)
	f.Fuzz(func(t *testing.T, sel byte, a, b, c []byte) {
		codec := fuzzCodecs[int(sel)%len(fuzzCodecs)]
		tr := ingest.Track{Codec: codec, Timescale: 90000}
		switch codec {
		case ingest.CodecH264:
			tr.SPS, tr.PPS = a, b
		case ingest.CodecH265:
			tr.SPS, tr.PPS, tr.VPS = a, b, c
		case ingest.CodecAV1:
			tr.AV1SequenceHeader = a
		case ingest.CodecAAC:
			tr.AudioSpecificConfig = a
			tr.Channels = len(b)
		case ingest.CodecOpus:
			if len(a) > 0 {
				tr.Channels = int(a[0])
			}
			tr.SampleRate = len(b) * 1000
			tr.OpusHead = c
		}
		cfg, err := newDecoderConfig(tr)
		if err != nil {
			return
		}
		require.NotEmpty(t, cfg.codecString)
		require.NotZero(t, cfg.timescale)
		file, err := mp4.DecodeFile(bytes.NewReader(cfg.init))
		require.NoError(t, err)
		require.Len(t, file.Moov.Traks, 1)
		require.Equal(t, cfg.timescale, file.Moov.Trak.Mdia.Mdhd.Timescale)
	})
}

// FuzzInbandParamSets feeds access units to the in-band parameter set
// extraction that MPEG-TS and RTSP sources depend on.
func FuzzInbandParamSets(f *testing.F) {
	f.Add(byte(0), joinUnits(aud, h264SPS, h264PPS, nal(0x65, 20)))
	f.Add(byte(0), joinUnits(h264SPS640, h264PPS, nal(0x65, 20)))
	f.Add(byte(1), joinUnits(h265VPS, h265SPS, h265PPS, nal(0x26, 20)))
	f.Add(byte(2), joinUnits([]byte{0x12, 0}, av1SeqOBU, []byte{0x32, 1, 0x10}))
	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		codec := fuzzCodecs[int(sel)%3]
		au := splitUnits(data)
		ps, err := inbandParamSets(codec, au)
		if err != nil {
			return
		}
		base, err := newDecoderConfig(map[ingest.Codec]ingest.Track{
			ingest.CodecH264: rtmpH264,
			ingest.CodecH265: {Codec: ingest.CodecH265, VPS: h265VPS, SPS: h265SPS, PPS: h265PPS},
			ingest.CodecAV1:  {Codec: ingest.CodecAV1, AV1SequenceHeader: av1SeqOBU},
		}[codec])
		require.NoError(t, err)
		for _, b := range []*decoderConfig{{codec: codec}, base} {
			cfg, err := b.withParamSets(&ps)
			if err != nil {
				continue
			}
			require.True(t, cfg.complete())
			require.False(t, hasNewParamSets(codec, au, cfg), "the new configuration holds every in-band set")
			_, err = mp4.DecodeFile(bytes.NewReader(cfg.init))
			require.NoError(t, err)
		}
	})
}

// FuzzParseCatalog checks that catalog decoding never panics and that
// what it accepts survives a round trip.
func FuzzParseCatalog(f *testing.F) {
	s, rec := newTestStreamF(f)
	writeAllF(f, s, interleave(gopFrames(0, 2, 15), aacFrames(1, 3, 48000, 34)))
	for _, o := range rec.track(CatalogTrackName) {
		f.Add(o.payload)
	}
	f.Add([]byte(`{"version":1,"tracks":[{"name":"v","packaging":"cmaf","initData":"AAAA"}]}`))
	f.Add([]byte(`{"version":"draft-01","generatedAt":1,"deltaUpdate":[{"op":"add"}]}`))
	f.Add([]byte(`{"version":"draft-02","isComplete":true,"tracks":[],"x":{"y":[1,2]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCatalog(b)
		if err != nil {
			return
		}
		for i := range c.Tracks {
			_, _ = c.Init(&c.Tracks[i])
		}
		again, err := json.Marshal(c)
		require.NoError(t, err)
		c2, err := ParseCatalog(again)
		require.NoError(t, err, "%s", again)
		require.Equal(t, c, c2)
	})
}

// FuzzWriteFrame drives a Muxer with arbitrary frames on tracks of every
// codec, some with configuration only in band: nothing may panic, and every
// object delivered must be a CMAF chunk mp4ff decodes.
func FuzzWriteFrame(f *testing.F) {
	seed := func(track, flags byte, dts uint32, units ...[]byte) []byte {
		b := []byte{track, flags}
		b = binary.BigEndian.AppendUint32(b, dts)
		u := joinUnits(units...)
		return append(append(b, byte(len(u))), u...)
	}
	f.Add(bytes.Join([][]byte{
		seed(0, 1, 0, nal(0x65, 30)),
		seed(0, 0, 3000, nal(0x41, 10)),
		seed(1, 1, 0, h265VPS, h265SPS, h265PPS, nal(0x26, 10)),
		seed(2, 1, 0, []byte{0x12, 0}, av1SeqOBU, []byte{0x30, 0x10, 0x20}),
		seed(3, 1, 100, []byte{0x21, 0x10}),
		seed(4, 1, 200, []byte{0xfc, 1}),
		seed(0, 1, 6000, aud, h264SPS640, h264PPS, nal(0x65, 30)),
	}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec := &recorder{}
		s := New(Config{FirstGroupID: 1, ExactDurations: len(data)%2 == 1, ProducerReferenceTime: true}, rec)
		require.NoError(t, s.SetTracks([]ingest.Track{
			rtmpH264,
			{Codec: ingest.CodecH265, Timescale: 90000},
			{Codec: ingest.CodecAV1, Timescale: 90000},
			tsAAC44,
			rtpOpus,
		}))
		for len(data) >= 7 {
			tr, flags := int(data[0]%6), data[1]
			dts := int64(binary.BigEndian.Uint32(data[2:]))
			if flags&2 != 0 {
				dts = -dts
			}
			n := min(int(data[6]), len(data)-7)
			au := splitUnits(data[7 : 7+n])
			data = data[7+n:]
			_ = s.WriteFrame(ingest.Frame{Track: tr, DTS: dts, PTS: dts + int64(flags>>2)*100, Keyframe: flags&1 != 0, AU: au})
			if flags == 0xff {
				require.NoError(t, s.SetTracks([]ingest.Track{tsH264, rtmpAAC}))
			}
		}
		s.Close()
		for _, o := range rec.objects {
			if o.track == CatalogTrackName {
				_, err := ParseCatalog(o.payload)
				require.NoError(t, err)
				continue
			}
			file, err := mp4.DecodeFile(bytes.NewReader(o.payload))
			require.NoError(t, err)
			require.Len(t, file.Segments, 1)
		}
	})
}

func newTestStreamF(f *testing.F) (*Muxer, *recorder) {
	rec := &recorder{}
	s := New(Config{FirstGroupID: 1}, rec)
	if err := s.SetTracks([]ingest.Track{rtmpH264, rtmpAAC}); err != nil {
		f.Fatal(err)
	}
	return s, rec
}

func writeAllF(f *testing.F, s *Muxer, frames []ingest.Frame) {
	for _, fr := range frames {
		if err := s.WriteFrame(fr); err != nil {
			f.Fatal(err)
		}
	}
}
