package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	"syscall"
	"time"

	"github.com/moqgw/moq-gateway/config"
)

// Gateway process limits.
const (
	// gatewayStartTimeout bounds the wait for /health; a race-enabled test
	// binary on a loaded machine needs a few seconds.
	gatewayStartTimeout = 30 * time.Second
	// gatewayStopTimeout is the gateway's own 5 s shutdown deadline plus
	// slack before bench kills it.
	gatewayStopTimeout = 10 * time.Second
	// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
	// which Linux fixes at 100 on every architecture it exports to user
	// space.
	userHZ = 100
)

// gatewayAddrs are the loopback listeners bench gives the gateway.
type gatewayAddrs struct {
	rtmp, srt, rtsp, moq, http string
}

// gatewayProc is the gateway under test, a child process so that its CPU
// time and memory are its own.
type gatewayProc struct {
	addrs  gatewayAddrs
	cmd    *exec.Cmd
	logs   *logTail
	exited chan struct{}
	err    error // the exit status, once exited is closed
}

// gatewayProfiles are the profiles bench takes from the gateway's
// /debug/pprof over the window.
type gatewayProfiles struct {
	cpu, mem string
}

func (p gatewayProfiles) any() bool { return p != gatewayProfiles{} }

// gatewayBinary is the moq-gateway binary to run: path, or moq-gateway
// beside this executable, or on PATH.
func gatewayBinary(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if exe, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(exe), "moq-gateway")
		if _, err := os.Stat(beside); err == nil {
			return beside, nil
		}
	}
	p, err := exec.LookPath("moq-gateway")
	if err != nil {
		return "", errors.New("no moq-gateway binary beside moq-bench or on PATH: build it (go build ./cmd/moq-gateway) or pass -gateway PATH")
	}
	return p, nil
}

// startGateway starts the child with loopback listeners on free ports (only
// the ingest protocol under test and MoQ) and waits for /health.
func startGateway(ctx context.Context, o *benchOptions, stderr io.Writer) (*gatewayProc, error) {
	var addrs gatewayAddrs
	var err error
	if addrs.moq, err = freePort("udp"); err != nil {
		return nil, err
	}
	if addrs.http, err = freePort("tcp"); err != nil {
		return nil, err
	}
	if o.proto == "srt" {
		addrs.srt, err = freePort("udp")
	} else {
		addrs.rtmp, err = freePort("tcp")
	}
	if err == nil && o.attack {
		addrs.rtsp, err = freePort("tcp")
	}
	if err != nil {
		return nil, err
	}
	bin, err := gatewayBinary(o.gateway)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	env := map[string]string{
		"RTMP_LISTEN": addrs.rtmp, "RTMP_RTMPS_LISTEN": "",
		"SRT_LISTEN":  addrs.srt,
		"RTSP_LISTEN": addrs.rtsp, "RTSP_UDP_RTP": "", "RTSP_UDP_RTCP": "", "RTSP_RTSPS_LISTEN": "",
		"MOQ_LISTEN":  addrs.moq,
		"HTTP_LISTEN": addrs.http,
		"TLS_HOSTS":   "127.0.0.1",
		"LOG_LEVEL":   "warn",
	}
	if !o.attack {
		// Every pusher and subscriber comes from one address; the attack
		// check keeps the defaults it tests.
		for _, k := range []string{"RTMP_MAX_CONNS_PER_IP", "SRT_MAX_CONNS_PER_IP", "MOQ_MAX_CONNS_PER_IP"} {
			env[k] = "-1"
		}
	}
	if o.profiles.any() {
		env["HTTP_PPROF"] = "true"
	}
	cmd.Env = gatewayEnv(cmd.Env, env)
	g := &gatewayProc{addrs: addrs, cmd: cmd, logs: &logTail{w: stderr}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = g.logs, g.logs
	// The gateway must not outlive bench, even when bench is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	go func() {
		g.err = cmd.Wait()
		close(g.exited)
	}()
	if err := g.waitHealthy(ctx); err != nil {
		_ = g.stop() // the start-up failure is what to report
		return nil, err
	}
	return g, nil
}

