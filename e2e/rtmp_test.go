//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

// requireClipTracks checks the video and audio files a subscriber wrote
// against the test clip: codec, resolution, and frame counts within one
// GOP of what was sent (minus skipped frames the caller expects).
func requireClipTracks(t *testing.T, dir string, minVideo int) {
	t.Helper()
	v := probe(t, filepath.Join(dir, "video.mp4"))
	require.Equal(t, "h264", v.Codec)
	require.Equal(t, 1280, v.Width)
	require.Equal(t, 720, v.Height)
	require.True(t, v.FirstKey, "video starts with a keyframe")
	require.GreaterOrEqual(t, v.Packets, minVideo-clipGOP, "video frames")
	require.LessOrEqual(t, v.Packets, clipFrames, "video frames")
	a := probe(t, filepath.Join(dir, "audio.mp4"))
	require.Equal(t, "aac", a.Codec)
	require.Equal(t, 48000, a.SampleRate)
	require.Equal(t, 2, a.Channels)
	require.Greater(t, a.Packets, 0)
	// The audio lasts as long as the video, within a GOP.
	require.InDelta(t, v.Duration, a.Duration, float64(clipGOP)/clipFPS+0.1)

	var cat struct {
		Version string `json:"version"`
		Tracks  []struct {
			Name  string `json:"name"`
			Codec string `json:"codec"`
		} `json:"tracks"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "catalog.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &cat))
	require.Equal(t, "draft-01", cat.Version)
	codecs := map[string]string{}
	for _, tr := range cat.Tracks {
		codecs[tr.Name] = tr.Codec
	}
	require.True(t, strings.HasPrefix(codecs["video"], "avc1.64"), "video codec %q", codecs["video"])
	require.Equal(t, "mp4a.40.2", codecs["audio"])
}

// TestRTMPToSubscriber: ffmpeg pushes the clip over RTMP and `moq-gateway
// sub` receives it over raw QUIC, for each draft.
func TestRTMPToSubscriber(t *testing.T) {
	for _, draft := range []string{"14", "16"} {
		t.Run("draft-"+draft, func(t *testing.T) {
			g := startGateway(t, map[string]string{"MOQGW_GRACE": "1s"})
			s, dir := sub(t, "-url", "moqt://"+g.MoQ, "-namespace", "live/cam1", "-draft", draft, "-wait", "30s", "-duration", "60s")
			push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
			require.NoError(t, push.wait(t, 60*time.Second), "ffmpeg")
			// The stream ends one grace period after the publisher left;
			// the subscriber then sees PUBLISH_DONE and exits.
			require.NoError(t, s.wait(t, 30*time.Second), "sub")
			require.Contains(t, s.out.String(), "version=draft-"+draft)
			requireClipTracks(t, dir, clipFrames)
		})
	}
}

// TestMidStreamJoinStartsAtKeyframe: a subscriber that joins a running
// stream starts at the newest group's keyframe.
func TestMidStreamJoinStartsAtKeyframe(t *testing.T) {
	g := startGateway(t, map[string]string{"MOQGW_GRACE": "1s"})
	push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	g.waitStream(t, "live/cam1", 20*time.Second)
	time.Sleep(2500 * time.Millisecond) // join in the middle of a GOP, well into the stream
	s, dir := sub(t, "-url", "https://"+g.MoQ+"/moq", "-namespace", "live/cam1", "-duration", "60s")
	require.NoError(t, push.wait(t, 60*time.Second))
	require.NoError(t, s.wait(t, 30*time.Second))
	v := probe(t, filepath.Join(dir, "video.mp4"))
	require.True(t, v.FirstKey, "first video frame is a keyframe")
	require.Less(t, v.Packets, clipFrames, "joined mid-stream")
	require.Greater(t, v.Packets, clipGOP)
}

// TestUnknownNamespaceAndTrack: clear errors, never a hang.
func TestUnknownNamespaceAndTrack(t *testing.T) {
	g := startGateway(t, nil)
	s, _ := sub(t, "-url", "moqt://"+g.MoQ, "-namespace", "live/nobody", "-wait", "0")
	err := s.wait(t, 20*time.Second)
	require.Error(t, err)
	require.Contains(t, s.out.String(), "code 0x10") // DOES_NOT_EXIST

	push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	defer push.cmd.Process.Kill()
	g.waitStream(t, "live/cam1", 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, v := range []wire.Version{wire.Draft14, wire.Draft16} {
		sess, err := moq.Dial(ctx, "moqt://"+g.MoQ, moq.DialOptions{Versions: []wire.Version{v}, TLSConfig: insecureTLS()})
		require.NoError(t, err)
		_, err = sess.Subscribe(ctx, moq.Namespace{"live", "cam1"}, "subtitles", moq.SubscribeOptions{})
		require.ErrorIs(t, err, moq.ErrTrackDoesNotExist)
		require.ErrorContains(t, err, `no track "subtitles"`)
		sess.Close()
	}
}

// TestPublisherReconnectKeepsSubscriber: a publisher that disconnects and
// comes back within the grace period keeps an existing subscriber
// receiving, with group IDs still growing.
func TestPublisherReconnectKeepsSubscriber(t *testing.T) {
	g := startGateway(t, map[string]string{"MOQGW_GRACE": "5s"})
	first := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	g.waitStream(t, "live/cam1", 20*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sess, err := moq.Dial(ctx, "moqt://"+g.MoQ, moq.DialOptions{TLSConfig: insecureTLS()})
	require.NoError(t, err)
	defer sess.Close()
	video, err := sess.Subscribe(ctx, moq.Namespace{"live", "cam1"}, "video", moq.SubscribeOptions{})
	require.NoError(t, err)

	// A reader records the group IDs as objects arrive.
	var (
		mu      sync.Mutex
		groups  []uint64
		objects int
		readErr error
	)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			o, err := video.ReadObject(ctx)
			if err != nil {
				mu.Lock()
				readErr = err
				mu.Unlock()
				return
			}
			if o.Status != wire.StatusNormal {
				continue
			}
			mu.Lock()
			objects++
			if len(groups) == 0 || groups[len(groups)-1] != o.Group {
				groups = append(groups, o.Group)
			}
			mu.Unlock()
		}
	}()
	countGroups := func() int {
		mu.Lock()
		defer mu.Unlock()
		require.NoError(t, readErr)
		return len(groups)
	}
	require.NoError(t, first.wait(t, 60*time.Second))
	before := countGroups()
	require.Greater(t, before, 3)
	mu.Lock()
	lastBefore := slices.Max(groups)
	mu.Unlock()

	// Reconnect within the grace period; the same subscription continues.
	time.Sleep(time.Second)
	second := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	deadline := time.Now().Add(30 * time.Second)
	for countGroups() < before+4 {
		require.True(t, time.Now().Before(deadline), "no groups from the second publisher")
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, second.cmd.Process.Kill())
	cancel()
	<-readDone
	mu.Lock()
	defer mu.Unlock()
	// Groups travel on parallel streams, so they may arrive out of order;
	// what must hold is that the new publisher's groups come after the old
	// one's.
	for _, g := range groups[before:] {
		require.Greater(t, g, lastBefore, "group IDs grow across the reconnect")
	}
	require.Greater(t, objects, clipFrames/2)
}
