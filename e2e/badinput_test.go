//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	srt "github.com/datarhei/gosrt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

const (
	tsPacketSize = 188
	// clipAACFrames is the AAC frame count of the clip (1024 samples at
	// 48 kHz) that an RTMP push delivers.
	clipAACFrames = clipSeconds * 48000 / 1024
)

// packetCount returns ffprobe's packet count of the first stream of a
// kind ("v" or "a") in file.
func packetCount(t *testing.T, file, kind string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-select_streams", kind+":0",
		"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", file).Output()
	require.NoError(t, err, "ffprobe %s", file)
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	require.NoError(t, err, "ffprobe %s: %q", file, out)
	return n
}

// metric returns the value of a Prometheus sample of the gateway, e.g.
// `moqgw_ingest_decode_errors_total{proto="srt"}`, or 0 when it is absent.
func (g *gateway) metric(t *testing.T, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + g.HTTP + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	require.NoError(t, sc.Err())
	return 0
}

// requireNoPanic requires the gateway log to report no recovered panic.
func requireNoPanic(t *testing.T, g *gateway) {
	t.Helper()
	require.Empty(t, g.logLines("panic"), "the gateway recovered from a panic")
}

// clipTS remuxes the clip to MPEG-TS, without re-encoding.
func clipTS(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "clip.ts")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", clip, "-c", "copy", "-f", "mpegts", out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	return data
}

// corruptTS damages a TS stream the ways a bad link or a buggy muxer does:
// lost packets, lost sync bytes, broken headers and flipped payload bytes,
// leaving the first packets (program tables, first keyframe) intact.
func corruptTS(data []byte) []byte {
	out := make([]byte, 0, len(data))
	for i := 0; i+tsPacketSize <= len(data); i += tsPacketSize {
		p := append([]byte(nil), data[i:i+tsPacketSize]...)
		n := i / tsPacketSize
		switch {
		case n > 50 && n%97 == 0:
			continue // lost packet
		case n > 50 && n%89 == 0:
			p[0] = 0x00 // lost sync
		case n > 50 && n%71 == 0:
			for j := 4; j < 40; j++ {
				p[j] ^= 0xFF // broken adaptation field or PES header
			}
		case n > 50 && n%13 == 0:
			for j := 100; j < 120; j++ {
				p[j] ^= 0x5A // flipped payload bytes
			}
		}
		out = append(out, p...)
	}
	return out
}

// dialSRT connects a gosrt caller publishing streamID. It retries: gosrt's
// dialer sends its induction once, and the garbage the test throws at the
// port may crowd it out.
func dialSRT(ctx context.Context, addr, streamID string) (srt.Conn, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		cfg := srt.DefaultConfig()
		cfg.StreamId = streamID
		cfg.ConnectionTimeout = time.Second
		c, err := srt.Dial("srt", addr, cfg)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("srt dial %s: %w", streamID, err)
		}
	}
}

