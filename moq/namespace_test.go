package moq

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/Eyevinn/moqtransport"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// announcedNow reports whether the session currently knows ns as announced.
func announcedNow(s *Session, ns Namespace) bool {
	return slices.ContainsFunc(s.Announced(), ns.Equal)
}

// Every live broadcast is announced to each session, new ones as they
// start, and withdrawn with PUBLISH_NAMESPACE_DONE when they end.
func TestAnnounceLifecycle(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			b1, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			srv, addr := testServer(t, origin, SessionConfig{})
			s := dialTest(t, tc.url(addr), tc.version)
			ctx := testCtx(t)
			require.NoError(t, s.WaitAnnounced(ctx, cam1))

			cam2 := Namespace{"live", "cam2"}
			b2, err := origin.Publish(cam2, nil)
			require.NoError(t, err)
			require.NoError(t, s.WaitAnnounced(ctx, cam2))
			sess := serverSession(t, srv)
			require.Eventually(t, func() bool { return sess.Stats().AnnouncesAcked == 2 }, rawTimeout, time.Millisecond)
			require.Equal(t, 2, sess.Stats().AnnouncesSent)

			b1.Close()
			require.Eventually(t, func() bool { return !announcedNow(s, cam1) }, rawTimeout, time.Millisecond)
			require.True(t, announcedNow(s, cam2))
			b2.Close()
			require.Eventually(t, func() bool { return len(s.Announced()) == 0 }, rawTimeout, time.Millisecond)
		})
	}
}

// The subscriber's answers to PUBLISH_NAMESPACE: OK, ERROR (recorded as the
// last refusal, no PUBLISH_NAMESPACE_DONE later), CANCEL (no DONE either).
func TestPublishNamespaceAnswers(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			var bs []*Broadcast
			for i := 1; i <= 4; i++ {
				b, err := origin.Publish(Namespace{"live", fmt.Sprintf("cam%d", i)}, nil)
				require.NoError(t, err)
				bs = append(bs, b)
			}
			srv, addr := testServer(t, origin, SessionConfig{})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 1000})
			ids := map[string]uint64{}
			for len(ids) < 4 {
				pn, ok := p.read().(*wire.PublishNamespace)
				require.True(t, ok)
				name := pn.Namespace[1]
				ids[name] = pn.RequestID
				switch name {
				case "cam2":
					p.send(&wire.RequestError{Kind: wire.KindPublishNamespace, RequestID: pn.RequestID, Code: wire.RequestUnauthorized, Reason: "bad token"})
				default:
					p.send(&wire.RequestOK{Kind: wire.KindPublishNamespace, RequestID: pn.RequestID})
				}
			}
			p.send(&wire.PublishNamespaceCancel{RequestID: ids["cam3"], Namespace: wire.Namespace{"live", "cam3"}, Code: wire.RequestUninterested, Reason: "not now"})
			p.sync()
			sess := serverSession(t, srv)
			require.Equal(t, &RequestError{Code: wire.RequestUnauthorized, Reason: "bad token"}, sess.LastRefusal())
			require.Equal(t, 3, sess.Stats().AnnouncesAcked)

			for _, b := range bs {
				b.Close()
			}
			var done []wire.Message
			for len(done) < 2 {
				done = append(done, p.read())
			}
			want := []wire.Message{
				&wire.PublishNamespaceDone{RequestID: ids["cam1"]},
				&wire.PublishNamespaceDone{RequestID: ids["cam4"]},
			}
			if v == wire.Draft14 {
				want = []wire.Message{
					&wire.PublishNamespaceDone{Namespace: wire.Namespace{"live", "cam1"}},
					&wire.PublishNamespaceDone{Namespace: wire.Namespace{"live", "cam4"}},
				}
			}
			require.Equal(t, want, done)
			p.quiet(50 * time.Millisecond) // no DONE for the refused and cancelled namespaces
		})
	}
}

// nextEvent reads one namespace event.
func nextEvent(t *testing.T, ctx context.Context, n *NamespaceSubscription) NamespaceEvent {
	t.Helper()
	ev, err := n.Next(ctx)
	require.NoError(t, err)
	return ev
}

