package moq

import (
	"context"
	"fmt"
	"slices"
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
			if s.Context().Err() != nil {
				continue // replaced, on its way out
			}
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

	// Ten broadcasts end: their requests are spent all the same (a moq-rs
	// session has 50 over its life), so ten new ones go to the session
	// that has requests left.
	for _, b := range bcs[:10] {
		b.Close()
	}
	for i := range 10 {
		b, err := origin.Publish(Namespace{"live", fmt.Sprintf("new%02d", i)}, nil)
		require.NoError(t, err)
		bcs = append(bcs, b)
	}
	require.Eventually(t, func() bool {
		_, all := announced()
		return len(all) == 60 && all["live/cam00"] == 0
	}, 10*time.Second, 10*time.Millisecond, "every new broadcast announced")
	require.Len(t, u.Status(), 2)

	// The broadcasts of the session that has spent its requests end: with
	// nothing to carry, it reconnects for a fresh budget, and 45 more
	// broadcasts are announced without a third session.
	u.mu.Lock()
	full := slices.Index(u.spent, moqRSMaxRequests)
	require.GreaterOrEqual(t, full, 0, "a session has spent its requests: %v", u.spent)
	var onFull []*Broadcast
	for _, b := range bcs {
		if a, ok := u.assign[b.Namespace().key()]; ok && a.shard == full {
			onFull = append(onFull, b)
		}
	}
	u.mu.Unlock()
	var first *Session
	for _, sess := range srv.Sessions() {
		if sess.requestsReceived() == moqRSMaxRequests {
			first = sess
		}
	}
	require.NotNil(t, first)
	for _, b := range onFull {
		b.Close()
	}
	require.Eventually(t, func() bool { return first.Context().Err() != nil }, 10*time.Second, 10*time.Millisecond,
		"the spent session is replaced")
	for i := range 45 {
		_, err := origin.Publish(Namespace{"live", fmt.Sprintf("more%02d", i)}, nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		_, all := announced()
		return len(all) == 60-len(onFull)+45
	}, 10*time.Second, 10*time.Millisecond, "the remaining and 45 new broadcasts announced")
	per, _ = announced()
	require.Len(t, per, 2)
	require.Len(t, u.Status(), 2)
	for _, sess := range srv.Sessions() {
		require.LessOrEqual(t, sess.requestsReceived(), moqRSMaxRequests, "requests on one session")
	}
}

// requestsReceived is the number of request IDs the peer has used.
func (s *Session) requestsReceived() int {
	r := s.ids
	r.mu.Lock()
	defer r.mu.Unlock()
	return int(r.expect-r.parity) / 2
}

// A session that still sees an ended broadcast (an announce loop working
// through an older list) does not get it assigned again, which would pin
// a slot for ever; a new broadcast on the same namespace gets its own.
func TestUpstreamShardOfEndedBroadcast(t *testing.T) {
	origin := NewOrigin()
	u := NewUpstream(origin, UpstreamConfig{MoqRSDraft14: true, Logger: testLogger()})
	counts := func() int { u.mu.Lock(); defer u.mu.Unlock(); return u.counts[0] }
	ns := Namespace{"live", "a"}
	b, err := origin.Publish(ns, nil)
	require.NoError(t, err)
	sh := u.shards[0]
	require.True(t, sh.filter(b))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); u.releaseEnded(ctx) }()
	defer func() { cancel(); <-done }()
	require.Eventually(t, func() bool {
		origin.mu.Lock()
		defer origin.mu.Unlock()
		return len(origin.watchers) == 1
	}, rawTimeout, time.Millisecond, "releaseEnded watches the origin")
	b.Close()
	require.Eventually(t, func() bool { return counts() == 0 }, rawTimeout, time.Millisecond)
	require.False(t, sh.filter(b), "an ended broadcast is not announced")
	require.Zero(t, counts())

	b2, err := origin.Publish(ns, nil)
	require.NoError(t, err)
	require.True(t, sh.filter(b2))
	require.Equal(t, 1, counts())
	b2.Close()
	require.Eventually(t, func() bool { return counts() == 0 }, rawTimeout, time.Millisecond)
}
