package stream

import (
	"bytes"
	"context"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/packager"
)

// The moq-rs layout's tracks appear when asked for: the init track holds
// both tracks (IDs 1 and 2), a media track starts with the CMAF track's
// current group, renumbered, and follows it; they end with the stream.
func TestMoqRSLayoutTracks(t *testing.T) {
	reg, origin := newTestRegistry(t, ingest.NewAuth(nil))
	p, err := reg.Publish(context.Background(), ingest.PublishRequest{Path: "live/cam1", Remote: "a", Tracks: testTracks()})
	require.NoError(t, err)
	ms := feed(t, p, 0, 2)
	bc, _ := origin.Lookup(moq.Namespace{"live", "cam1"})
	require.NotNil(t, bc)
	require.Nil(t, bc.Track(nil, "3.m4s"), "two tracks only")

	init := bc.Track(nil, packager.MoqRSInitTrack)
	require.NotNil(t, init)
	_, objs, ok := init.CurrentGroup()
	require.True(t, ok)
	require.Len(t, objs, 1)
	f, err := mp4.DecodeFile(bytes.NewReader(objs[0]))
	require.NoError(t, err)
	require.Len(t, f.Init.Moov.Traks, 2)
	require.NotNil(t, bc.Track(nil, packager.MoqRSCatalogTrack))

	video := bc.Track(nil, "1.m4s")
	audio := bc.Track(nil, "2.m4s")
	require.NotNil(t, video)
	require.NotNil(t, audio)
	g, objs, ok := video.CurrentGroup()
	require.True(t, ok)
	cg, cobjs, _ := bc.Track(nil, "video").CurrentGroup()
	require.Equal(t, cg, g)
	require.Len(t, objs, len(cobjs), "seeded with the current group")

	feed(t, p, ms, 1)
	g2, objs, _ := audio.CurrentGroup()
	require.Greater(t, g2, g)
	tid := func(chunk []byte) uint32 {
		f, err := mp4.DecodeFile(bytes.NewReader(chunk))
		require.NoError(t, err)
		return f.Segments[0].Fragments[0].Moof.Traf.Tfhd.TrackID
	}
	require.Equal(t, uint32(2), tid(objs[0]))
	_, vobjs, _ := video.CurrentGroup()
	require.Equal(t, uint32(1), tid(vobjs[0]))

	require.NoError(t, p.Close())
	reg.Close()
	require.True(t, video.Closed())
	require.True(t, init.Closed())
}
