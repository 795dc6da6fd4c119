//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	// gatewayBin is the moq-gateway binary under test.
	gatewayBin string
	// clip is a pre-encoded 8 s 1280x720 30 fps H.264 (High, B-frames,
	// GOP 30) + AAC 48 kHz stereo MP4 that publishers push without
	// re-encoding, so tests spend no CPU on encoding.
	clip string
)

const (
	clipSeconds = 8
	clipFPS     = 30
	clipGOP     = 30
	clipFrames  = clipSeconds * clipFPS
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s not found: install it (apt-get install -y ffmpeg) or run ./scripts/test.sh\n", tool)
			return 1
		}
	}
	dir, err := os.MkdirTemp("", "moqgw-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	gatewayBin = filepath.Join(dir, "moq-gateway")
	build := exec.Command("go", "build", "-o", gatewayBin, "../cmd/moq-gateway")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build:", err)
		return 1
	}
	clip = filepath.Join(dir, "clip.mp4")
	enc := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=1280x720:rate=%d", clipFPS),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(clipSeconds),
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "2",
		"-g", fmt.Sprint(clipGOP), "-keyint_min", fmt.Sprint(clipGOP), "-sc_threshold", "0", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "128k", "-ac", "2",
		clip)
	enc.Stdout, enc.Stderr = os.Stderr, os.Stderr
	if err := enc.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: encode test clip:", err)
		return 1
	}
	return m.Run()
}