// gatewayEnv is base (or this process's environment) without MOQGW_*
// variables, which would change the gateway under test, plus set.
func gatewayEnv(base []string, set map[string]string) []string {
	if base == nil {
		base = os.Environ()
	}
	env := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		if !strings.HasPrefix(kv, config.EnvPrefix) {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		env = append(env, config.EnvPrefix+k+"="+v)
	}
	return env
}

func freePort(network string) (string, error) {
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		defer pc.Close()
		return pc.LocalAddr().String(), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (g *gatewayProc) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(gatewayStartTimeout)
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.addrs.http+"/health", http.NoBody)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-g.exited:
			return fmt.Errorf("gateway exited at start (%s):\n%s", g.exitStatus(), g.logs.tail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway not healthy after %v:\n%s", gatewayStartTimeout, g.logs.tail())
		}
	}
}

// stop sends SIGTERM, waits for the graceful exit and kills the gateway if
// it does not come. It returns an error for anything but a clean exit.
func (g *gatewayProc) stop() error {
	select {
	case <-g.exited:
		return g.exitError()
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
		return g.exitError()
	case <-time.After(gatewayStopTimeout):
		_ = g.cmd.Process.Kill()
		<-g.exited
		return fmt.Errorf("gateway did not exit within %v of SIGTERM; killed", gatewayStopTimeout)
	}
}

// exitStatus describes how the exited gateway ended.
func (g *gatewayProc) exitStatus() string {
	if g.err == nil {
		return "exit status 0"
	}
	return g.err.Error()
}

func (g *gatewayProc) exitError() error {
	if g.err != nil {
		return fmt.Errorf("gateway exited: %w", g.err)
	}
	return nil
}

// cpuTime is the gateway's user plus system CPU time so far.
func (g *gatewayProc) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces: fields count from
	// the last ')'. After it come state (field 3) … utime (14), stime (15).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// memory returns the gateway's resident set size and its peak (VmRSS,
// VmHWM) in bytes.
func (g *gatewayProc) memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", name, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in /proc status")
	}
	return rss, peak, nil
}

// gatewayStatus is the part of /status bench reports.
type gatewayStatus struct {
	Streams []struct {
		Frames uint64 `json:"frames"`
	} `json:"streams"`
	Sessions []struct {
		ObjectsSent   uint64 `json:"objects_sent"`
		GroupsDropped uint64 `json:"groups_dropped"`
	} `json:"sessions"`
}

func (g *gatewayProc) status(ctx context.Context) (*gatewayStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.addrs.http+"/status", http.NoBody)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st gatewayStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("gateway /status: %w", err)
	}
	return &st, nil
}

// logTail passes the gateway's log through and keeps its end for error
// messages.
type logTail struct {
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

const logTailLen = 4 << 10

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w != nil {
		_, _ = l.w.Write(p)
	}
	l.buf = append(l.buf, p...)
	if len(l.buf) > logTailLen {
		l.buf = append(l.buf[:0], l.buf[len(l.buf)-logTailLen:]...)
	}
	return len(p), nil
}

func (l *logTail) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == 0 {
		return "(no log output)"
	}
	return string(l.buf)
}

// cpuProfile fetches a CPU profile of d (whole seconds, at least one) from
// the gateway's /debug/pprof into path.
func (g *gatewayProc) cpuProfile(ctx context.Context, d time.Duration, path string) error {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	return g.fetchProfile(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), path)
}

// heapProfile fetches the gateway's heap profile into path.
func (g *gatewayProc) heapProfile(ctx context.Context, path string) error {
	return g.fetchProfile(ctx, "/debug/pprof/heap", path)
}

func (g *gatewayProc) fetchProfile(ctx context.Context, query, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.addrs.http+query, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("gateway profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("gateway profile %s: %s", query, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("gateway profile %s: %w", query, err)
	}
	return f.Close()
}
