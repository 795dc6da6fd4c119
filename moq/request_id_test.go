package moq

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

var drafts = []wire.Version{wire.Draft14, wire.Draft16}

// serverSession returns the one session srv serves.
func serverSession(t testing.TB, srv *Server) *Session {
	t.Helper()
	var s *Session
	require.Eventually(t, func() bool {
		ss := srv.Sessions()
		if len(ss) == 1 {
			s = ss[0]
		}
		return s != nil
	}, rawTimeout, time.Millisecond)
	<-s.ready
	return s
}

// unknownSubscribe is a SUBSCRIBE the server refuses at once.
func unknownSubscribe(id uint64) *wire.Subscribe {
	return &wire.Subscribe{
		RequestID: id, Namespace: wire.Namespace{"none"}, TrackName: "x",
		SubscriberPriority: 1, Forward: true, Filter: wire.Filter{Type: wire.FilterLargestObject},
	}
}

func TestRequestIDViolations(t *testing.T) {
	cases := []struct {
		name     string
		versions []wire.Version
		ids      []uint64 // request IDs the client uses in turn
		want     wire.SessionErrorCode
	}{
		{"server parity", drafts, []uint64{1}, wire.SessionInvalidRequestID},
		{"reused", drafts, []uint64{0, 2, 2}, wire.SessionInvalidRequestID},
		{"decreasing", drafts, []uint64{0, 2, 0}, wire.SessionInvalidRequestID},
		{"skipped", []wire.Version{wire.Draft14}, []uint64{0, 4}, wire.SessionInvalidRequestID},
		{"skipped too far", []wire.Version{wire.Draft16}, []uint64{0, 2 + 2*(maxReorderedRequests+1)}, wire.SessionInvalidRequestID},
		{"at the maximum", drafts, []uint64{100}, wire.SessionTooManyRequests},
		{"above the maximum", drafts, []uint64{0, 2, 4000}, wire.SessionTooManyRequests},
	}
	for _, tc := range cases {
		for _, v := range tc.versions {
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				_, addr := testServer(t, NewOrigin(), SessionConfig{RequestWindow: 100})
				p, ss := dialRaw(t, addr, v, wire.SetupParams{})
				require.Equal(t, uint64(100), ss.Params.MaxRequestID)
				last := len(tc.ids) - 1
				for i, id := range tc.ids {
					p.send(unknownSubscribe(id))
					if i < last {
						m := p.readUntil(func(m wire.Message) bool {
							_, ok := m.(*wire.RequestError)
							return ok
						})
						require.Equal(t, id, m.(*wire.RequestError).RequestID)
					}
				}
				code, reason := p.closed()
				require.Equal(t, tc.want, code, reason)
			})
		}
	}
}

// A draft-16 peer's request that travels on its own stream may be overtaken
// by the next one on the control stream: skipped IDs stay usable once.
func TestRequestIDReorderDraft16(t *testing.T) {
	_, addr := testServer(t, NewOrigin(), SessionConfig{})
	p, _ := dialRaw(t, addr, wire.Draft16, wire.SetupParams{})
	for _, id := range []uint64{0, 4, 2, 6} {
		p.send(unknownSubscribe(id))
		m := p.readUntil(func(m wire.Message) bool { _, ok := m.(*wire.RequestError); return ok })
		require.Equal(t, id, m.(*wire.RequestError).RequestID)
	}
	p.send(unknownSubscribe(2)) // used already
	code, _ := p.closed()
	require.Equal(t, wire.SessionInvalidRequestID, code)
}

