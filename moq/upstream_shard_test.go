package moq

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// Against a relay that says it is moq-rs on draft-14 (50 requests per
// session), an upstream publishing 60 broadcasts opens a second session:
// every namespace is announced once, no session carries more than 50, and
// a broadcast that ends frees its slot.
func TestUpstreamShardsForMoqRS(t *testing.T) {
	relay := NewOrigin()
	srv := &Server{Origin: relay, Session: SessionConfig{Implementation: "moq-rs (relay test)", NoAnnounce: true, AcceptNamespaces: true}}
	addr := testServerWith(t, srv)

	origin := NewOrigin()
	var bcs []*Broadcast
	for i := range 60 {
		b, err := origin.Publish(Namespace{"live", fmt.Sprintf("cam%02d", i)}, nil)
		require.NoError(t, err)
		bcs = append(bcs, b)
	}
	u := NewUpstream(origin, UpstreamConfig{
		Name: "rs", URL: "moqt://" + addr, Versions: []wire.Version{wire.Draft14},
		TLSConfig: insecureTLS(), Logger: testLogger(),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = u.Run(ctx) }()
	defer func() { cancel(); <-done }()

	announced := func() (perSession []int, all map[string]int) {
		all = map[string]int{}
		for _, s := range srv.Sessions() {
			ns := s.Announced()
			perSession = append(perSession, len(ns))
			for _, n := range ns {
				all[n.String()]++
			}
		}
		return perSession, all
	}
	require.Eventually(t, func() bool { _, all := announced(); return len(all) == 60 }, 10*time.Second, 10*time.Millisecond)
	per, all := announced()
	require.Len(t, per, 2, "a second session for the namespaces past 50")
	for _, n := range per {
		require.LessOrEqual(t, n, moqRSMaxRequests)
	}
	for ns, n := range all {
		require.Equal(t, 1, n, "%s announced once", ns)
	}
	require.Len(t, u.Status(), 2)

	// Ten broadcasts end; ten new ones fit in the freed slots without a
	// third session.
	for _, b := range bcs[:10] {
		b.Close()
	}
	for i := range 10 {
		_, err := origin.Publish(Namespace{"live", fmt.Sprintf("new%02d", i)}, nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		_, all := announced()
		return all["live/new09"] == 1 && all["live/cam00"] == 0
	}, 10*time.Second, 10*time.Millisecond)
	require.Len(t, u.Status(), 2)
}
