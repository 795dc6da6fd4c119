package stream

import (
	"context"
	"encoding/hex"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/moq"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A 320x240 H.264 High profile SPS/PPS from x264, and AAC-LC 48 kHz stereo.
var (
	testSPS, _ = hex.DecodeString("6764000dacb20283f60220000003002000000781e28549")
	testPPS, _ = hex.DecodeString("68ebc3cb22c0")
	testASC    = []byte{0x11, 0x90}
)

func testTracks() []ingest.Track {
	return []ingest.Track{
		{Codec: ingest.CodecH264, Timescale: 1000, SPS: testSPS, PPS: testPPS},
		{Codec: ingest.CodecAAC, Timescale: 1000, AudioSpecificConfig: testASC, SampleRate: 48000, Channels: 2},
	}
}

// feed writes gops GOPs of 10 video frames at 30 fps (and the audio that
// goes with them) starting at ms, and returns the next ms.
func feed(t *testing.T, p ingest.Publication, ms int64, gops int) int64 {
	t.Helper()
	for f := range gops * 10 {
		key := f%10 == 0
		nal := []byte{0x41, 0x9a, 0x01, 0x02}
		if key {
			nal = []byte{0x65, 0x88, 0x84, 0x00}
		}
		require.NoError(t, p.WriteFrame(ingest.Frame{Track: 0, DTS: ms, PTS: ms, Keyframe: key, AU: [][]byte{nal}, Received: time.Now()}))
		require.NoError(t, p.WriteFrame(ingest.Frame{Track: 1, DTS: ms, PTS: ms, Keyframe: true, AU: [][]byte{{0x21, 0x10, 0x04}}, Received: time.Now()}))
		ms += 33
	}
	return ms
}

func newTestRegistry(t *testing.T, auth *ingest.Auth) (*Registry, *moq.Origin) {
	t.Helper()
	origin := moq.NewOrigin()
	reg := New(Config{Origin: origin, Auth: auth, Grace: 100 * time.Millisecond})
	t.Cleanup(reg.Close)
	return reg, origin
}

func largestGroup(t *testing.T, origin *moq.Origin, path, track string) uint64 {
	t.Helper()
	bc, _ := origin.Lookup(moq.Namespace(config.PathNamespace(path)))
	require.NotNil(t, bc, "broadcast %s", path)
	tr := bc.Track(nil, track)
	require.NotNil(t, tr, "track %s", track)
	l, ok := tr.Largest()
	require.True(t, ok)
	return l.Group
}

func TestPublishCreatesBroadcast(t *testing.T) {
	reg, origin := newTestRegistry(t, ingest.NewAuth(nil))
	p, err := reg.Publish(context.Background(), ingest.PublishRequest{Path: "live/cam1", Proto: "rtmp", Remote: "a", Tracks: testTracks()})
	require.NoError(t, err)
	feed(t, p, 0, 2)

	bc, _ := origin.Lookup(moq.Namespace{"live", "cam1"})
	require.NotNil(t, bc)
	for _, name := range []string{"catalog", "video", "audio"} {
		require.NotNil(t, bc.Track(nil, name), name)
	}
	require.Nil(t, bc.Track(nil, "subtitles"))
	info := reg.Streams()
	require.Len(t, info, 1)
	require.Equal(t, "live/cam1", info[0].Path)
	require.Equal(t, "a", info[0].Publisher)
	require.Equal(t, uint64(40), info[0].Frames)
}

func TestReplaceKeepsBroadcastAndGrowsGroups(t *testing.T) {
	reg, origin := newTestRegistry(t, ingest.NewAuth(nil))
	p1, err := reg.Publish(context.Background(), ingest.PublishRequest{Path: "live/cam1", Remote: "a", Tracks: testTracks()})
	require.NoError(t, err)
	feed(t, p1, 0, 2)
	bc1, _ := origin.Lookup(moq.Namespace{"live", "cam1"})
	g1 := largestGroup(t, origin, "live/cam1", "video")

	// The new publisher's clock starts at 0 again.
	p2, err := reg.Publish(context.Background(), ingest.PublishRequest{Path: "live/cam1", Remote: "b", Tracks: testTracks()})
	require.NoError(t, err)
	select {
	case <-p1.Done():
	default:
		t.Fatal("the replaced publication is not done")
	}
	require.ErrorIs(t, p1.WriteFrame(ingest.Frame{AU: [][]byte{{0x65}}}), ingest.ErrReplaced)
	feed(t, p2, 0, 2)
	bc2, _ := origin.Lookup(moq.Namespace{"live", "cam1"})
	require.Same(t, bc1, bc2)
	require.Greater(t, largestGroup(t, origin, "live/cam1", "video"), g1)
	require.Equal(t, 1, reg.Streams()[0].Replaced)
}

func TestRejectPolicy(t *testing.T) {
	auth := ingest.NewAuth([]ingest.PathRule{{Path: "live/*", Policy: ingest.PolicyReject}})
	reg, _ := newTestRegistry(t, auth)
	_, err := reg.Publish(context.Background(), ingest.PublishRequest{Path: "live/cam1", Tracks: testTracks()})
	require.NoError(t, err)
	_, err = reg.Publish(context.Background(), ingest.PublishRequest{Path: "live/cam1", Tracks: testTracks()})
	require.ErrorIs(t, err, ingest.ErrPathInUse)
}

func TestReconnectWithinGraceAndExpiry(t *testing.T) {
	reg, origin := newTestRegistry(t, ingest.NewAuth(nil))
	reg.cfg.Grace = 2 * time.Second
	p1, err := reg.Publish(context.Background(), ingest.PublishRequest{Path: "live/cam1", Tracks: testTracks()})
	require.NoError(t, err)
	feed(t, p1, 0, 1)
	bc1, _ := origin.Lookup(moq.Namespace{"live", "cam1"})
	g1 := largestGroup(t, origin, "live/cam1", "video")
	require.NoError(t, p1.Close())
	require.Empty(t, reg.Streams()[0].Publisher)

	p2, err := reg.Publish(context.Background(), ingest.PublishRequest{Path: "live/cam1", Tracks: testTracks()})
	require.NoError(t, err)
	feed(t, p2, 5000, 1)
	bc2, _ := origin.Lookup(moq.Namespace{"live", "cam1"})
	require.Same(t, bc1, bc2)
	require.Greater(t, largestGroup(t, origin, "live/cam1", "video"), g1)

	reg.cfg.Grace = 50 * time.Millisecond
	require.NoError(t, p2.Close())
	deadline := time.Now().Add(5 * time.Second)
	for {
		if bc, _ := origin.Lookup(moq.Namespace{"live", "cam1"}); bc == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "stream outlived its grace period")
		time.Sleep(10 * time.Millisecond)
	}
	require.Empty(t, reg.Streams())
	select {
	case <-bc1.Done():
	default:
		t.Fatal("broadcast not closed")
	}
}

// A subscriber that asks for a track the moment the broadcast appears (as
// relays do right after the announce) finds it: the publication's tracks
// are known before anyone can look the broadcast up.
func TestSubscribeRightAfterAnnounce(t *testing.T) {
	reg, origin := newTestRegistry(t, nil)
	ns := moq.Namespace(config.PathNamespace("live/cam1"))
	found := make(chan bool, 1)
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if bc, _ := origin.Lookup(ns); bc != nil {
				found <- bc.Track(nil, "video") != nil
				return
			}
			runtime.Gosched()
		}
		found <- false
	}()
	pub, err := reg.Publish(context.Background(), ingest.PublishRequest{Path: "live/cam1", Tracks: testTracks()})
	require.NoError(t, err)
	defer pub.Close()
	require.True(t, <-found, "video track found at the announce")
}
