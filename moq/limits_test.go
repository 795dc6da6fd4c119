package moq

// Bounds on the state a peer can make us keep, and answers to peers that
// break the protocol: each ends only the offending request or session.

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// Subscriptions past SessionConfig.MaxSubscriptions are refused; closing
// one makes room again and the session stays up throughout.
func TestSubscriptionCap(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			for _, name := range []string{"video", "audio", "data"} {
				_, err = bc.CreateTrack(name, TrackOptions{})
				require.NoError(t, err)
			}
			_, addr := testServer(t, origin, SessionConfig{MaxSubscriptions: 2})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 1000})
			isAnswer := func(m wire.Message) bool {
				switch m.(type) {
				case *wire.SubscribeOK, *wire.RequestError:
					return true
				}
				return p.notAnnounce(m)
			}
			first := p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterLargestObject})
			require.IsType(t, &wire.SubscribeOK{}, p.readUntil(isAnswer))
			p.subscribe(cam1, "audio", wire.Filter{Type: wire.FilterLargestObject})
			require.IsType(t, &wire.SubscribeOK{}, p.readUntil(isAnswer))

			third := p.subscribe(cam1, "data", wire.Filter{Type: wire.FilterLargestObject})
			re, ok := p.readUntil(isAnswer).(*wire.RequestError)
			require.True(t, ok, "third subscription refused")
			require.Equal(t, third, re.RequestID)
			require.Contains(t, re.Reason, "more than 2")

			p.send(&wire.Unsubscribe{RequestID: first})
			p.sync()
			p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterLargestObject})
			require.IsType(t, &wire.SubscribeOK{}, p.readUntil(isAnswer), "room again after UNSUBSCRIBE")
		})
	}
}

// Draft-16 §5.1: a second subscription to one track in one session is
// refused with DUPLICATE_SUBSCRIPTION. Draft-14 sets no bound; the gateway
// allows four, so that one session cannot multiply what it pulls.
func TestDuplicateSubscriptions(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			_, err = bc.CreateTrack("video", TrackOptions{})
			require.NoError(t, err)
			_, addr := testServer(t, origin, SessionConfig{})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 1000})
			isAnswer := func(m wire.Message) bool {
				switch m.(type) {
				case *wire.SubscribeOK, *wire.RequestError:
					return true
				}
				return p.notAnnounce(m)
			}
			allowed, code := maxSubscriptionsPerTrack14, wire.RequestInternalError
			if v == wire.Draft16 {
				allowed, code = 1, wire.RequestDuplicateSubscription
			}
			var first uint64
			for i := range allowed {
				id := p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterLargestObject})
				require.IsType(t, &wire.SubscribeOK{}, p.readUntil(isAnswer), "subscription %d", i+1)
				if i == 0 {
					first = id
				}
			}
			for range 3 {
				id := p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterLargestObject})
				re, ok := p.readUntil(isAnswer).(*wire.RequestError)
				require.True(t, ok, "one more subscription to the track is refused")
				require.Equal(t, id, re.RequestID)
				require.Equal(t, code, re.Code)
			}
			p.send(&wire.Unsubscribe{RequestID: first})
			p.sync()
			p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterLargestObject})
			require.IsType(t, &wire.SubscribeOK{}, p.readUntil(isAnswer), "room again after UNSUBSCRIBE")
		})
	}
}

// A client's PUBLISH_NAMESPACE is refused by a server that takes no MoQ
// publishers, and accepted by one configured to.
func TestPeerPublishNamespaceRefused(t *testing.T) {
	for _, v := range drafts {
		for _, accept := range []bool{false, true} {
			name := v.String() + "/refused"
			if accept {
				name = v.String() + "/accepted"
			}
			t.Run(name, func(t *testing.T) {
				_, addr := testServer(t, NewOrigin(), SessionConfig{AcceptNamespaces: accept})
				p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 1000})
				id := p.nextID()
				p.send(&wire.PublishNamespace{RequestID: id, Namespace: wire.Namespace{"live", "intruder"}})
				m := p.read()
				if accept {
					ok, isOK := m.(*wire.RequestOK) // draft-16 REQUEST_OK names no kind
					require.True(t, isOK, "got %T", m)
					require.Equal(t, id, ok.RequestID)
					return
				}
				re, ok := m.(*wire.RequestError)
				require.True(t, ok, "got %T", m)
				require.Equal(t, id, re.RequestID)
				require.Equal(t, wire.RequestNotSupported, re.Code)
				p.sync() // the session is still up
			})
		}
	}
}

