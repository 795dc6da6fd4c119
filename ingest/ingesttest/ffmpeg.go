package ingesttest

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RequireFFmpeg fails (never skips) a test that needs ffmpeg when it is
// missing.
func RequireFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("install ffmpeg: apt-get install -y ffmpeg")
	}
}

// FFmpeg runs ffmpeg with args and returns its combined output. Pushes are
// bounded by -t; the context bounds a hung ffmpeg.
func FFmpeg(t *testing.T, args ...string) (string, error) {
	t.Helper()
	RequireFFmpeg(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	args = append([]string{"-hide_banner", "-nostdin", "-loglevel", "warning", "-y"}, args...)
	out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput()
	t.Logf("ffmpeg %s\n%s", strings.Join(args, " "), out)
	return string(out), err
}
