package gateway

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/stream"
)

// TestMetricsWithShardedRelay: a relay with several sessions is one series
// per metric (a duplicate series makes the whole scrape fail).
func TestMetricsWithShardedRelay(t *testing.T) {
	cfg := config.Default()
	cfg.Relays = []config.Relay{{Name: "edge", URL: "moqt://127.0.0.1:1", Sessions: 2}}
	origin := moq.NewOrigin()
	log := slog.New(slog.DiscardHandler)
	g := &Gateway{
		cfg: cfg, log: log, origin: origin,
		reg:    stream.New(stream.Config{Origin: origin}),
		relays: newRelaySet(cfg, origin, log),
	}
	defer g.reg.Close()
	require.Len(t, g.relays.status(), 2, "two sessions")
	for _, path := range []string{"/metrics", "/status", "/health"} {
		rec := httptest.NewRecorder()
		g.statusHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", path, rec.Body)
	}
	rec := httptest.NewRecorder()
	g.statusHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Contains(t, rec.Body.String(), `moqgw_relay_connected{relay="edge"} 0`)
	rec = httptest.NewRecorder()
	g.statusHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
	require.Equal(t, http.StatusNotFound, rec.Code, "pprof only on request")
}