func TestSubscribeNamespace(t *testing.T) {
	for _, noAnnounce := range []bool{false, true} {
		for _, tc := range transports {
			t.Run(fmt.Sprintf("%s/noannounce=%v", tc.name, noAnnounce), func(t *testing.T) {
				origin := NewOrigin()
				b1, err := origin.Publish(cam1, nil)
				require.NoError(t, err)
				_, err = origin.Publish(Namespace{"other", "x"}, nil)
				require.NoError(t, err)
				_, addr := testServer(t, origin, SessionConfig{NoAnnounce: noAnnounce})
				s := dialTest(t, tc.url(addr), tc.version)
				ctx := testCtx(t)
				if !noAnnounce {
					// The announcements precede the subscription: draft-14
					// replays them to it.
					require.NoError(t, s.WaitAnnounced(ctx, cam1))
					require.NoError(t, s.WaitAnnounced(ctx, Namespace{"other", "x"}))
				}
				n, err := s.SubscribeNamespace(ctx, Namespace{"live"})
				require.NoError(t, err)
				require.Equal(t, NamespaceEvent{Namespace: cam1, Active: true}, nextEvent(t, ctx, n))

				cam2 := Namespace{"live", "cam2"}
				_, err = origin.Publish(cam2, nil)
				require.NoError(t, err)
				_, err = origin.Publish(Namespace{"other", "y"}, nil)
				require.NoError(t, err)
				require.Equal(t, NamespaceEvent{Namespace: cam2, Active: true}, nextEvent(t, ctx, n))
				b1.Close()
				require.Equal(t, NamespaceEvent{Namespace: cam1}, nextEvent(t, ctx, n))

				// Overlapping prefixes are refused.
				_, err = s.SubscribeNamespace(ctx, cam1)
				require.ErrorIs(t, err, &RequestError{Code: wire.RequestPrefixOverlap})
				_, err = s.SubscribeNamespace(ctx, Namespace{})
				if tc.version != wire.Draft14 {
					require.ErrorIs(t, err, &RequestError{Code: wire.RequestPrefixOverlap})
				} else {
					require.Error(t, err, "draft-14 prefixes have at least one field")
				}

				if noAnnounce && tc.version != wire.Draft14 {
					require.Empty(t, s.Announced(), "draft-16 namespaces come on the subscription's stream")
				}
				if noAnnounce && tc.version == wire.Draft14 {
					require.False(t, announcedNow(s, Namespace{"other", "y"}), "only what was subscribed to")
				}
				require.NoError(t, n.Close())
				_, err = n.Next(ctx)
				require.ErrorIs(t, err, io.EOF)
			})
		}
	}
}

// A draft-14 prefix without fields is a protocol violation, so the client
// refuses to send it; the session survives.
func TestSubscribeNamespaceEmptyPrefixDraft14(t *testing.T) {
	_, addr := testServer(t, NewOrigin(), SessionConfig{})
	s := dialTest(t, "moqt://"+addr, wire.Draft14)
	_, err := s.SubscribeNamespace(testCtx(t), Namespace{})
	require.Error(t, err)
	require.NoError(t, s.Err())
}

// Eyevinn/moqtransport's SubscribeAnnouncements (draft-14 SUBSCRIBE_NAMESPACE
// on the control stream, also on draft-16) is answered and the matching
// namespaces are announced.
func TestEyevinnSubscribeAnnouncements(t *testing.T) {
	for _, tc := range transportsBefore18() {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			_, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			_, err = origin.Publish(Namespace{"other", "x"}, nil)
			require.NoError(t, err)
			_, addr := testServer(t, origin, SessionConfig{NoAnnounce: true})
			c := dialEyevinn(t, tc.url(addr), tc.version)
			ctx := testCtx(t)
			require.NoError(t, c.sess.SubscribeAnnouncements(ctx, []string{"live"}))
			require.NoError(t, c.waitAnnounced(ctx, cam1))
			cam2 := Namespace{"live", "cam2"}
			_, err = origin.Publish(cam2, nil)
			require.NoError(t, err)
			require.NoError(t, c.waitAnnounced(ctx, cam2))
			c.mu.Lock()
			announced := len(c.announced)
			c.mu.Unlock()
			require.Equal(t, 2, announced)

			var pe moqtransport.ProtocolError
			err = c.sess.SubscribeAnnouncements(ctx, []string{"live", "cam1"})
			require.ErrorAs(t, err, &pe)
		})
	}
}

// moq-dev's relay (MOQT_IMPLEMENTATION moq-lite-rs) sends a draft-14
// SUBSCRIBE_NAMESPACE with no prefix field to mean every namespace; the
// text (draft-14 §9.28) makes that a protocol violation, which it stays for
// every other peer.
func TestSubscribeNamespaceEmptyPrefixFromMoqLite(t *testing.T) {
	// Type 0x11, length 3: Request ID 0, 0 prefix fields, 0 parameters.
	emptyPrefix := []byte{0x11, 0x00, 0x03, 0x00, 0x00, 0x00}
	for _, tc := range []struct {
		impl string
		ok   bool
	}{{"moq-lite-rs", true}, {"other", false}, {"", false}} {
		t.Run(tc.impl, func(t *testing.T) {
			origin := NewOrigin()
			_, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			_, addr := testServer(t, origin, SessionConfig{NoAnnounce: true})
			p, _ := dialRaw(t, addr, wire.Draft14, wire.SetupParams{MaxRequestID: 1000, Implementation: tc.impl})
			_, err = p.ctrl.Write(emptyPrefix)
			require.NoError(t, err)
			if !tc.ok {
				code, reason := p.closed()
				require.Equal(t, wire.SessionProtocolViolation, code)
				require.Contains(t, reason, "0 fields")
				return
			}
			ok := p.readUntil(func(m wire.Message) bool { _, ok := m.(*wire.RequestOK); return ok })
			require.Equal(t, uint64(0), ok.(*wire.RequestOK).RequestID)
			pn := p.readUntil(func(m wire.Message) bool { _, ok := m.(*wire.PublishNamespace); return ok })
			require.Equal(t, wire.Namespace(cam1), pn.(*wire.PublishNamespace).Namespace)
		})
	}
}
