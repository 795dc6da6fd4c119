// Command moq-bench is the load tool: it starts the moq-gateway binary on
// loopback, pushes streams into it over RTMP or SRT, subscribes to them
// over MoQ and reports the gateway's CPU, memory, frames lost and
// ingest-to-subscriber latency. Profiles come from the gateway's own
// /debug/pprof.
//
// Usage:
//
//	moq-bench [-gateway PATH] [-n N] [-m M] [-proto rtmp|srt] [...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

// connectTimeout bounds each pusher's and subscriber's connection set-up.
const connectTimeout = 10 * time.Second

// benchOptions are the flags of moq-bench.
type benchOptions struct {
	n, m             int
	duration, warmup time.Duration
	proto            string
	file             string
	bitrate          int64
	bitrateText      string
	transport        string
	draft            string
	versions         []wire.Version
	json             bool
	profiles         gatewayProfiles
	logFormat        string
	// gateway is the moq-gateway binary under test.
	gateway string
	// attack runs the attack check instead of the load measurement.
	attack bool
}

func parseBenchFlags(args []string, stderr io.Writer) (*benchOptions, error) {
	o := &benchOptions{}
	fs := flag.NewFlagSet("moq-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.n, "n", 1, "streams pushed")
	fs.IntVar(&o.m, "m", 1, "subscriber sessions per stream")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "measurement window")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "time from the first push to the window, for every subscriber to start")
	fs.StringVar(&o.proto, "proto", "rtmp", "ingest protocol: rtmp or srt")
	fs.StringVar(&o.file, "file", "", "pre-encoded MP4 (H.264 + AAC) pushed in a loop; default: a 1080p30 clip encoded once with ffmpeg at -bitrate")
	fs.StringVar(&o.bitrateText, "bitrate", "4M", "video bit rate of the generated clip (e.g. 4M, 20M, 800k)")
	fs.StringVar(&o.transport, "transport", "quic", "subscriber transport: quic or webtransport")
	fs.StringVar(&o.draft, "draft", "auto", "MoQT draft: auto, 14, 16, 18 or 19")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON")
	fs.StringVar(&o.profiles.cpu, "cpuprofile", "", "write the gateway's CPU profile to this file (go tool pprof)")
	fs.StringVar(&o.profiles.mem, "memprofile", "", "write the gateway's heap profile to this file when the window ends")
	fs.StringVar(&o.logFormat, "log-format", "text", "bench's log format: text or json")
	fs.BoolVar(&o.attack, "attack", false, "run the attack check: floods and abusive sessions beside one healthy stream, with the gateway's default limits")
	fs.StringVar(&o.gateway, "gateway", "", "the moq-gateway binary to run (default: moq-gateway beside moq-bench, else on PATH)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: moq-bench [flags]\n\n"+
			"Starts the moq-gateway binary as a child process on loopback, pushes -n streams of a looped clip in real\n"+
			"time, subscribes -m times to each over MoQ, and reports the gateway's CPU and memory, frames\n"+
			"lost and ingest-to-subscriber latency over the -duration window.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	var errs []error
	if o.n < 1 || o.n > 1000 {
		errs = append(errs, fmt.Errorf("-n %d is not in 1..1000", o.n))
	}
	if o.m < 0 || o.m > 100 {
		errs = append(errs, fmt.Errorf("-m %d is not in 0..100", o.m))
	}
	if o.duration <= 0 || o.warmup <= 0 {
		errs = append(errs, errors.New("-duration and -warmup must be positive"))
	}
	if o.proto != "rtmp" && o.proto != "srt" {
		errs = append(errs, fmt.Errorf("-proto %q is not rtmp or srt", o.proto))
	}
	if o.transport != "quic" && o.transport != "webtransport" {
		errs = append(errs, fmt.Errorf("-transport %q is not quic or webtransport", o.transport))
	}
	if o.draft != "auto" {
		v, err := wire.ParseDraft(o.draft)
		if err != nil {
			errs = append(errs, fmt.Errorf("-draft: %w", err))
		}
		o.versions = []wire.Version{v}
	}
	var err error
	if o.bitrate, err = parseBitrate(o.bitrateText); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, usageError{err}
	}
	return o, nil
}

