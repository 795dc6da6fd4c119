//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// gateway is a running moq-gateway process on loopback ports.
type gateway struct {
	RTMP, SRT, RTSP, MoQ, HTTP string
	cmd                        *exec.Cmd
	logs                       *syncBuffer
	exited                     chan error
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func freeUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	return pc.LocalAddr().String()
}

// startGateway runs the binary with loopback listeners and extra MOQGW_*
// settings (and arguments), waits until /health answers, and stops it with
// SIGTERM when the test ends, requiring a clean exit.
func startGateway(t *testing.T, env map[string]string, args ...string) *gateway {
	t.Helper()
	g := &gateway{
		RTMP: freeTCP(t), SRT: freeUDP(t), RTSP: freeTCP(t), MoQ: freeUDP(t), HTTP: freeTCP(t),
		logs: &syncBuffer{}, exited: make(chan error, 1),
	}
	vars := map[string]string{
		"MOQGW_RTMP_LISTEN":  g.RTMP,
		"MOQGW_SRT_LISTEN":   g.SRT,
		"MOQGW_RTSP_LISTEN":  g.RTSP,
		"MOQGW_RTSP_UDP_RTP": "", "MOQGW_RTSP_UDP_RTCP": "",
		"MOQGW_MOQ_LISTEN":  g.MoQ,
		"MOQGW_HTTP_LISTEN": g.HTTP,
		"MOQGW_TLS_HOSTS":   "localhost,127.0.0.1",
		"MOQGW_LOG_LEVEL":   "debug",
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(gatewayBin, args...)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = g.logs, g.logs
	require.NoError(t, cmd.Start())
	g.cmd = cmd
	go func() { g.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		g.stop(t)
		if t.Failed() {
			t.Logf("gateway log:\n%s", g.logs.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + g.HTTP + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		select {
		case err := <-g.exited:
			t.Fatalf("gateway exited at start: %v\n%s", err, g.logs.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "gateway did not become healthy:\n%s", g.logs.String())
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and requires the gateway to exit cleanly.
func (g *gateway) stop(t *testing.T) {
	if g.cmd.ProcessState != nil {
		return
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.exited:
		require.NoError(t, err, "gateway exit")
	case <-time.After(20 * time.Second):
		_ = g.cmd.Process.Kill()
		t.Error("gateway did not exit after SIGTERM")
	}
}

// status fetches /status.
func (g *gateway) status(t *testing.T) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + g.HTTP + "/status")
	require.NoError(t, err)
	defer resp.Body.Close()
	var doc map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	return doc
}

// waitLog polls the gateway log for a substring.
func (g *gateway) waitLog(t *testing.T, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(g.logs.String(), substr) {
		require.True(t, time.Now().Before(deadline), "log line %q not seen:\n%s", substr, g.logs.String())
		time.Sleep(50 * time.Millisecond)
	}
}

// waitStream polls /status until path has a publisher.
func (g *gateway) waitStream(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, s := range g.status(t)["streams"].([]any) {
			m := s.(map[string]any)
			if m["path"] == path && m["publisher"] != nil && m["publisher"] != "" {
				return
			}
		}
		require.True(t, time.Now().Before(deadline), "stream %s never appeared:\n%s", path, g.logs.String())
		time.Sleep(100 * time.Millisecond)
	}
}

// process runs a command in the background, collecting its output.
type process struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan error
}

func startProcess(t *testing.T, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), out: &syncBuffer{}, exited: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Its own process group, so that killing it also ends what it started
	// (a shell pipeline's commands hold its output open otherwise).
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = 5 * time.Second
	require.NoError(t, p.cmd.Start())
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

// kill ends the process and its group.
func (p *process) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// wait waits for the process to exit within timeout and returns its error.
func (p *process) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-p.exited:
		return err
	case <-time.After(timeout):
		p.kill()
		<-p.exited
		t.Fatalf("%s did not exit within %v:\n%s", p.cmd.Path, timeout, p.out.String())
		return nil
	}
}

// pushRTMP pushes the test clip in real time to url.
func pushRTMP(t *testing.T, url string) *process {
	t.Helper()
	return startProcess(t, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", clip, "-c", "copy", "-f", "flv", url)
}

// sub runs `moq-gateway sub` writing into a new directory.
func sub(t *testing.T, args ...string) (*process, string) {
	t.Helper()
	dir := t.TempDir()
	return startProcess(t, gatewayBin, append([]string{"sub", "-out", dir, "-insecure"}, args...)...), dir
}
