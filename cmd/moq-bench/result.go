package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"time"
)

// benchResult is one run's figures; -json prints it as is.
type benchResult struct {
	Proto     string `json:"proto"`
	Transport string `json:"transport"`
	Draft     string `json:"draft"`
	N         int    `json:"n"`
	M         int    `json:"m"`
	// Bitrate is the -bitrate label, or the clip's own rate with -file.
	Bitrate       string   `json:"bitrate"`
	Clip          clipInfo `json:"clip"`
	WindowSeconds float64  `json:"window_s"`
	Cores         int      `json:"cores"`
	// BenchCPUPercent is the CPU the pushers and subscribers used (of one
	// core), taken from the same cores as the gateway's.
	BenchCPUPercent float64        `json:"bench_cpu_percent"`
	LoadAvg1        float64        `json:"load_avg_1m"`
	Gateway         gatewayFigures `json:"gateway"`
	Frames          frameFigures   `json:"frames"`
	Latency         latencyFigures `json:"latency_ms"`
}

type clipInfo struct {
	File       string  `json:"file"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	FPS        float64 `json:"fps"`
	GOP        float64 `json:"gop_frames"`
	BitrateBPS int64   `json:"bitrate_bps"` // video + audio
	Seconds    float64 `json:"seconds"`
}

type gatewayFigures struct {
	// CPUPercent is user+system time over the window as a percentage of
	// one core.
	CPUPercent float64 `json:"cpu_percent"`
	RSSAvg     int64   `json:"rss_avg_bytes"`
	RSSMax     int64   `json:"rss_max_sampled_bytes"`
	// RSSPeak is VmHWM (since the gateway started) or the largest sample.
	RSSPeak int64 `json:"rss_peak_bytes"`
	// GroupsDropped and IngestFrames are the gateway's own counters
	// (/status) at the window's end.
	GroupsDropped uint64 `json:"groups_dropped"`
	IngestFrames  uint64 `json:"ingest_frames"`
}

// frameFigures count video frames (the "frames" of the summary line) and
// audio frames separately. Sent and received are inside the window;
// received sums every subscription, so it approaches sent × M.
type frameFigures struct {
	Sent          int64 `json:"sent"`
	SentAudio     int64 `json:"sent_audio"`
	Expected      int64 `json:"expected"` // sent × M
	Received      int64 `json:"received"`
	ReceivedAudio int64 `json:"received_audio"`
	// Lost counts video and audio objects missing from the first object of
	// each subscription to the window's end; LostGroups the whole groups
	// among them.
	Lost       int64 `json:"lost"`
	LostGroups int64 `json:"lost_groups"`
	NoPRFT     int64 `json:"without_prft"`
}

type latencyFigures struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

func newBenchResult(o *benchOptions, c *clip, w *window, pushers []*pusher, subs []*subscriber, st *gatewayStatus) *benchResult {
	span := w.end.Sub(w.start)
	r := &benchResult{
		Proto: o.proto, Transport: o.transport, Draft: o.draft, N: o.n, M: o.m,
		Bitrate: o.bitrateText,
		Clip: clipInfo{
			File: c.path, Width: c.width, Height: c.height, FPS: c.fps(), GOP: c.gopFrames(),
			BitrateBPS: c.bitrate(), Seconds: c.period.Seconds(),
		},
		WindowSeconds: span.Seconds(),
		Cores:         runtime.NumCPU(),
		LoadAvg1:      machineLoad(),
	}
	if o.file != "" {
		r.Bitrate = formatRate(c.bitrate())
	}
	r.Gateway.CPUPercent = 100 * float64(w.cpu1-w.cpu0) / float64(span)
	r.BenchCPUPercent = 100 * float64(w.self1-w.self0) / float64(span)
	var sum int64
	for _, v := range w.rss {
		sum += v
		r.Gateway.RSSMax = max(r.Gateway.RSSMax, v)
	}
	if len(w.rss) > 0 {
		r.Gateway.RSSAvg = sum / int64(len(w.rss))
	}
	// The kernel syncs per-thread RSS counters lazily, so VmHWM can lag a
	// sample taken a moment earlier.
	r.Gateway.RSSPeak = max(w.peak, r.Gateway.RSSMax)
	for _, s := range st.Streams {
		r.Gateway.IngestFrames += s.Frames
	}
	for _, s := range st.Sessions {
		r.Gateway.GroupsDropped += s.GroupsDropped
	}
	for _, p := range pushers {
		r.Frames.Sent += p.sentVideo.Load()
		r.Frames.SentAudio += p.sentAudio.Load()
	}
	r.Frames.Expected = r.Frames.Sent * int64(o.m)
	var lat []time.Duration
	for _, s := range subs {
		for _, t := range s.tracks {
			if t.video {
				r.Frames.Received += t.received
			} else {
				r.Frames.ReceivedAudio += t.received
			}
			lost, groups := t.lost()
			r.Frames.Lost += lost
			r.Frames.LostGroups += groups
			r.Frames.NoPRFT += t.noPRFT
			lat = append(lat, t.latency...)
		}
	}
	r.Latency = latencyOf(lat)
	return r
}

// latencyOf sorts the samples and takes nearest-rank percentiles.
func latencyOf(lat []time.Duration) latencyFigures {
	if len(lat) == 0 {
		return latencyFigures{}
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(lat)))) - 1
		return ms(lat[max(i, 0)])
	}
	return latencyFigures{Samples: len(lat), P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), Max: ms(lat[len(lat)-1])}
}

// formatRate writes bits per second as 4M or 800k.
func formatRate(bps int64) string {
	if bps >= 1_000_000 {
		return strconv.FormatFloat(float64(bps)/1e6, 'g', 3, 64) + "M"
	}
	return strconv.FormatFloat(float64(bps)/1e3, 'g', 3, 64) + "k"
}

// print writes the summary line, or the JSON document.
func (r *benchResult) print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	_, err := io.WriteString(w, r.line()+"\n")
	return err
}

// line is the one-line summary.
func (r *benchResult) line() string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
	received := fmt.Sprintf("received %d", r.Frames.Received)
	if r.M != 1 {
		received += fmt.Sprintf(" (M×sent %d)", r.Frames.Expected)
	}
	return fmt.Sprintf("proto=%s N=%d M=%d bitrate=%s  gateway CPU %.1f%% (of 1 core; %d cores)  RSS avg %.0f MB peak %.0f MB  "+
		"frames sent %d %s lost %d  latency p50 %s ms p99 %s ms max %s ms  load %.2f",
		r.Proto, r.N, r.M, r.Bitrate, r.Gateway.CPUPercent, r.Cores,
		float64(r.Gateway.RSSAvg)/1e6, float64(r.Gateway.RSSPeak)/1e6,
		r.Frames.Sent, received, r.Frames.Lost,
		g(r.Latency.P50), g(r.Latency.P99), g(r.Latency.Max), r.LoadAvg1)
}
