//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq"
)

// impairedLink is a userspace UDP proxy between one client and server:
// each datagram, either way, is dropped with probability loss or else
// delivered after delay ± jitter (so also reordered).
type impairedLink struct {
	pc, up      *net.UDPConn
	loss        float64
	delay, jitt time.Duration

	mu     sync.Mutex
	client *net.UDPAddr
	rng    *rand.Rand
	sent   map[string]int // "up", "down", "dropped"
	wg     sync.WaitGroup
}

func newImpairedLink(t *testing.T, server string, loss float64, delay, jitter time.Duration) *impairedLink {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	sa, err := net.ResolveUDPAddr("udp", server)
	require.NoError(t, err)
	up, err := net.DialUDP("udp", nil, sa)
	require.NoError(t, err)
	l := &impairedLink{pc: pc, up: up, loss: loss, delay: delay, jitt: jitter, rng: rand.New(rand.NewPCG(1, 2)), sent: map[string]int{}}
	l.wg.Add(2)
	go l.pump(pc, func(b []byte, from *net.UDPAddr) {
		l.mu.Lock()
		l.client = from
		l.mu.Unlock()
		l.forward("up", b, func(p []byte) { _, _ = up.Write(p) })
	})
	go l.pump(up, func(b []byte, _ *net.UDPAddr) {
		l.mu.Lock()
		c := l.client
		l.mu.Unlock()
		if c != nil {
			l.forward("down", b, func(p []byte) { _, _ = pc.WriteToUDP(p, c) })
		}
	})
	t.Cleanup(func() {
		pc.Close()
		up.Close()
		l.wg.Wait()
	})
	return l
}

func (l *impairedLink) addr() string { return l.pc.LocalAddr().String() }

// pump reads c until it is closed.
func (l *impairedLink) pump(c *net.UDPConn, handle func([]byte, *net.UDPAddr)) {
	defer l.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		handle(append([]byte(nil), buf[:n]...), from)
	}
}

func (l *impairedLink) forward(dir string, b []byte, send func([]byte)) {
	l.mu.Lock()
	drop := l.rng.Float64() < l.loss
	d := l.delay + time.Duration((l.rng.Float64()*2-1)*float64(l.jitt))
	if drop {
		l.sent["dropped"]++
	} else {
		l.sent[dir]++
	}
	l.mu.Unlock()
	if !drop {
		time.AfterFunc(d, func() { send(b) })
	}
}

// TestSRTOverLossyLink prints, per loss rate and SRT latency, how many of
// the clip's video frames a MoQ subscriber got when the SRT publisher's
// link drops packets both ways and delays them 40 ms ± 10 ms. SRT's ARQ
// has the latency to recover in; the figures are printed, and the test
// asserts only that video arrived, from a keyframe.
//
//	go test -tags e2e -run TestSRTOverLossyLink -v ./e2e/
func TestSRTOverLossyLink(t *testing.T) {
	for _, latency := range []time.Duration{120 * time.Millisecond, 500 * time.Millisecond} {
		for _, loss := range []float64{0.02, 0.05, 0.10} {
			t.Run(fmt.Sprintf("latency=%v/loss=%.0f%%", latency, loss*100), func(t *testing.T) {
				g := startGateway(t, map[string]string{"MOQGW_SRT_LATENCY": latency.String()})
				link := newImpairedLink(t, g.SRT, loss, 40*time.Millisecond, 10*time.Millisecond)
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				sess, err := moq.Dial(ctx, "moqt://"+g.MoQ, moq.DialOptions{TLSConfig: insecureTLS()})
				require.NoError(t, err)
				defer sess.Close()
				url := fmt.Sprintf("srt://%s?streamid=publish:live/lossy&pkt_size=1316&linger=3&latency=%d", link.addr(), latency.Microseconds())
				push := pushSRT(t, clip, url)
				defer push.kill()
				var video *moq.RemoteTrack
				for video == nil { // from the first group: subscribe as soon as it exists
					video, err = sess.Subscribe(ctx, moq.Namespace{"live", "lossy"}, "video", moq.SubscribeOptions{})
					if errors.Is(err, moq.ErrTrackDoesNotExist) {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					require.NoError(t, err)
				}
				log := recordObjects(ctx, video)
				require.NoError(t, push.wait(t, 60*time.Second))
				time.Sleep(latency + time.Second) // what is still in flight
				cancel()
				<-log.done
				log.mu.Lock()
				objs := append([]moq.Object(nil), log.objects...)
				log.mu.Unlock()
				require.NotEmpty(t, objs)
				require.Zero(t, objs[0].ID, "starts at a keyframe")
				link.mu.Lock()
				sent := fmt.Sprint(link.sent)
				link.mu.Unlock()
				t.Logf("SRT latency %v, loss %.0f%% both ways, 40±10 ms: %d of %d video frames reached the MoQ subscriber (%d missing); datagrams %s",
					latency, loss*100, len(objs), clipFrames, clipFrames-len(objs), sent)
			})
		}
	}
}
