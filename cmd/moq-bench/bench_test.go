package main

import (
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestBench runs the whole tool at N=1 M=1 for a few seconds on a tiny
// clip. Timing figures depend on the machine, so it checks counts and
// structure only.
func TestBench(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("install ffmpeg: apt-get install -y ffmpeg")
	}
	gateway, clipPath := testGatewayAndClip(t)
	for _, proto := range []string{"rtmp", "srt"} {
		t.Run(proto, func(t *testing.T) { testBench(t, proto, gateway, clipPath) })
	}
}

// testGatewayAndClip builds the moq-gateway binary and encodes a tiny clip
// for the test.
func testGatewayAndClip(t *testing.T) (gateway, clip string) {
	t.Helper()
	gateway = filepath.Join(t.TempDir(), "moq-gateway")
	build := exec.Command("go", "build", "-o", gateway, "../moq-gateway")
	build.Stderr = testLogWriter{t}
	require.NoError(t, build.Run(), "go build ./cmd/moq-gateway")
	clip = filepath.Join(t.TempDir(), "clip.mp4")
	require.NoError(t, encodeClip(t.Context(), clipSpec{width: 320, height: 180, fps: 30, gop: 30, seconds: 2, bitrate: 200_000}, clip))
	return gateway, clip
}

// TestAttack runs the attack check against the real binary: every attack
// held by the default bounds, and the healthy stream loses nothing.
func TestAttack(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("install ffmpeg: apt-get install -y ffmpeg")
	}
	gateway, clipPath := testGatewayAndClip(t)
	out := testLogWriter{t}
	o, err := parseBenchFlags([]string{"-attack", "-gateway", gateway, "-file", clipPath}, out)
	require.NoError(t, err)
	var report strings.Builder
	err = runAttack(t.Context(), o, slog.New(slog.NewTextHandler(out, nil)), &report, out)
	t.Log(report.String())
	require.NoError(t, err)
	require.Len(t, regexp.MustCompile(`(?m)^held `).FindAllString(report.String(), -1), 5, report.String())
}

func testBench(t *testing.T, proto, gateway, clipPath string) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	out := testLogWriter{t}
	// The warm-up covers gortmplib's 2 s track probe in the gateway, with
	// room for a CI machine busy with other packages' tests.
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "heap.pprof")
	o, err := parseBenchFlags([]string{
		"-gateway", gateway, "-proto", proto, "-n", "1", "-m", "1", "-warmup", "6s", "-duration", "2s",
		"-file", clipPath, "-cpuprofile", cpu, "-memprofile", mem,
	}, out)
	require.NoError(t, err)
	res, err := runBenchmark(t.Context(), o, slog.New(slog.NewTextHandler(out, nil)), out)
	require.NoError(t, err)
	for _, p := range []string{cpu, mem} {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Equal(t, []byte{0x1f, 0x8b}, b[:2], "%s is a gzipped pprof profile from the gateway", p)
	}
	f := res.Frames
	require.Positive(t, f.Sent)
	require.Positive(t, f.SentAudio)
	require.Positive(t, f.Received)
	require.Positive(t, f.ReceivedAudio)
	require.Zero(t, f.Lost)
	require.Zero(t, f.NoPRFT)
	require.Equal(t, f.Sent, f.Expected)
	l := res.Latency
	require.Equal(t, int(f.Received+f.ReceivedAudio), l.Samples, "one latency sample per object")
	require.LessOrEqual(t, l.P50, l.P99)
	require.LessOrEqual(t, l.P99, l.Max)
	require.Positive(t, res.Gateway.RSSAvg)
	require.GreaterOrEqual(t, res.Gateway.RSSPeak, res.Gateway.RSSAvg)
	require.Positive(t, res.Gateway.IngestFrames)
	require.Equal(t, 320, res.Clip.Width)

	line := res.line()
	require.True(t, strings.HasPrefix(line, "proto="+proto+" N=1 M=1 bitrate="), line)
	for _, part := range []string{"gateway CPU", "RSS avg", "frames sent", "latency p50", "p99", "max"} {
		require.Contains(t, line, part)
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	for _, k := range []string{"gateway", "frames", "latency_ms", "clip", "cores"} {
		require.Contains(t, doc, k)
	}
}

func TestBenchLost(t *testing.T) {
	type obj struct{ group, id uint64 }
	seq := func(group uint64, ids ...uint64) []obj {
		out := make([]obj, len(ids))
		for i, id := range ids {
			out[i] = obj{group, id}
		}
		return out
	}
	cat := func(parts ...[]obj) []obj {
		var out []obj
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name           string
		objs           []obj
		objects, group int64
	}{
		{"complete", cat(seq(7, 0, 1, 2), seq(8, 0, 1, 2), seq(9, 0)), 0, 0},
		{"joined mid-group", cat(seq(7, 2, 3), seq(8, 0, 1, 2, 3)), 0, 0},
		{"hole", cat(seq(7, 0, 2, 3), seq(8, 0)), 1, 0},
		{"hole in the last group is not judged", cat(seq(7, 0, 1, 2, 3), seq(8, 0, 2)), 0, 0},
		{"skipped groups", cat(seq(7, 0, 1, 2, 3), seq(10, 0)), 8, 2},
		{"out of order", cat(seq(7, 0, 1), seq(8, 0), seq(7, 2, 3), seq(8, 1, 2, 3), seq(9, 0)), 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := &subTrack{gop: 4, groups: map[uint64]*groupTally{}}
			for _, o := range tc.objs {
				tr.tally(o.group, o.id)
			}
			objects, groups := tr.lost()
			require.Equal(t, tc.objects, objects)
			require.Equal(t, tc.group, groups)
		})
	}
}

func TestPRFTTime(t *testing.T) {
	at := time.Date(2026, 5, 4, 3, 2, 1, 500_000_000, time.UTC)
	b := make([]byte, 32)
	binary.BigEndian.PutUint32(b, 32)
	copy(b[4:], "prft")
	b[8] = 1
	binary.BigEndian.PutUint64(b[16:], uint64(at.Unix()+2208988800)<<32|1<<31)
	got, ok := prftTime(b)
	require.True(t, ok)
	require.True(t, got.Equal(at), "%v", got)

	_, ok = prftTime(append([]byte{0, 0, 0, 32, 'm', 'o', 'o', 'f'}, b[8:]...))
	require.False(t, ok)
	_, ok = prftTime(b[:20])
	require.False(t, ok)
}

// testLogWriter sends the gateway's and bench's logs to the test log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