// A broadcast whose namespace MoQT cannot carry is not announced; the
// others are, on the same session.
func TestUnencodableNamespaceSkipped(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			long := make(Namespace, wire.MaxNamespaceFields+1)
			for i := range long {
				long[i] = "f"
			}
			for _, ns := range []Namespace{long, {"live", strings.Repeat("x", wire.MaxFullTrackNameLength)}, cam1} {
				_, err := origin.Publish(ns, nil)
				require.NoError(t, err)
			}
			_, addr := testServer(t, origin, SessionConfig{})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 1000})
			pn, ok := p.read().(*wire.PublishNamespace)
			require.True(t, ok)
			require.Equal(t, wire.Namespace(cam1), pn.Namespace)
			p.send(&wire.RequestOK{Kind: wire.KindPublishNamespace, RequestID: pn.RequestID})
			p.sync()
			p.quiet(50 * time.Millisecond)
		})
	}
}

// A second SUBSCRIBE_OK for one request is a protocol violation: the
// client ends the session.
func TestDuplicateSubscribeOK(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			closed := make(chan *SessionError, 1)
			addr := rawServer(t, v.ALPN(), func(p *rawPeer) {
				if _, ok := p.read().(*wire.ClientSetup); !ok {
					return
				}
				p.send(&wire.ServerSetup{SelectedVersion: v, Params: wire.SetupParams{MaxRequestID: 1000}})
				sub, ok := p.read().(*wire.Subscribe)
				if !ok {
					return
				}
				ok1 := &wire.SubscribeOK{RequestID: sub.RequestID, TrackAlias: 9, GroupOrder: wire.GroupOrderAscending}
				p.send(ok1)
				p.send(ok1)
				code, reason := p.closed()
				closed <- &SessionError{Code: code, Reason: reason}
			})
			s := dialTestWith(t, "moqt://"+addr, DialOptions{Versions: []wire.Version{v}})
			_, err := s.Subscribe(testCtx(t), cam1, "video", SubscribeOptions{})
			require.NoError(t, err)
			got := <-closed
			require.Equal(t, wire.SessionProtocolViolation, got.Code)
			require.Contains(t, got.Reason, "second SUBSCRIBE_OK")
			<-s.Context().Done()
			var se *SessionError
			require.ErrorAs(t, s.Err(), &se)
			require.Equal(t, wire.SessionProtocolViolation, se.Code)
		})
	}
}

// A control message whose length promises more than the peer sends ends
// the session with CONTROL_MESSAGE_TIMEOUT instead of holding it open.
func TestPartialControlMessageTimesOut(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			_, addr := testServer(t, NewOrigin(), SessionConfig{ControlMessageTimeout: 200 * time.Millisecond})
			p, _ := dialRaw(t, addr, v, wire.SetupParams{MaxRequestID: 1000})
			// SUBSCRIBE, length 65535, then 10 bytes of it.
			_, err := p.ctrl.Write(append([]byte{0x03, 0xff, 0xff}, make([]byte, 10)...))
			require.NoError(t, err)
			code, reason := p.closed()
			require.Equal(t, wire.SessionControlMessageTimeout, code)
			require.Contains(t, reason, "not complete")
		})
	}
}

// An idle control stream is no partial message: the session stays.
func TestIdleControlStreamStays(t *testing.T) {
	srv, addr := testServer(t, NewOrigin(), SessionConfig{ControlMessageTimeout: 100 * time.Millisecond})
	p, _ := dialRaw(t, addr, wire.Draft16, wire.SetupParams{MaxRequestID: 1000})
	time.Sleep(400 * time.Millisecond)
	require.Len(t, srv.Sessions(), 1)
	p.send(unknownSubscribe(p.nextID()))
	_, ok := p.readUntil(func(m wire.Message) bool { _, ok := m.(*wire.RequestError); return ok }).(*wire.RequestError)
	require.True(t, ok)
}
