package srt

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

// demuxed is what demuxing a TS byte stream produced.
type demuxed struct {
	tracks       []ingest.Track
	frames       []ingest.Frame
	lost, errors int
}

func demux(t *testing.T, data []byte) demuxed {
	t.Helper()
	var d demuxed
	tr := newTSReader(bytes.NewReader(data), func(int) {}, func(n int) { d.lost += n }, func(error) { d.errors++ })
	r := &mpegts.Reader{R: tr}
	require.NoError(t, r.Initialize())
	p := newProgram(r)
	d.tracks = p.Tracks
	p.write = func(f ingest.Frame) error {
		au := make([][]byte, len(f.AU))
		for i, n := range f.AU {
			au[i] = slices.Clone(n)
		}
		f.AU = au
		d.frames = append(d.frames, f)
		return nil
	}
	r.OnDecodeError(func(error) { d.errors++ })
	for {
		err := r.Read()
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			return d
		}
	}
}

func (d demuxed) track(i int) []ingest.Frame {
	var out []ingest.Frame
	for _, f := range d.frames {
		if f.Track == i {
			out = append(out, f)
		}
	}
	return out
}

func TestProgramTracks(t *testing.T) {
	p := newTSProgram(t)
	p.frame(t, 90000, 90000, true)
	p.frame(t, 93000, 93000, false)
	d := demux(t, p.buf.Bytes())

	require.Equal(t, []ingest.Track{
		{Codec: ingest.CodecH264, Timescale: 90000},
		{Codec: ingest.CodecAAC, Timescale: 90000, AudioSpecificConfig: []byte{0x11, 0x90}, SampleRate: 48000, Channels: 2},
		{Codec: ingest.CodecOpus, Timescale: 90000, SampleRate: 48000, Channels: 2},
	}, d.tracks)

	video := d.track(0)
	require.Len(t, video, 2)
	require.True(t, video[0].Keyframe)
	require.Equal(t, [][]byte{testSPS, testPPS, testIDR}, video[0].AU, "AUD stripped, parameter sets kept in band")
	require.False(t, video[1].Keyframe)
	require.Equal(t, [][]byte{testP}, video[1].AU)
	for _, f := range append(d.track(1), d.track(2)...) {
		require.True(t, f.Keyframe, "every audio frame is a random access point")
		require.Len(t, f.AU, 1)
	}
	require.Zero(t, d.errors)
	require.Zero(t, d.lost)
}

// TestProgramClockWrap crosses the 33-bit MPEG-TS clock: DTS keeps growing
// past 2^33, PTS keeps its offset from DTS even when PTS has wrapped and DTS
// not yet, and audio tracks land on the same timeline.
func TestProgramClockWrap(t *testing.T) {
	const (
		step   = 3000 // 30 fps at 90 kHz
		offset = 6000 // PTS−DTS of a stream with two B-frames
		start  = 1<<33 - 5*step
	)
	p := newTSProgram(t)
	for i := range 10 {
		dts := int64(start + i*step)
		p.frame(t, dts+offset, dts, i == 0)
	}
	d := demux(t, p.buf.Bytes())

	video := d.track(0)
	require.Len(t, video, 10)
	for i, f := range video {
		require.Equal(t, int64(start+i*step), f.DTS, "frame %d", i)
		require.Equal(t, f.DTS+offset, f.PTS, "frame %d", i)
	}
	require.Greater(t, video[9].DTS, int64(1<<33), "DTS unwrapped beyond 2^33")

	aac := d.track(1)
	require.Len(t, aac, 20)
	for i := range 10 {
		dts := int64(start + i*step)
		require.Equal(t, dts, aac[2*i].DTS)
		require.Equal(t, dts+1024*90000/48000, aac[2*i+1].DTS, "second AU of the PES follows by 1024 samples")
		require.Equal(t, aac[2*i].DTS, aac[2*i].PTS)
	}
	opus := d.track(2)
	require.Len(t, opus, 20)
	for i := range 10 {
		dts := int64(start + i*step)
		require.Equal(t, dts, opus[2*i].DTS)
		require.Equal(t, dts+960*90000/48000, opus[2*i+1].DTS, "second packet follows by 20 ms")
	}
}

func TestClockDiff(t *testing.T) {
	cases := []struct {
		a, b, want int64
	}{
		{a: 100, b: 40, want: 60},
		{a: 40, b: 100, want: -60},
		{a: 10, b: 1<<33 - 20, want: 30},  // a wrapped, b not
		{a: 1<<33 - 20, b: 10, want: -30}, // b wrapped, a not
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, clockDiff(tc.a, tc.b), "%d-%d", tc.a, tc.b)
	}
}

// FuzzDemux feeds arbitrary bytes through the whole receive path (packet
// alignment, demuxer, track mapping): it must never panic, and every frame
// must name a published track.
func FuzzDemux(f *testing.F) {
	p := newTSProgram(f)
	for i := range 3 {
		p.frame(f, int64(1<<33-3000+i*3000), int64(1<<33-6000+i*3000), i == 0)
	}
	f.Add(p.buf.Bytes())
	f.Add(p.buf.Bytes()[:3*tsPacketSize])
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := newTSReader(bytes.NewReader(data), func(int) {}, func(int) {}, func(error) {})
		r := &mpegts.Reader{R: tr}
		if err := r.Initialize(); err != nil {
			return
		}
		prog := newProgram(r)
		prog.write = func(f ingest.Frame) error {
			require.Less(t, f.Track, len(prog.Tracks))
			require.GreaterOrEqual(t, f.Track, 0)
			return nil
		}
		r.OnDecodeError(func(error) {})
		for r.Read() == nil {
		}
	})
}
