package sub

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

type bufCloser struct{ bytes.Buffer }

func (*bufCloser) Close() error { return nil }

// TestTrackFileOrder: groups that arrive interleaved on parallel streams
// are written whole, in group order, each object once.
func TestTrackFileOrder(t *testing.T) {
	obj := func(g, o uint64) moq.Object {
		return moq.Object{Group: g, ID: o, Payload: fmt.Appendf(nil, "[%d.%d]", g, o)}
	}
	eog := func(g, o uint64) moq.Object { return moq.Object{Group: g, ID: o, Status: wire.StatusEndOfGroup} }
	cases := []struct {
		name   string
		arrive []moq.Object
	}{
		{"in order", []moq.Object{obj(1, 0), obj(1, 1), eog(1, 2), obj(2, 0), obj(2, 1), eog(2, 2), obj(3, 0), obj(3, 1)}},
		{"second group first", []moq.Object{obj(2, 0), obj(1, 0), obj(2, 1), obj(1, 1), eog(1, 2), obj(3, 0), eog(2, 2), obj(3, 1)}},
		{"three at once", []moq.Object{obj(3, 0), obj(1, 0), obj(2, 0), obj(1, 1), obj(3, 1), obj(2, 1), eog(2, 2), eog(1, 2)}},
		// A relay's Largest Object subscription starts after the newest
		// object: the file starts at the next group's keyframe.
		{"joined mid-group", []moq.Object{obj(0, 5), obj(0, 6), eog(0, 7), obj(1, 0), obj(1, 1), eog(1, 2), obj(2, 0), obj(2, 1), eog(2, 2), obj(3, 0), obj(3, 1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bufCloser
			tf := &trackFile{name: "video", init: []byte("init;")}
			tf.f = &out
			tf.files = 1
			_, _ = out.Write(tf.init)
			for _, o := range tc.arrive {
				require.NoError(t, tf.add(o))
			}
			require.NoError(t, tf.close())
			require.Equal(t, "init;[1.0][1.1][2.0][2.1][3.0][3.1]", out.String())
		})
	}
}

// chunk is a CMAF chunk as the gateway writes one: prft, then moof (tfdt
// version 1) and mdat with one sample at decode time dts.
func chunk(t *testing.T, dts uint64) []byte {
	t.Helper()
	frag, err := mp4.CreateFragment(1, 1)
	require.NoError(t, err)
	frag.AddFullSample(mp4.FullSample{Sample: mp4.Sample{Flags: mp4.SyncSampleFlags, Dur: 3000, Size: 4}, DecodeTime: dts, Data: []byte("abcd")})
	frag.Moof.Traf.Tfdt.Version = 1
	var b bytes.Buffer
	prft := &mp4.PrftBox{Version: 1, NTPTimestamp: 1 << 40, MediaTime: dts}
	require.NoError(t, prft.Encode(&b))
	require.NoError(t, frag.Encode(&b))
	return b.Bytes()
}

func decodeTimes(t *testing.T, c []byte) (tfdt, prft uint64) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(c))
	require.NoError(t, err)
	for _, b := range f.Children {
		switch b := b.(type) {
		case *mp4.PrftBox:
			prft = b.MediaTime
		case *mp4.MoofBox:
			tfdt = b.Traf.Tfdt.BaseMediaDecodeTime()
			samples, err := f.Segments[0].Fragments[0].GetFullSamples(nil)
			require.NoError(t, err)
			require.Equal(t, []byte("abcd"), samples[0].Data, "trun's data offset still finds the sample")
		}
	}
	return tfdt, prft
}

// TestTrackFileRebase: files start at 0 (the gateway's decode times are
// the wall clock), with the tracks of one recording rebased by one start so
// they keep their offsets, prft's media time with them.
func TestTrackFileRebase(t *testing.T) {
	const epoch = 1_796_290_055 * 90000 // seconds since 1970 at 90 kHz
	tb := newTimeBase()
	tb.expect(2)
	video := &trackFile{tb: tb, timescale: 90000}
	audio := &trackFile{tb: tb, timescale: 48000}
	done := make(chan []byte)
	go func() { done <- audio.rebase(chunk(t, epoch/90000*48000+960)) }() // 20 ms later
	first := video.rebase(chunk(t, epoch))
	tfdt, prft := decodeTimes(t, first)
	require.Zero(t, tfdt)
	require.Zero(t, prft)
	tfdt, prft = decodeTimes(t, <-done)
	require.Equal(t, uint64(960), tfdt, "audio keeps its 20 ms offset")
	require.Equal(t, uint64(960), prft)
	tfdt, _ = decodeTimes(t, video.rebase(chunk(t, epoch+3000)))
	require.Equal(t, uint64(3000), tfdt)
	require.Len(t, video.rebase(chunk(t, epoch+3000)), len(chunk(t, epoch+3000)))
	require.Equal(t, []byte("not a chunk"), video.rebase([]byte("not a chunk")))
}
