//go:build e2e

package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq"
)

// TestTimeToFirstFrame prints, for each ingest protocol, the time from
// ffmpeg starting a real-time push (the clip opens on a keyframe) to a
// subscriber holding the first video object. Machines are shared, so it
// prints the figure and asserts only that the frame came, a keyframe's.
//
//	go test -tags e2e -run TestTimeToFirstFrame -v ./e2e/
func TestTimeToFirstFrame(t *testing.T) {
	g := startGateway(t, nil)
	pushes := []struct {
		proto string
		push  func() *process
	}{
		{"rtmp", func() *process { return pushRTMP(t, "rtmp://"+g.RTMP+"/live/rtmp") }},
		{"srt", func() *process { return pushSRT(t, clip, "srt://"+g.SRT+"?streamid=publish:live/srt") }},
		{"rtsp", func() *process { return pushRTSP(t, clip, "tcp", "rtsp://"+g.RTSP+"/live/rtsp") }},
	}
	for _, p := range pushes {
		t.Run(p.proto, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			sess, err := moq.Dial(ctx, "moqt://"+g.MoQ, moq.DialOptions{TLSConfig: insecureTLS()})
			require.NoError(t, err)
			defer sess.Close()
			start := time.Now()
			push := p.push()
			defer push.kill()
			ns := moq.Namespace{"live", p.proto}
			var video *moq.RemoteTrack
			for video == nil {
				video, err = sess.Subscribe(ctx, ns, "video", moq.SubscribeOptions{})
				if errors.Is(err, moq.ErrTrackDoesNotExist) {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				require.NoError(t, err)
			}
			announced := time.Since(start)
			o, err := video.ReadObject(ctx)
			require.NoError(t, err)
			first := time.Since(start)
			require.Zero(t, o.ID, "the first object opens its group, a keyframe")
			t.Logf("%s: ffmpeg start → track exists %v, → first video object %v",
				p.proto, announced.Round(time.Millisecond), first.Round(time.Millisecond))
		})
	}
}
