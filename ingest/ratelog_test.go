package ingest

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		l := NewRateLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		})), slog.LevelWarn, "corrupt input")
		for range 5 {
			l.Log("n", 1)
		}
		time.Sleep(DefaultLogEvery)
		l.Log("n", 2)
		time.Sleep(DefaultLogEvery / 2)
		l.Log("n", 3)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		require.Equal(t, []string{
			`level=WARN msg="corrupt input" n=1 suppressed=0`,
			`level=WARN msg="corrupt input" n=2 suppressed=4`,
		}, lines)
	})
}
