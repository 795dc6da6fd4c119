//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// probed is what ffprobe says about the first stream of a file.
type probed struct {
	Codec      string
	Width      int
	Height     int
	SampleRate int
	Channels   int
	Packets    int
	// FirstKey says the first packet is a keyframe.
	FirstKey bool
	// Duration is last minus first presentation timestamp, in seconds.
	Duration float64
}

// probe runs ffprobe on file, and requires ffmpeg to decode it without an
// error.
func probe(t *testing.T, file string) probed {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets",
		"-show_entries", "stream=codec_name,width,height,sample_rate,channels,nb_read_packets",
		"-of", "json", file).Output()
	require.NoError(t, err, "ffprobe %s", file)
	var doc struct {
		Streams []struct {
			CodecName     string `json:"codec_name"`
			Width         int    `json:"width"`
			Height        int    `json:"height"`
			SampleRate    string `json:"sample_rate"`
			Channels      int    `json:"channels"`
			NbReadPackets string `json:"nb_read_packets"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal(out, &doc))
	require.Len(t, doc.Streams, 1, "%s: streams", file)
	s := doc.Streams[0]
	p := probed{Codec: s.CodecName, Width: s.Width, Height: s.Height, Channels: s.Channels}
	p.SampleRate, _ = strconv.Atoi(s.SampleRate)
	p.Packets, _ = strconv.Atoi(s.NbReadPackets)

	pk, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "packet=pts_time,flags",
		"-of", "csv=p=0", file).Output()
	require.NoError(t, err)
	lines := strings.Fields(strings.TrimSpace(string(pk)))
	require.NotEmpty(t, lines, "%s has no packets", file)
	first := strings.Split(lines[0], ",")
	p.FirstKey = len(first) > 1 && strings.HasPrefix(first[1], "K")
	minT, maxT := 1e18, -1e18
	for _, l := range lines {
		v, err := strconv.ParseFloat(strings.Split(l, ",")[0], 64)
		if err != nil {
			continue
		}
		minT, maxT = min(minT, v), max(maxT, v)
	}
	p.Duration = maxT - minT

	dec := exec.Command("ffmpeg", "-v", "error", "-i", file, "-f", "null", "-")
	msg, err := dec.CombinedOutput()
	require.NoError(t, err, "decode %s: %s", file, msg)
	require.Empty(t, strings.TrimSpace(string(msg)), "ffmpeg reports errors decoding %s", file)
	return p
}

// requireDecodes requires ffmpeg to decode file without printing an error.
func requireDecodes(t *testing.T, file string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-i", file, "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, "ffmpeg %s: %s", file, out)
	require.Empty(t, strings.TrimSpace(string(out)), "ffmpeg decoding %s", file)
}

// waitFileSize waits until file holds at least n bytes.
func waitFileSize(t *testing.T, file string, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if fi, err := os.Stat(file); err == nil && fi.Size() >= n {
			return
		}
		require.True(t, time.Now().Before(deadline), "%s never reached %d bytes", file, n)
		time.Sleep(50 * time.Millisecond)
	}
}