// MAX_REQUEST_ID grows as the peer uses request IDs, so a well-behaved peer
// is never blocked.
func TestMaxRequestIDGrows(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			_, addr := testServer(t, NewOrigin(), SessionConfig{RequestWindow: 4})
			p, ss := dialRaw(t, addr, v, wire.SetupParams{})
			limit := ss.Params.MaxRequestID
			require.Equal(t, uint64(4), limit)
			var raises []uint64
			for range 20 {
				id := p.nextID()
				require.Less(t, id, limit, "the server must raise the limit before the peer needs it")
				p.send(unknownSubscribe(id))
				for {
					m := p.read()
					if mr, ok := m.(*wire.MaxRequestID); ok {
						require.Greater(t, mr.RequestID, limit)
						limit = mr.RequestID
						raises = append(raises, limit)
						continue
					}
					require.IsType(t, &wire.RequestError{}, m)
					break
				}
			}
			require.GreaterOrEqual(t, len(raises), 9)
		})
	}
}

// The peer's MAX_REQUEST_ID may only grow.
func TestMaxRequestIDMustGrow(t *testing.T) {
	for _, v := range drafts {
		for _, next := range []uint64{99, 100} {
			t.Run(fmt.Sprintf("%s/%d", v, next), func(t *testing.T) {
				_, addr := testServer(t, NewOrigin(), SessionConfig{})
				p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 100})
				p.send(&wire.MaxRequestID{RequestID: next})
				code, _ := p.closed()
				require.Equal(t, wire.SessionProtocolViolation, code)
			})
		}
	}
}

// Out of request IDs, the server says REQUESTS_BLOCKED once per limit and
// continues announcing when the peer raises it.
func TestRequestsBlocked(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			for i := range 8 {
				_, err := origin.Publish(Namespace{"live", fmt.Sprintf("cam%d", i)}, nil)
				require.NoError(t, err)
			}
			_, addr := testServer(t, origin, SessionConfig{})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 6}) // server IDs 1, 3, 5
			announced := 0
			for announced < 3 {
				if _, ok := p.read().(*wire.PublishNamespace); ok {
					announced++
				}
			}
			m := p.read()
			require.Equal(t, &wire.RequestsBlocked{MaximumRequestID: 6}, m)
			p.send(&wire.MaxRequestID{RequestID: 100})
			for announced < 8 {
				m := p.read()
				pn, ok := m.(*wire.PublishNamespace)
				require.True(t, ok, "got %T", m)
				require.Equal(t, uint64(2*announced+1), pn.RequestID)
				announced++
			}
			_, err := p.tryRead(50 * time.Millisecond)
			require.Error(t, err, "nothing else follows")
		})
	}
}

// forbiddenForMoqRS are the messages that make a moq-rs draft-14 endpoint
// close the session.
func forbiddenForMoqRS(m wire.Message) bool {
	switch m.(type) {
	case *wire.MaxRequestID, *wire.RequestsBlocked, *wire.GoAway:
		return true
	}
	return false
}

// Towards a moq-rs draft-14 peer the server sends neither MAX_REQUEST_ID,
// REQUESTS_BLOCKED nor GOAWAY and makes at most 50 requests.
func TestMoqRSPeerQuirksServer(t *testing.T) {
	cases := []struct {
		name  string
		cfg   SessionConfig
		impl  string
		moqRS bool
	}{
		{"configured", SessionConfig{MoqRSDraft14: true, RequestWindow: 4}, "", true},
		{"implementation", SessionConfig{RequestWindow: 4}, "moq-rs/moq-relay-ietf 0.7", true},
		{"other peer", SessionConfig{RequestWindow: 4}, "libquicr", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			for i := range 60 {
				_, err := origin.Publish(Namespace{"live", fmt.Sprintf("cam%d", i)}, nil)
				require.NoError(t, err)
			}
			srv, addr := testServer(t, origin, tc.cfg)
			p, _ := dialRaw(t, addr, wire.Draft14, wire.SetupParams{MaxRequestID: 1000, Implementation: tc.impl})
			sess := serverSession(t, srv)
			require.Equal(t, tc.moqRS, sess.moqRS)

			var announces, forbidden int
			count := func(m wire.Message) {
				if pn, ok := m.(*wire.PublishNamespace); ok {
					announces++
					p.send(&wire.RequestOK{Kind: wire.KindPublishNamespace, RequestID: pn.RequestID})
				}
				if forbiddenForMoqRS(m) {
					forbidden++
				}
			}
			// Ten requests: a window of 4 would need raising three times.
			// A moq-rs client cannot be sent MAX_REQUEST_ID, so it keeps
			// the window of its SETUP (two client IDs below 4).
			requests := 10
			if tc.moqRS {
				requests = 2
			}
			for range requests {
				p.send(unknownSubscribe(p.nextID()))
				for {
					m := p.read()
					count(m)
					if _, ok := m.(*wire.RequestError); ok {
						break
					}
				}
			}
			wantAnnounces := 60
			if tc.moqRS {
				wantAnnounces = 50 // moq-rs allows 100 request IDs: 50 for each side
			}
			for announces < wantAnnounces {
				count(p.read())
			}
			go sess.CloseGracefully(2 * time.Second)
			for {
				m, err := p.tryRead(rawTimeout)
				if err != nil {
					break
				}
				count(m)
				if _, ok := m.(*wire.GoAway); ok {
					p.c.CloseWithError(0, "migrating") // as a client should
				}
			}
			code, _ := p.closed()
			require.Equal(t, wire.SessionNoError, code)
			require.Equal(t, wantAnnounces, announces)
			if tc.moqRS {
				require.Zero(t, forbidden)
			} else {
				require.Positive(t, forbidden) // MAX_REQUEST_ID and GOAWAY
			}
		})
	}
}

