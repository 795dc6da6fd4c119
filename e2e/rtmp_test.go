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
	defer push.kill()
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

// objectLog records a subscription's objects as they arrive.
type objectLog struct {
	mu      sync.Mutex
	objects []moq.Object
	err     error
	done    chan struct{}
}

// recordObjects reads sub until ctx ends or the subscription fails; a
// failure is reported by groups.
func recordObjects(ctx context.Context, sub *moq.RemoteTrack) *objectLog {
	l := &objectLog{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			o, err := sub.ReadObject(ctx)
			l.mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					l.err = err // not the test ending the subscription
				}
				l.mu.Unlock()
				return
			}
			if o.Status == wire.StatusNormal {
				l.objects = append(l.objects, o)
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// groups returns the group IDs in the order they started arriving; it fails
// the test if reading failed.
func (l *objectLog) groups(t *testing.T) []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	require.NoError(t, l.err)
	var ids []uint64
	seen := map[uint64]bool{}
	for _, o := range l.objects {
		if !seen[o.Group] {
			seen[o.Group] = true
			ids = append(ids, o.Group)
		}
	}
	return ids
}

// waitGroups waits until n groups have started arriving.
func (l *objectLog) waitGroups(t *testing.T, n int, timeout time.Duration) []uint64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ids := l.groups(t)
		if len(ids) >= n {
			return ids
		}
		require.True(t, time.Now().Before(deadline), "%d groups after %v, want %d", len(ids), timeout, n)
		time.Sleep(100 * time.Millisecond)
	}
}

// requireResumesAtKeyframe checks the groups after the last one of the old
// publisher: their IDs are larger, and each begins with object 0, a sync
// sample. Groups travel on parallel streams, so they may arrive out of
// order; what must hold is that the new publisher's groups come after the
// old one's.
func requireResumesAtKeyframe(t *testing.T, l *objectLog, before []uint64) {
	t.Helper()
	lastBefore := slices.Max(before)
	l.mu.Lock()
	defer l.mu.Unlock()
	firsts := map[uint64]moq.Object{}
	var after []uint64
	for _, o := range l.objects {
		if slices.Contains(before, o.Group) {
			continue
		}
		require.Greater(t, o.Group, lastBefore, "group IDs grow across the change of publisher")
		if _, ok := firsts[o.Group]; !ok {
			firsts[o.Group] = o
			after = append(after, o.Group)
		}
	}
	require.NotEmpty(t, after)
	for _, g := range after {
		o := firsts[g]
		require.Zero(t, o.ID, "group %d starts at object 0", g)
		requireSyncChunk(t, o.Payload)
	}
}

// subscribeVideo subscribes to a stream's video track over raw QUIC.
func subscribeVideo(ctx context.Context, t *testing.T, g *gateway, ns moq.Namespace) *moq.RemoteTrack {
	t.Helper()
	sess, err := moq.Dial(ctx, "moqt://"+g.MoQ, moq.DialOptions{TLSConfig: insecureTLS()})
	require.NoError(t, err)
	t.Cleanup(func() { sess.Close() })
	video, err := sess.Subscribe(ctx, ns, "video", moq.SubscribeOptions{})
	require.NoError(t, err)
	return video
}

// TestPublisherReconnectKeepsSubscriber: a publisher that disconnects and
// comes back within the grace period keeps an existing subscriber
// receiving, with group IDs still growing, from the new publisher's first
// keyframe.
func TestPublisherReconnectKeepsSubscriber(t *testing.T) {
	g := startGateway(t, map[string]string{"MOQGW_GRACE": "5s"})
	first := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	g.waitStream(t, "live/cam1", 20*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := recordObjects(ctx, subscribeVideo(ctx, t, g, moq.Namespace{"live", "cam1"}))
	require.NoError(t, first.wait(t, 60*time.Second))
	before := log.groups(t)
	require.Greater(t, len(before), 3)

	// Reconnect within the grace period; the same subscription continues.
	time.Sleep(time.Second)
	second := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	log.waitGroups(t, len(before)+4, 30*time.Second)
	require.NoError(t, second.cmd.Process.Kill())
	cancel()
	<-log.done
	requireResumesAtKeyframe(t, log, before)
	require.Greater(t, len(log.objects), clipFrames/2)
}

// TestPublisherReplaceKeepsSubscriber: a second publisher takes over a path
// that is live (policy replace, the default): the first connection is
// closed, and the subscriber stays on the same subscription, resuming at the
// second publisher's first keyframe with group IDs still growing.
func TestPublisherReplaceKeepsSubscriber(t *testing.T) {
	g := startGateway(t, nil)
	first := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	g.waitStream(t, "live/cam1", 20*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := recordObjects(ctx, subscribeVideo(ctx, t, g, moq.Namespace{"live", "cam1"}))
	log.waitGroups(t, 3, 20*time.Second)

	second := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	// The first publisher is cut off mid-clip: ffmpeg fails on the closed
	// connection long before its 8 s clip would end.
	require.Error(t, first.wait(t, 20*time.Second), "the replaced publisher's connection is closed")
	g.waitLog(t, "replaced by a newer publisher", 10*time.Second)
	before := log.groups(t)
	log.waitGroups(t, len(before)+3, 30*time.Second)
	require.NoError(t, second.cmd.Process.Kill())
	cancel()
	<-log.done
	requireResumesAtKeyframe(t, log, before)
}

// TestPublisherRejectPolicy: on a path with policy reject, a second
// publisher is refused and the first one publishes to its end undisturbed.
func TestPublisherRejectPolicy(t *testing.T) {
	g := startGateway(t, nil, writeConfig(t, "streams:\n  - path: live/cam1\n    policy: reject\n")...)
	first := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	g.waitStream(t, "live/cam1", 20*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := recordObjects(ctx, subscribeVideo(ctx, t, g, moq.Namespace{"live", "cam1"}))
	log.waitGroups(t, 2, 20*time.Second)

	second := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
	require.Error(t, second.wait(t, 20*time.Second), "the second publisher is refused")
	g.waitLog(t, "path already has a publisher", 10*time.Second)
	require.NoError(t, first.wait(t, 60*time.Second), "the first publisher is not disturbed")
	// The first publisher's whole clip arrives: every group of it, each
	// complete from object 0.
	cancel()
	<-log.done
	ids := log.groups(t)
	// The subscription joins about two seconds into the eight-second clip.
	require.GreaterOrEqual(t, len(ids), 4)
	perGroup := map[uint64][]uint64{}
	for _, o := range log.objects {
		perGroup[o.Group] = append(perGroup[o.Group], o.ID)
	}
	for _, id := range ids[1 : len(ids)-1] {
		require.Len(t, perGroup[id], clipGOP, "group %d complete", id)
	}
}