// sendPaced writes data to c as ffmpeg does, 7 TS packets per SRT packet,
// spread evenly over d (an unpaced burst overflows the listener's socket
// buffer, which SRT cannot recover from at the end of a stream).
func sendPaced(ctx context.Context, c srt.Conn, data []byte, d time.Duration) error {
	const chunk = 7 * tsPacketSize
	tick := time.NewTicker(max(d/time.Duration(len(data)/chunk+1), 100*time.Microsecond))
	defer tick.Stop()
	for len(data) > 0 {
		n := min(len(data), chunk)
		if _, err := c.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
	return nil
}

// floodSRT throws random datagrams at the SRT port until ctx is done: half
// of them look like control packets addressed to the listener (handshakes).
func floodSRT(ctx context.Context, addr string) error {
	u, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer u.Close()
	buf := make([]byte, 1500)
	for i := 0; ctx.Err() == nil; i++ {
		n := 1 + (i*37)%len(buf)
		_, _ = rand.Read(buf[:n])
		if i%2 == 0 {
			buf[0] |= 0x80 // control packet
			if n > 16 {
				buf[1] = 0        // handshake
				clear(buf[12:16]) // destination socket 0: the listener
			}
		}
		// A datagram socket may report the previous datagram's ICMP error;
		// what matters is that the gateway keeps reading.
		_, _ = u.Write(buf[:n])
		if i%20 == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// rtspGarbage is what the RTSP garbage connections send, in turn.
var rtspGarbage = []func() []byte{
	func() []byte { return randomBytes(64 << 10) },
	func() []byte { // an interleaved frame before any session
		return append([]byte{'$', 0, 0xFF, 0xFF}, randomBytes(0xFFFF)...)
	},
	func() []byte { // a request that never ends its first line
		return []byte("ANNOUNCE rtsp://127.0.0.1/live/x" + strings.Repeat("A", 256<<10))
	},
	func() []byte { // a body longer than anything sent
		return []byte("ANNOUNCE rtsp://127.0.0.1/live/garbage RTSP/1.0\r\nCSeq: 1\r\n" +
			"Content-Type: application/sdp\r\nContent-Length: 999999999\r\n\r\nv=0\r\n")
	},
	func() []byte { // an SDP of random bytes
		body := randomBytes(2000)
		return append([]byte(fmt.Sprintf("ANNOUNCE rtsp://127.0.0.1/live/garbage RTSP/1.0\r\nCSeq: 1\r\n"+
			"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n", len(body))), body...)
	},
	func() []byte { // a SETUP with a broken transport, without ANNOUNCE
		return []byte("SETUP rtsp://127.0.0.1/live/garbage/trackID=0 RTSP/1.0\r\nCSeq: 1\r\n" +
			"Transport: RTP/AVP/TCP;interleaved=999-\x00\xff;mode=record\r\n\r\n" +
			"RECORD rtsp://127.0.0.1/live/garbage RTSP/1.0\r\nCSeq: 2\r\nSession: 12345678\r\n\r\n")
	},
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// garbageRTSP opens connection after connection to the RTSP port until ctx
// is done, each sending one kind of garbage and reading what comes back.
func garbageRTSP(ctx context.Context, addr string) error {
	for i := 0; ctx.Err() == nil; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return fmt.Errorf("rtsp dial after %d garbage connections: %w", i, err)
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		// The server may close the connection before it has read
		// everything: write errors are expected.
		_, _ = c.Write(rtspGarbage[i%len(rtspGarbage)]())
		_, _ = io.Copy(io.Discard, c)
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// randomSRTPayload publishes random bytes inside a valid SRT session until
// ctx is done: pure noise, then TS-synced noise.
func randomSRTPayload(ctx context.Context, addr string) error {
	c, err := dialSRT(ctx, addr, "live/noise")
	if err != nil {
		return err
	}
	defer c.Close()
	for i := 0; ctx.Err() == nil; i++ {
		p := randomBytes(7 * tsPacketSize)
		if i%2 == 1 {
			for j := 0; j < len(p); j += tsPacketSize {
				p[j] = 0x47
			}
		}
		if _, err := c.Write(p); err != nil {
			// The gateway may give up on a publisher that sends nothing
			// it can use; that is its right.
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// objectCounter subscribes to a stream in process the way `moq-gateway sub`
// does (from the group of the first catalog, waiting for the announce) and
// counts the objects of each track the gateway sends until the stream ends.
// It tells frames the gateway lost from frames sub lost writing its files.
type objectCounter struct {
	mu     sync.Mutex
	counts map[string]int
	done   chan error
}

func countObjects(t *testing.T, g *gateway, path string, tracks ...string) *objectCounter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	sess, err := moq.Dial(ctx, "moqt://"+g.MoQ, moq.DialOptions{TLSConfig: insecureTLS()})
	require.NoError(t, err)
	oc := &objectCounter{counts: map[string]int{}, done: make(chan error, 1)}
	t.Cleanup(func() {
		cancel()
		sess.Close()
	})
	ns := moq.Namespace(strings.Split(path, "/"))
	go func() {
		oc.done <- func() error {
			if err := sess.WaitAnnounced(ctx, ns); err != nil {
				return err
			}
			cat, err := sess.Subscribe(ctx, ns, "catalog", moq.SubscribeOptions{})
			if err != nil {
				return err
			}
			first, err := cat.ReadObject(ctx)
			if err != nil {
				return err
			}
			var eg errgroup.Group
			for _, name := range tracks {
				rt, err := sess.Subscribe(ctx, ns, name, moq.SubscribeOptions{
					Filter: wire.FilterAbsoluteStart, Start: moq.Location{Group: first.Group},
				})
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				eg.Go(func() error {
					for {
						o, err := rt.ReadObject(ctx)
						if errors.Is(err, io.EOF) {
							return nil
						}
						if err != nil {
							return fmt.Errorf("%s: %w", name, err)
						}
						if o.Status == wire.StatusNormal {
							oc.mu.Lock()
							oc.counts[name]++
							oc.mu.Unlock()
						}
					}
				})
			}
			return eg.Wait()
		}()
	}()
	return oc
}

// wait waits for the stream to end and returns the counts.
func (oc *objectCounter) wait(t *testing.T) map[string]int {
	t.Helper()
	select {
	case err := <-oc.done:
		require.NoError(t, err, "in-process subscriber")
	case <-time.After(60 * time.Second):
		t.Fatal("in-process subscriber: the stream did not end")
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	return oc.counts
}

// TestBadInputKeepsHealthyStream: while a healthy RTMP stream runs through
// the gateway, random datagrams hit the SRT port, garbage hits the RTSP
// port, and SRT sessions publish the clip as corrupt TS and pure noise. The
// gateway stays up, a subscriber of the RTMP stream receives every frame
// the publisher sent, and both ports still serve publishers afterwards.
func TestBadInputKeepsHealthyStream(t *testing.T) {
	g := startGateway(t, map[string]string{"MOQGW_GRACE": "1s"})
	clean := clipTS(t)
	corrupt := corruptTS(clean)

	// The subscriber waits for the stream, so it receives it from the
	// first frame.
	s, dir := sub(t, "-url", subURL(g, false), "-namespace", "live/healthy", "-draft", "16", "-wait", "30s", "-duration", "60s")
	counter := countObjects(t, g, "live/healthy", "video", "audio")
	push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/healthy")
	g.waitStream(t, "live/healthy", 20*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	abuse, actx := errgroup.WithContext(ctx)
	abuse.Go(func() error { return floodSRT(actx, g.SRT) })
	abuse.Go(func() error { return garbageRTSP(actx, g.RTSP) })
	abuse.Go(func() error { return randomSRTPayload(actx, g.SRT) })
	abuse.Go(func() error {
		c, err := dialSRT(actx, g.SRT, "live/corrupt")
		if err != nil {
			return err
		}
		defer c.Close()
		// Spread over the healthy stream's remaining seconds.
		return sendPaced(actx, c, corrupt, (clipSeconds-2)*time.Second)
	})

	require.NoError(t, push.wait(t, 60*time.Second), "ffmpeg RTMP")
	cancel()
	require.NoError(t, abuse.Wait())

	counts := counter.wait(t)
	require.NoError(t, s.wait(t, 30*time.Second), "sub")

	// The corrupt TS was published and its damage counted; nothing of
	// the noise or the garbage was.
	require.NotEmpty(t, g.logLines(`msg="srt: publishing"`, "path=live/corrupt"))
	require.Positive(t, g.metric(t, `moqgw_ingest_decode_errors_total{proto="srt"}`), "decode errors counted")
	require.Empty(t, g.logLines(`msg="srt: publishing"`, "path=live/noise"))
	require.Empty(t, g.logLines(`msg="rtsp: publishing"`))

	// Both ports still serve.
	c, err := dialSRT(context.Background(), g.SRT, "live/after")
	require.NoError(t, err)
	defer c.Close()
	// The clip's first second.
	first := clean[:len(clean)/clipSeconds/tsPacketSize*tsPacketSize]
	require.NoError(t, sendPaced(context.Background(), c, first, 500*time.Millisecond))
	g.waitStream(t, "live/after", 20*time.Second)

	rc, err := net.Dial("tcp", g.RTSP)
	require.NoError(t, err)
	defer rc.Close()
	require.NoError(t, rc.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = rc.Write([]byte("OPTIONS rtsp://" + g.RTSP + "/ RTSP/1.0\r\nCSeq: 1\r\n\r\n"))
	require.NoError(t, err)
	status, err := bufio.NewReader(rc).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "RTSP/1.0 200 OK\r\n", status)

	resp, err := http.Get("http://" + g.HTTP + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The healthy stream lost nothing: the gateway sent every frame, and
	// sub wrote every video frame. (assert, so one run reports all three.)
	require.Equal(t, clipFrames, packetCount(t, clip, "v"))
	assert.Equal(t, clipFrames, counts["video"], "video frames the gateway sent")
	assert.Equal(t, clipAACFrames, counts["audio"], "audio frames the gateway sent")
	assert.Equal(t, clipFrames, packetCount(t, filepath.Join(dir, "video.mp4"), "v"),
		"video frames sub wrote:\n%s", s.out.String())
	requireClipTracks(t, dir, clipFrames)
	requireNoPanic(t, g)
}
