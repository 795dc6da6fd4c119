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
	// atClose counts the frames handed on only when the publisher closed.
	atClose int
}

func demux(t *testing.T, data []byte) demuxed {
	t.Helper()
	var d demuxed
	prog, err := runDemux(data,
		func(f ingest.Frame) error {
			au := make([][]byte, len(f.AU))
			for i, n := range f.AU {
				au[i] = slices.Clone(n)
			}
			f.AU = au
			d.frames = append(d.frames, f)
			return nil
		},
		func(n int) { d.lost += n },
		func(error) { d.errors++ },
	)
	require.ErrorIs(t, err, io.EOF)
	// The publisher closed the connection: the PES in hand is whole.
	n := len(d.frames)
	require.NoError(t, prog.end())
	d.atClose = len(d.frames) - n
	d.tracks = prog.Tracks
	return d
}

// runDemux is the connection's receive path without the network: probe with
// mediacommon, replay, demux to the end of data. What the close hands on
// is left to the caller (program.end).
func runDemux(data []byte, write func(ingest.Frame) error, onLost func(int), onError func(error)) (*program, error) {
	tr := newTSReader(bytes.NewReader(data), func(int) {}, onError)
	r := &mpegts.Reader{R: tr}
	if err := r.Initialize(); err != nil {
		return nil, err
	}
	probed := tr.endProbe()
	prog := newProgram(r.Tracks())
	prog.write, prog.onLost, prog.onError = write, onLost, onError
	for pkt := range slices.Chunk(probed, tsPacketSize) {
		if err := prog.packet(pkt); err != nil {
			return prog, err
		}
	}
	for {
		pkt, err := tr.next()
		if err != nil {
			return prog, err
		}
		if err := prog.packet(pkt); err != nil {
			return prog, err
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
	p.frame(t, 96000, 96000, false)
	d := demux(t, p.buf.Bytes())

	require.Equal(t, []ingest.Track{
		{Codec: ingest.CodecH264, Timescale: 90000},
		{Codec: ingest.CodecAAC, Timescale: 90000, AudioSpecificConfig: []byte{0x11, 0x90}, SampleRate: 48000, Channels: 2},
		{Codec: ingest.CodecOpus, Timescale: 90000, SampleRate: 48000, Channels: 2},
	}, d.tracks)

	video := d.track(0)
	require.Len(t, video, 3, "a video PES states no length and ends in a stuffed packet")
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
	for i := range 11 {
		dts := int64(start + i*step)
		p.frame(t, dts+offset, dts, i == 0)
	}
	d := demux(t, p.buf.Bytes())

	video := d.track(0)
	require.Len(t, video, 11)
	for i, f := range video {
		require.Equal(t, int64(start+i*step), f.DTS, "frame %d", i)
		require.Equal(t, f.DTS+offset, f.PTS, "frame %d", i)
	}
	require.Greater(t, video[9].DTS, int64(1<<33), "DTS unwrapped beyond 2^33")

	aac := d.track(1)
	require.Len(t, aac, 22)
	for i := range 10 {
		dts := int64(start + i*step)
		require.Equal(t, dts, aac[2*i].DTS)
		require.Equal(t, dts+1024*90000/48000, aac[2*i+1].DTS, "second AU of the PES follows by 1024 samples")
		require.Equal(t, aac[2*i].DTS, aac[2*i].PTS)
	}
	opus := d.track(2)
	require.Len(t, opus, 22)
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
		var prog *program
		write := func(f ingest.Frame) error {
			require.Less(t, f.Track, len(prog.Tracks))
			require.GreaterOrEqual(t, f.Track, 0)
			require.NotEmpty(t, f.AU)
			for _, n := range f.AU {
				require.NotEmpty(t, n)
			}
			return nil
		}
		tr := newTSReader(bytes.NewReader(data), func(int) {}, func(error) {})
		r := &mpegts.Reader{R: tr}
		if err := r.Initialize(); err != nil {
			return
		}
		probed := tr.endProbe()
		prog = newProgram(r.Tracks())
		prog.write = write
		for pkt := range slices.Chunk(probed, tsPacketSize) {
			require.NoError(t, prog.packet(pkt))
		}
		for {
			pkt, err := tr.next()
			if err != nil {
				require.NoError(t, prog.end())
				return
			}
			require.NoError(t, prog.packet(pkt))
		}
	})
}

// BenchmarkDemux measures the receive path after the network (alignment,
// continuity check, demux, track mapping) on a 4 Mb/s-like program: 16 KiB
// video frames at 30 fps with AAC and Opus.
func BenchmarkDemux(b *testing.B) {
	p := newTSProgram(b)
	big := append([]byte{0x41}, bytes.Repeat([]byte{0xAB}, 16<<10)...)
	const n = 300
	for i := range n {
		dts := int64(900000 + i*3000)
		au := [][]byte{big}
		if i%30 == 0 {
			au = [][]byte{testSPS, testPPS, append([]byte{0x65}, big[1:]...)}
		}
		require.NoError(b, p.w.WriteH264(p.video, dts+3000, dts, au))
		require.NoError(b, p.w.WriteMPEG4Audio(p.aac, dts, [][]byte{testAAC, testAAC}))
		require.NoError(b, p.w.WriteOpus(p.opus, dts, [][]byte{testOpus, testOpus}))
	}
	data := p.buf.Bytes()
	frames := 0
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		_, err := runDemux(data, func(ingest.Frame) error {
			frames++
			return nil
		}, func(int) {}, func(error) {})
		require.ErrorIs(b, err, io.EOF)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
}