// As a client of a moq-rs draft-14 relay the session sends neither
// MAX_REQUEST_ID nor REQUESTS_BLOCKED and makes at most 50 requests.
func TestMoqRSPeerQuirksClient(t *testing.T) {
	cases := []struct {
		name       string
		configured bool
		impl       string
	}{
		{"configured", true, "relay"},
		{"implementation", false, "moq-rs moq-relay-ietf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			type result struct{ announces, forbidden int }
			res := make(chan result, 1)
			closeClient := make(chan struct{})
			addr := rawServer(t, wire.ALPNDraft14, func(p *rawPeer) {
				var r result
				defer func() { res <- r }()
				cs, ok := p.read().(*wire.ClientSetup)
				if !ok || len(cs.Versions) == 0 {
					return
				}
				p.send(&wire.ServerSetup{SelectedVersion: wire.Draft14, Params: wire.SetupParams{MaxRequestID: 1000, Implementation: tc.impl}})
				count := func(m wire.Message) {
					if pn, ok := m.(*wire.PublishNamespace); ok {
						r.announces++
						p.send(&wire.RequestOK{Kind: wire.KindPublishNamespace, RequestID: pn.RequestID})
					}
					if forbiddenForMoqRS(m) {
						r.forbidden++
					}
				}
				for range 10 {
					p.send(unknownSubscribe(p.nextID()))
					for {
						m, err := p.tryRead(rawTimeout)
						if err != nil {
							return
						}
						count(m)
						if _, ok := m.(*wire.RequestError); ok {
							break
						}
					}
				}
				for r.announces < 50 {
					m, err := p.tryRead(rawTimeout)
					if err != nil {
						return
					}
					count(m)
				}
				close(closeClient)
				for {
					m, err := p.tryRead(rawTimeout)
					if err != nil {
						return
					}
					count(m)
				}
			})
			origin := NewOrigin()
			for i := range 60 {
				_, err := origin.Publish(Namespace{"live", fmt.Sprintf("cam%d", i)}, nil)
				require.NoError(t, err)
			}
			s := dialTestWith(t, "moqt://"+addr, DialOptions{
				Origin:   origin,
				Versions: []wire.Version{wire.Draft14},
				Session:  SessionConfig{MoqRSDraft14: tc.configured, RequestWindow: 4},
			})
			select {
			case <-closeClient:
			case <-time.After(rawTimeout):
				t.Fatal("the relay did not receive 50 announcements")
			}
			require.True(t, s.moqRS)
			s.CloseGracefully(time.Second)
			r := <-res
			require.Equal(t, 50, r.announces)
			require.Zero(t, r.forbidden)
		})
	}
}
