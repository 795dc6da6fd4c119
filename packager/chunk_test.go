package packager

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

// mp4ffChunk encodes a one-sample chunk the mp4ff way.
func mp4ffChunk(t *testing.T, s chunkSample, data []byte) []byte {
	t.Helper()
	frag, err := mp4.CreateFragment(s.seq, cmafTrackID)
	require.NoError(t, err)
	frag.AddFullSample(mp4.FullSample{
		Sample:     mp4.NewSample(s.flags, s.dur, uint32(len(data)), s.cto),
		DecodeTime: s.decodeTime,
		Data:       data,
	})
	if s.prft != 0 {
		prft := mp4.CreatePrftBox(1, 0, cmafTrackID, mp4.NTP64(s.prft), s.decodeTime)
		frag.Prft = prft
		frag.Children = append([]mp4.Box{prft}, frag.Children...)
	}
	sw := bits.NewFixedSliceWriter(int(frag.Size()))
	require.NoError(t, frag.EncodeSW(sw))
	return sw.Bytes()
}

func TestChunkMatchesMP4FF(t *testing.T) {
	data := []byte{0, 0, 0, 3, 0x65, 0x88, 0x84}
	ntp := ntpTime(time.Date(2026, 9, 1, 12, 0, 0, 500_000_000, time.UTC))
	tests := []struct {
		name string
		s    chunkSample
	}{
		{"first keyframe", chunkSample{seq: 1, decodeTime: 0, dur: 3000, flags: syncSampleFlags}},
		{"b-frame negative cto", chunkSample{seq: 7, decodeTime: 123456, dur: 3003, flags: nonSyncSampleFlags, cto: -6006}},
		{"positive cto", chunkSample{seq: 8, decodeTime: 1 << 31, dur: 1, flags: nonSyncSampleFlags, cto: 9000}},
		{"largest 32-bit tfdt", chunkSample{seq: 9, decodeTime: 1<<32 - 1, dur: 1024, flags: syncSampleFlags}},
		{"64-bit tfdt", chunkSample{seq: 10, decodeTime: 1 << 32, dur: 1024, flags: syncSampleFlags}},
		{"wall-clock tfdt", chunkSample{seq: 1<<32 - 1, decodeTime: 161_240_000_000_000, dur: 960, flags: syncSampleFlags}},
		{"prft 32-bit tfdt", chunkSample{seq: 2, decodeTime: 90000, dur: 3000, flags: syncSampleFlags, prft: ntp}},
		{"prft 64-bit tfdt", chunkSample{seq: 3, decodeTime: 161_240_000_000_000, dur: 3000, flags: nonSyncSampleFlags, cto: 3000, prft: ntp}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			s.size = uint32(len(data))
			b := make([]byte, chunkHeaderLen(s.decodeTime, s.prft != 0)+len(data))
			n := putChunkHeader(b, &s)
			require.Equal(t, len(b)-len(data), n)
			copy(b[n:], data)

			require.Equal(t, mp4ffChunk(t, s, data), b, "bytes differ from mp4ff's")

			d := decodeChunk(t, b)
			require.Equal(t, s.seq, d.seq)
			require.Equal(t, s.decodeTime, d.decodeTime)
			require.Equal(t, s.dur, d.dur)
			require.Equal(t, s.cto, d.cto)
			require.Equal(t, s.flags == syncSampleFlags, d.sync)
			require.Equal(t, data, d.data)
			if s.prft != 0 {
				require.NotNil(t, d.prft)
				require.Equal(t, mp4.NTP64(s.prft), d.prft.NTPTimestamp)
				require.Equal(t, s.decodeTime, d.prft.MediaTime)
			}
		})
	}
}

func TestDurOffset(t *testing.T) {
	for _, prft := range []bool{false, true} {
		for _, dt := range []uint64{0, 1 << 40} {
			s := chunkSample{seq: 1, decodeTime: dt, dur: 0xdeadbeef, size: 0}
			if prft {
				s.prft = 1
			}
			b := make([]byte, chunkHeaderLen(dt, prft))
			putChunkHeader(b, &s)
			require.Equal(t, []byte{0xde, 0xad, 0xbe, 0xef}, b[durOffset(dt, prft):][:4])
		}
	}
}

func TestNTPTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want uint64
	}{
		{time.Unix(0, 0), ntpEpochOffset << 32},
		{time.Unix(1, 500_000_000), (ntpEpochOffset+1)<<32 | 1<<31},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ntpTime(tt.in))
		require.WithinDuration(t, tt.in, mp4.NTP64(ntpTime(tt.in)).Time(), time.Microsecond)
	}
}

// TestChunkPathsAgree packages the same frames through the scratch-and-
// append path and the plain make path and requires identical bytes.
func TestChunkPathsAgree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		frames := []ingest.Frame{
			{Track: 0, Keyframe: true, AU: [][]byte{aud, nal(0x06, 5000), h264SPS, h264PPS, idrSlice}}, // head beyond scratch
			{Track: 0, DTS: 40, PTS: 80, AU: [][]byte{nal(0x06, 30), pSlice, aud}},                     // trailing AUD
			{Track: 0, DTS: 80, PTS: 120, AU: [][]byte{pSlice}},
			{Track: 0, DTS: 120, PTS: 160, AU: [][]byte{h264SPS640, pSlice}}, // unknown SPS stays in band
			{Track: 1, DTS: 0, PTS: 0, AU: [][]byte{{1, 2}, {3, 4, 5}, {}}},
			{Track: 1, DTS: 21, PTS: 21, AU: [][]byte{{6}}},
		}
		run := func(scratch bool) []object {
			s, rec := newTestStream(t, Config{ProducerReferenceTime: true}, rtmpH264, rtmpAAC)
			if !scratch {
				s.scratch = nil
			}
			for _, f := range frames {
				f.Received = testEpoch
				require.NoError(t, s.WriteFrame(f))
			}
			return rec.objects
		}
		with, without := run(true), run(false)
		require.Equal(t, len(without), len(with))
		for i := range with {
			require.Equal(t, without[i].payload, with[i].payload, "object %d", i)
			if with[i].track != CatalogTrackName {
				require.Equal(t, len(with[i].payload), cap(with[i].payload), "object %d: no slack to write into", i)
			}
		}
		// The keyframe sample: SEI and IDR slice, the AUD and the parameter
		// sets the init segment holds left out.
		d := decodeChunk(t, with[1].payload)
		require.Equal(t, 4+5000+4+len(idrSlice), len(d.data))
	})
}