// parseBitrate reads "4M", "800k" or "4000000" as bits per second.
func parseBitrate(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mult, s = 1_000_000, s[:len(s)-1]
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1_000, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("-bitrate %q is not a positive rate like 4M", s)
	}
	return int64(v * float64(mult)), nil
}

func runBench(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	log := config.Log{Format: o.logFormat, Level: "info"}.NewLogger(stderr)
	if o.attack {
		return runAttack(ctx, o, log, os.Stdout, stderr)
	}
	res, err := runBenchmark(ctx, o, log, stderr)
	if res != nil {
		if o.json {
			log.Info("result", "summary", res.line(), "bench_cpu_percent", res.BenchCPUPercent)
		}
		if perr := res.print(os.Stdout, o.json); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// runBenchmark runs one measurement. It returns the result when the window
// completed, with an error too when the teardown went wrong.
func runBenchmark(ctx context.Context, o *benchOptions, log *slog.Logger, stderr io.Writer) (*benchResult, error) {
	path := o.file
	if path == "" {
		var err error
		if path, err = cachedClip(ctx, defaultClip(o.bitrate), log); err != nil {
			return nil, err
		}
	}
	c, err := loadClip(path)
	if err != nil {
		return nil, err
	}
	log.Info("bench starting", "proto", o.proto, "n", o.n, "m", o.m, "clip", path,
		"clip_bitrate", c.bitrate(), "fps", c.fps(), "gop", c.gopFrames(), "warmup", o.warmup, "duration", o.duration)

	gw, err := startGateway(ctx, o, stderr)
	if err != nil {
		return nil, err
	}
	res, runErr := measure(ctx, o, c, gw, log)
	stopErr := gw.stop()
	if runErr != nil {
		return nil, runErr
	}
	if stopErr != nil {
		return res, stopErr
	}
	for _, p := range []string{o.profiles.cpu, o.profiles.mem} {
		if p != "" {
			log.Info("gateway profile written", "path", p, "view", "go tool pprof -top "+p)
		}
	}
	return res, nil
}

// measure pushes, subscribes, waits out the warm-up, samples the gateway
// over the window and tears the clients down.
func measure(ctx context.Context, o *benchOptions, c *clip, gw *gatewayProc, log *slog.Logger) (*benchResult, error) {
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	eg, egCtx := errgroup.WithContext(runCtx)
	// The gateway dying ends the run at once.
	eg.Go(func() error {
		select {
		case <-gw.exited:
			return fmt.Errorf("gateway exited during the run (%s):\n%s", gw.exitStatus(), gw.logs.tail())
		case <-egCtx.Done():
			return nil
		}
	})
	var phase atomic.Int32
	start := time.Now()
	// Stagger the streams over one GOP so that their keyframes do not all
	// arrive in the same millisecond, as independent encoders' would not.
	gopDur := c.period / time.Duration(c.keyframes)
	pushers := make([]*pusher, o.n)
	for i := range pushers {
		p := &pusher{path: fmt.Sprintf("bench/s%d", i+1), clip: c, phase: &phase}
		pushers[i] = p
		delay := gopDur * time.Duration(i) / time.Duration(o.n)
		eg.Go(func() error {
			select {
			case <-time.After(delay):
			case <-egCtx.Done():
				return nil
			}
			if o.proto == "srt" {
				return p.runSRT(egCtx, gw.addrs.srt)
			}
			return p.runRTMP(egCtx, gw.addrs.rtmp)
		})
	}
	url := "moqt://" + gw.addrs.moq
	if o.transport == "webtransport" {
		url = "https://" + gw.addrs.moq + "/moq"
	}
	subLog := slog.New(levelFilter{log.Handler(), slog.LevelWarn}).With("component", "subscriber")
	var subs []*subscriber
	for i := range o.n {
		path := pushers[i].path
		for k := range o.m {
			s := newSubscriber(fmt.Sprintf("%s#%d", path, k+1), moq.Namespace(strings.Split(path, "/")), url, o.versions, &phase, c, subLog)
			subs = append(subs, s)
			eg.Go(func() error { return s.run(egCtx) })
		}
	}

	fail := func(err error) (*benchResult, error) {
		phase.Store(phaseDone)
		stopRun()
		werr := eg.Wait()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("bench interrupted: %w", ctx.Err())
		}
		return nil, errors.Join(err, werr)
	}

	// Warm-up: every subscriber must be receiving video by its end.
	windowStart := start.Add(o.warmup)
	warm := time.NewTimer(o.warmup)
	defer warm.Stop()
	allReady := make(chan struct{})
	eg.Go(func() error {
		for _, s := range subs {
			select {
			case <-s.ready:
			case <-egCtx.Done():
				return nil
			}
		}
		close(allReady)
		return nil
	})
	select {
	case <-allReady:
		select {
		case <-warm.C:
		case <-egCtx.Done():
			return fail(nil)
		}
	case <-egCtx.Done():
		return fail(nil)
	case <-warm.C:
		waiting := 0
		for _, s := range subs {
			select {
			case <-s.ready:
			default:
				waiting++
			}
		}
		if waiting > 0 {
			return fail(fmt.Errorf("%d of %d subscribers received no video within the %v warm-up; raise -warmup", waiting, len(subs), o.warmup))
		}
	}

	// The window.
	phase.Store(phaseMeasure)
	w := window{start: time.Now()}
	log.Info("measuring", "late", w.start.Sub(windowStart).Round(time.Millisecond))
	var err error
	if w.cpu0, err = gw.cpuTime(); err != nil {
		return fail(err)
	}
	w.self0 = selfCPUTime()
	cpuProf := make(chan error, 1)
	if o.profiles.cpu != "" {
		go func() { cpuProf <- gw.cpuProfile(ctx, o.duration, o.profiles.cpu) }()
	} else {
		cpuProf <- nil
	}
	end := time.NewTimer(o.duration)
	defer end.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for sampling := true; sampling; {
		rss, _, err := gw.memory()
		if err != nil {
			return fail(err)
		}
		w.rss = append(w.rss, rss)
		select {
		case <-tick.C:
		case <-end.C:
			sampling = false
		case <-egCtx.Done():
			return fail(nil)
		}
	}
	phase.Store(phaseDone)
	w.end = time.Now()
	if w.cpu1, err = gw.cpuTime(); err != nil {
		return fail(err)
	}
	w.self1 = selfCPUTime()
	if _, w.peak, err = gw.memory(); err != nil {
		return fail(err)
	}
	if o.profiles.mem != "" {
		if err := gw.heapProfile(ctx, o.profiles.mem); err != nil {
			return fail(err)
		}
	}
	if err := <-cpuProf; err != nil {
		return fail(err)
	}
	st, err := gw.status(ctx)
	if err != nil {
		return fail(err)
	}

	// Teardown: clients first, so the gateway sees them leave.
	stopRun()
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return newBenchResult(o, c, &w, pushers, subs, st), nil
}

// window is what was sampled from the gateway over the measurement window.
type window struct {
	start, end time.Time
	cpu0, cpu1 time.Duration
	// self0 and self1 are bench's own CPU time: its pushers and
	// subscribers share the machine with the gateway.
	self0, self1 time.Duration
	rss          []int64
	peak         int64
}

// levelFilter drops records below min: the moq client logs every session at
// info, which would drown bench's own output at 100 sessions.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (h levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFilter{h.Handler.WithAttrs(as), h.min}
}

func (h levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{h.Handler.WithGroup(name), h.min}
}

// selfCPUTime is this process's user plus system CPU time.
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineLoad is the 1-minute load average, reported with the figures
// because the machine may be shared.
func machineLoad() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
