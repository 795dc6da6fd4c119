//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

// rss is the gateway's resident set in MiB.
func (g *gateway) rss(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	require.NoError(t, err)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			require.NoError(t, err)
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestHandshakeFlood prints the gateway's memory under 1,000 QUIC
// handshakes that never send SETUP and 1,000 RTSP requests never finished,
// with the default per-address bounds and without them, and requires a
// healthy stream's subscriber to keep receiving throughout.
//
//	go test -tags e2e -run TestHandshakeFlood -v ./e2e/
func TestHandshakeFlood(t *testing.T) {
	for _, bounded := range []bool{true, false} {
		t.Run(fmt.Sprintf("bounded=%v", bounded), func(t *testing.T) {
			env := map[string]string{}
			if !bounded {
				env = map[string]string{"MOQGW_MOQ_MAX_CONNS_PER_IP": "-1", "MOQGW_RTSP_MAX_CONNS_PER_IP": "-1"}
			}
			g := startGateway(t, env)
			push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
			defer push.kill()
			g.waitStream(t, "live/cam1", 20*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			watcher := recordObjects(ctx, subscribeVideo(ctx, t, g, moq.Namespace{"live", "cam1"}))
			before := g.rss(t)

			const n = 1000
			var wg sync.WaitGroup
			var mu sync.Mutex
			var conns []*quic.Conn
			var tcps []net.Conn
			handshakes := 0
			for i := range n {
				wg.Go(func() {
					hctx, hcancel := context.WithTimeout(ctx, 10*time.Second)
					defer hcancel()
					c, err := quic.DialAddr(hctx, g.MoQ, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{wire.ALPNDraft16}}, //nolint:gosec // the test's own gateway
						&quic.Config{MaxIdleTimeout: 60 * time.Second, KeepAlivePeriod: 5 * time.Second})
					if err == nil {
						mu.Lock()
						conns = append(conns, c)
						handshakes++
						mu.Unlock()
					}
				})
				if i%50 == 49 {
					wg.Wait()
				}
			}
			wg.Wait()
			for range n {
				c, err := net.Dial("tcp", g.RTSP)
				if err != nil {
					continue
				}
				_, _ = c.Write([]byte("OPTIONS rtsp://x/ RTSP/1.0\r\n"))
				tcps = append(tcps, c)
			}
			time.Sleep(2 * time.Second)
			during := g.rss(t)
			open := 0
			for _, c := range conns {
				if c.Context().Err() == nil {
					open++
				}
			}
			for _, c := range conns {
				_ = c.CloseWithError(0, "")
			}
			for _, c := range tcps {
				c.Close()
			}
			time.Sleep(3 * time.Second)
			after := g.rss(t)
			t.Logf("bounded=%v: RSS %.0f MiB before, %.0f MiB with %d QUIC handshakes done (%d still open after 2 s) and %d partial RTSP requests, %.0f MiB after they closed",
				bounded, before, during, handshakes, open, len(tcps), after)
			groups := watcher.groups(t)
			require.Greater(t, len(groups), 2, "the healthy subscriber kept receiving")
		})
	}
}
