package sub

import (
	"bytes"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/packager"
)

func testInit(t *testing.T, kind string, timescale uint32) []byte {
	t.Helper()
	seg := mp4.CreateEmptyInit()
	seg.AddEmptyTrack(timescale, kind, "und")
	var b bytes.Buffer
	require.NoError(t, seg.Encode(&b))
	return b.Bytes()
}

// A moq-rs init track's ftyp+moov splits into one init segment per track,
// each keeping its track ID and naming its kind.
func TestSplitInit(t *testing.T) {
	combined, err := packager.MoqRSInit([]packager.TrackInfo{
		{Name: "video", Kind: ingest.KindVideo, Init: testInit(t, "video", 90000)},
		{Name: "audio", Kind: ingest.KindAudio, Init: testInit(t, "audio", 48000)},
	})
	require.NoError(t, err)
	inits, err := splitInit(combined)
	require.NoError(t, err)
	require.Len(t, inits, 2)
	for i, want := range []struct {
		kind      string
		timescale uint32
	}{{"video", 90000}, {"audio", 48000}} {
		require.Equal(t, uint32(i+1), inits[i].id)
		require.Equal(t, want.kind, inits[i].kind)
		f, err := mp4.DecodeFile(bytes.NewReader(inits[i].init))
		require.NoError(t, err)
		require.Len(t, f.Init.Moov.Traks, 1)
		require.Equal(t, uint32(i+1), f.Init.Moov.Trak.Tkhd.TrackID)
		require.Equal(t, want.timescale, f.Init.Moov.Trak.Mdia.Mdhd.Timescale)
		require.Len(t, f.Init.Moov.Mvex.Trexs, 1)
		require.Equal(t, uint32(i+1), f.Init.Moov.Mvex.Trex.TrackID)
	}
	_, err = splitInit([]byte("not an mp4"))
	require.Error(t, err)
}
