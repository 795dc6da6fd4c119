package moq

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// When the server shuts down, each subscriber gets GOAWAY and PUBLISH_DONE
// (GOING_AWAY) before the session closes with NO_ERROR; our client, having
// nothing left open, closes the session itself.
func TestServerShutdownIsGraceful(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			tr, err := bc.CreateTrack("video", TrackOptions{})
			require.NoError(t, err)
			writeObjects(t, tr, 1, 1)

			srv := &Server{Origin: origin, ShutdownTimeout: 5 * time.Second}
			cert, _, err := SelfSignedCert([]string{"127.0.0.1"}, time.Hour)
			require.NoError(t, err)
			srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
			srv.Logger = testLogger()
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			require.NoError(t, err)
			defer pc.Close()
			serveCtx, stop := context.WithCancel(context.Background())
			served := make(chan error, 1)
			srv.PacketConn = pc
			go func() { served <- srv.Serve(serveCtx) }()

			s := dialTest(t, tc.url(pc.LocalAddr().String()), tc.version)
			ctx := testCtx(t)
			sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{})
			require.NoError(t, err)
			require.Equal(t, []string{"g1-o0"}, readPayloads(t, ctx, sub, 1))
			f, err := s.Fetch(ctx, FetchRequest{Namespace: cam1, Name: "video", End: Location{1, 0}})
			require.NoError(t, err)
			_, err = readAll(ctx, f)
			require.ErrorIs(t, err, io.EOF)

			stop()
			_, err = readAll(ctx, sub)
			var pd *PublishDoneError
			require.ErrorAs(t, err, &pd)
			require.Equal(t, wire.DoneGoingAway, pd.Code, pd.Reason)
			if tc.version.RequestStreams() {
				// GOAWAY and PUBLISH_DONE travel on different streams
				// (the control stream, the request's): either may come
				// first.
				select {
				case <-s.goawayCh:
				case <-ctx.Done():
					t.Fatal("no GOAWAY")
				}
			}
			uri, ok := s.GoAwayURI()
			require.True(t, ok)
			require.Empty(t, uri)

			select {
			case err := <-served:
				require.NoError(t, err)
			case <-ctx.Done():
				t.Fatal("Serve did not return")
			}
			<-s.Context().Done()
			var se *SessionError
			require.ErrorAs(t, s.Err(), &se)
			require.Equal(t, wire.SessionNoError, se.Code)
		})
	}
}

// A subscriber that does not read and does not close: the graceful close
// still delivers GOAWAY and PUBLISH_DONE, then closes at the deadline.
func TestCloseGracefullyDeadline(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			tr, err := bc.CreateTrack("video", TrackOptions{})
			require.NoError(t, err)
			srv, addr := testServer(t, origin, SessionConfig{})
			p := newRawPeer(t, dialRawConn(t, addr, false, v.ALPN(), &quic.Config{
				InitialStreamReceiveWindow: 1 << 10, MaxStreamReceiveWindow: 1 << 10,
			}), v)
			path := ""
			p.setup(wire.SetupParams{MaxRequestID: 1000, Path: &path})
			id := p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterNextGroupStart})
			_, ok := p.readUntil(p.notAnnounce).(*wire.SubscribeOK)
			require.True(t, ok)
			// More than the stream's flow control window: the write blocks.
			require.NoError(t, tr.StartGroup(1))
			for range 8 {
				require.NoError(t, tr.WriteObject(make([]byte, 1000)))
			}
			sess := serverSession(t, srv)
			require.Eventually(t, func() bool { return sess.Stats().BytesSent > 0 }, rawTimeout, time.Millisecond)

			closed := make(chan struct{})
			go func() {
				defer close(closed)
				sess.CloseGracefully(300 * time.Millisecond)
			}()
			require.Equal(t, &wire.GoAway{}, p.readUntil(p.notAnnounce))
			done, isDone := p.readUntil(p.notAnnounce).(*wire.PublishDone)
			require.True(t, isDone)
			require.Equal(t, wire.PublishDone{RequestID: id, StatusCode: wire.DoneGoingAway, StreamCount: 1, Reason: "gateway shutting down"}, *done)
			code, _ := p.closed()
			require.Equal(t, wire.SessionNoError, code)
			<-closed
		})
	}
}

// A client that received GOAWAY makes no new request; it closes the
// session once its last subscription has ended.
func TestClientAfterGoAway(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			subscribed := make(chan struct{})
			closedCode := make(chan wire.SessionErrorCode, 1)
			addr := rawServer(t, v.ALPN(), func(p *rawPeer) {
				if _, ok := p.read().(*wire.ClientSetup); !ok {
					return
				}
				p.send(&wire.ServerSetup{SelectedVersion: v, Params: wire.SetupParams{MaxRequestID: 1000}})
				sub, ok := p.read().(*wire.Subscribe)
				if !ok {
					return
				}
				p.send(&wire.SubscribeOK{RequestID: sub.RequestID, TrackAlias: 9, GroupOrder: wire.GroupOrderAscending})
				p.send(&wire.GoAway{NewSessionURI: "moqt://relay-2.example:443/live"})
				<-subscribed
				p.send(&wire.PublishDone{RequestID: sub.RequestID, StatusCode: wire.DoneGoingAway, Reason: "moving"})
				code, _ := p.closed()
				closedCode <- code
			})
			s := dialTestWith(t, "moqt://"+addr, DialOptions{Versions: []wire.Version{v}})
			ctx := testCtx(t)
			rt, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{})
			require.NoError(t, err)
			<-s.goawayCh
			uri, ok := s.GoAwayURI()
			require.True(t, ok)
			require.Equal(t, "moqt://relay-2.example:443/live", uri)

			_, err = s.Subscribe(ctx, cam1, "audio", SubscribeOptions{})
			require.ErrorIs(t, err, ErrGoingAway)
			_, err = s.TrackStatus(ctx, cam1, "audio")
			require.ErrorIs(t, err, ErrGoingAway)
			_, err = s.Fetch(ctx, FetchRequest{Namespace: cam1, Name: "audio", End: Location{1, 0}})
			require.ErrorIs(t, err, ErrGoingAway)
			_, err = s.SubscribeNamespace(ctx, cam1)
			require.ErrorIs(t, err, ErrGoingAway)
			require.NoError(t, s.Err(), "the session stays up while a subscription is open")

			close(subscribed)
			_, err = readAll(ctx, rt)
			var pd *PublishDoneError
			require.ErrorAs(t, err, &pd)
			require.Equal(t, wire.SessionNoError, <-closedCode)
		})
	}
}

// A server receiving GOAWAY with a URI, or a second GOAWAY, closes the
// session with PROTOCOL_VIOLATION; one GOAWAY without URI is fine.
func TestServerReceivesGoAway(t *testing.T) {
	for _, v := range drafts {
		for _, tc := range []struct {
			name string
			msgs []wire.Message
		}{
			{"with uri", []wire.Message{&wire.GoAway{NewSessionURI: "moqt://elsewhere"}}},
			{"twice", []wire.Message{&wire.GoAway{}, &wire.GoAway{}}},
		} {
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				_, addr := testServer(t, NewOrigin(), SessionConfig{})
				p, _ := dialRaw(t, addr, v, wire.SetupParams{})
				for i, m := range tc.msgs {
					p.send(m)
					if i < len(tc.msgs)-1 {
						p.sync()
					}
				}
				code, reason := p.closed()
				require.Equal(t, wire.SessionProtocolViolation, code, reason)
			})
		}
	}
}

// A session closed while requests are pending releases every waiter.
func TestCloseReleasesWaiters(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			gotSubscribe := make(chan struct{})
			addr := rawServer(t, v.ALPN(), func(p *rawPeer) {
				if _, ok := p.read().(*wire.ClientSetup); !ok {
					return
				}
				p.send(&wire.ServerSetup{SelectedVersion: v, Params: wire.SetupParams{MaxRequestID: 1000}})
				p.read()
				close(gotSubscribe)
				p.closed()
			})
			s := dialTestWith(t, "moqt://"+addr, DialOptions{Versions: []wire.Version{v}})
			errc := make(chan error, 1)
			go func() {
				_, err := s.Subscribe(context.Background(), cam1, "video", SubscribeOptions{})
				errc <- err
			}()
			<-gotSubscribe
			require.NoError(t, s.Close())
			err := <-errc
			var se *SessionError
			require.ErrorAs(t, err, &se)
			require.Equal(t, wire.SessionNoError, se.Code)
			require.False(t, errors.Is(err, ErrGoingAway))
		})
	}
}

// Nothing a server or a client session started survives Serve's return and
// Close.
func TestNoGoroutineOutlivesServeAndClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	origin := NewOrigin()
	bc, err := origin.Publish(cam1, nil)
	require.NoError(t, err)
	tr, err := bc.CreateTrack("video", TrackOptions{})
	require.NoError(t, err)
	writeObjects(t, tr, 1, 2)

	cert, _, err := SelfSignedCert([]string{"127.0.0.1"}, time.Hour)
	require.NoError(t, err)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	srv := &Server{Origin: origin, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, Logger: testLogger()}
	serveCtx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	srv.PacketConn = pc
	go func() { served <- srv.Serve(serveCtx) }()

	ctx := testCtx(t)
	var sessions []*Session
	for _, tc := range transports {
		s, err := Dial(ctx, tc.url(pc.LocalAddr().String()), DialOptions{
			Versions: []wire.Version{tc.version}, TLSConfig: insecureTLS(), Logger: testLogger(),
		})
		require.NoError(t, err)
		sessions = append(sessions, s)
		sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{})
		require.NoError(t, err)
		require.Len(t, readPayloads(t, ctx, sub, 2), 2)
		n, err := s.SubscribeNamespace(ctx, Namespace{"live"})
		require.NoError(t, err)
		_, err = n.Next(ctx)
		require.NoError(t, err)
	}
	// Half the clients leave first, the server shuts down with the others
	// still connected.
	for _, s := range sessions[:2] {
		require.NoError(t, s.Close())
	}
	stop()
	require.NoError(t, <-served)
	for _, s := range sessions[2:] {
		<-s.Context().Done()
		require.NoError(t, s.Close())
	}
}

// A publisher that receives GOAWAY (from a relay) finishes the group in
// flight, starts no new one, ends the subscription with PUBLISH_DONE
// GOING_AWAY, and closes the session once nothing is left.
func TestGoAwayFinishesGroupInFlight(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			tr, err := bc.CreateTrack("video", TrackOptions{})
			require.NoError(t, err)
			require.NoError(t, tr.StartGroup(5))
			require.NoError(t, tr.WriteObject([]byte("g5o0")))

			subscribed := make(chan struct{})
			type result struct {
				payloads []string
				fin      bool
				done     *wire.PublishDone
				code     wire.SessionErrorCode
				extra    bool
			}
			res := make(chan result, 1)
			addr := rawServer(t, v.ALPN(), func(p *rawPeer) {
				var r result
				defer func() { res <- r }()
				if !p.acceptPublisher() {
					return
				}
				p.subscribe(cam1, "video", wire.Filter{Type: wire.FilterLargestObject})
				if _, ok := p.readUntil(p.notAnnounce).(*wire.SubscribeOK); !ok {
					return
				}
				// GOAWAY once group 5 is in flight: its first object is here.
				st := p.acceptUni()
				st.SetReadDeadline(time.Now().Add(rawTimeout))
				br := bufio.NewReader(st)
				typ, err := wire.ReadStreamType(br, v)
				require.NoError(t, err)
				h, err := wire.ReadSubgroupHeader(br, v, typ)
				require.NoError(t, err)
				require.Equal(t, uint64(5), h.GroupID)
				sg := wire.SubgroupStream{Version: v, Header: h}
				readObject := func() (string, error) {
					oh, err := sg.ReadObjectHeader(br)
					if err != nil {
						return "", err
					}
					b := make([]byte, oh.PayloadLength)
					_, err = io.ReadFull(br, b)
					return string(b), err
				}
				o, err := readObject()
				require.NoError(t, err)
				r.payloads = append(r.payloads, o)
				p.send(&wire.GoAway{})
				close(subscribed)
				for {
					o, err := readObject()
					if errors.Is(err, io.EOF) {
						r.fin = true
						break
					}
					if err != nil {
						break
					}
					r.payloads = append(r.payloads, o)
				}
				r.done, _ = p.readUntil(p.notAnnounce).(*wire.PublishDone)
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				_, err = p.c.AcceptUniStream(ctx)
				r.extra = err == nil
				r.code, _ = p.closed()
			})
			s := dialTestWith(t, "moqt://"+addr, DialOptions{Origin: origin, Versions: []wire.Version{v}})
			<-subscribed
			<-s.goawayCh
			// The group in flight goes on; the next one is not sent.
			require.NoError(t, tr.WriteObject([]byte("g5o1")))
			require.NoError(t, tr.StartGroup(6))
			require.NoError(t, tr.WriteObject([]byte("g6o0")))

			r := <-res
			require.Equal(t, []string{"g5o0", "g5o1"}, r.payloads)
			require.True(t, r.fin, "group 5 ends with FIN")
			require.NotNil(t, r.done)
			require.Equal(t, wire.DoneGoingAway, r.done.StatusCode)
			require.Equal(t, uint64(1), r.done.StreamCount)
			require.False(t, r.extra, "no stream for group 6")
			require.Equal(t, wire.SessionNoError, r.code, "the publisher closes once nothing is open")
		})
	}
}

// After the peer's GOAWAY, a group in flight that stops growing (a
// catalog's: it ends only when the next catalog comes) is finished as it
// stands after goAwayQuiet, so the session empties and closes.
func TestGoAwayFinishesQuietGroup(t *testing.T) {
	v := wire.Draft14
	origin := NewOrigin()
	bc, err := origin.Publish(cam1, nil)
	require.NoError(t, err)
	tr, err := bc.CreateTrack("catalog", TrackOptions{})
	require.NoError(t, err)
	require.NoError(t, tr.StartGroup(0))
	require.NoError(t, tr.WriteObject([]byte("catalog v1")))
	type result struct {
		payloads []string
		fin      bool
		done     *wire.PublishDone
		code     wire.SessionErrorCode
	}
	res := make(chan result, 1)
	addr := rawServer(t, v.ALPN(), func(p *rawPeer) {
		var r result
		defer func() { res <- r }()
		if !p.acceptPublisher() {
			return
		}
		p.subscribe(cam1, "catalog", wire.Filter{Type: wire.FilterLargestObject})
		if _, ok := p.readUntil(p.notAnnounce).(*wire.SubscribeOK); !ok {
			return
		}
		st := p.acceptUni()
		p.send(&wire.GoAway{})
		_, r.payloads, r.fin = readSubgroupStream(t, st, v)
		r.done, _ = p.readUntil(p.notAnnounce).(*wire.PublishDone)
		r.code, _ = p.closed()
	})
	s := dialTestWith(t, "moqt://"+addr, DialOptions{Origin: origin, Versions: []wire.Version{v}})
	r := <-res
	require.Equal(t, []string{"catalog v1"}, r.payloads)
	require.True(t, r.fin, "the quiet group ends with FIN")
	require.NotNil(t, r.done)
	require.Equal(t, wire.DoneGoingAway, r.done.StatusCode)
	require.Equal(t, wire.SessionNoError, r.code)
	<-s.Context().Done()
}

// A subscriber that closes its session while objects are flowing ends it
// normally: the server logs no "moq session failed", whatever it was
// writing when the close arrived (over WebTransport the close may come as
// the connection's H3_NO_ERROR before CLOSE_WEBTRANSPORT_SESSION).
func TestClientCloseIsNotAFailure(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			bc, err := origin.Publish(cam1, nil)
			require.NoError(t, err)
			tr, err := bc.CreateTrack("video", TrackOptions{})
			require.NoError(t, err)
			writeObjects(t, tr, 1, 1)
			logs := &syncBuffer{}
			// A short idle timeout: a close lost on a loaded machine still
			// ends the session soon (logged as routine too).
			srv := &Server{
				Origin:     origin,
				Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				QUICConfig: &quic.Config{MaxIdleTimeout: 2 * time.Second},
			}
			addr := testServerWith(t, srv)
			stop := make(chan struct{})
			written := make(chan struct{})
			go func() {
				defer close(written)
				payload := make([]byte, 4000)
				for g := uint64(2); ; g++ {
					select {
					case <-stop:
						return
					default:
					}
					_ = tr.StartGroup(g)
					for range 10 {
						_ = tr.WriteObject(payload)
					}
					time.Sleep(time.Millisecond)
				}
			}()
			defer func() { close(stop); <-written }()
			for range 10 {
				s := dialTest(t, tc.url(addr), tc.version)
				ctx := testCtx(t)
				sub, err := s.Subscribe(ctx, cam1, "video", SubscribeOptions{})
				require.NoError(t, err)
				_, err = sub.ReadObject(ctx)
				require.NoError(t, err)
				require.NoError(t, s.Close())
			}
			require.Eventually(t, func() bool { return len(srv.Sessions()) == 0 }, rawTimeout, time.Millisecond, "every session ends")
			require.NotContains(t, logs.String(), "session failed")
			require.NotContains(t, logs.String(), "code=256", "H3_NO_ERROR is no MoQT code")
		})
	}
}

// A peer that disappears without closing (its network went away) ends the
// session at the idle timeout, logged as routine, not as a failure.
func TestVanishedPeerIsNotAFailure(t *testing.T) {
	logs := &syncBuffer{}
	srv := &Server{
		Origin:     NewOrigin(),
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		QUICConfig: &quic.Config{MaxIdleTimeout: 200 * time.Millisecond},
	}
	addr := testServerWith(t, srv)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx := testCtx(t)
	ua, err := net.ResolveUDPAddr("udp", addr)
	require.NoError(t, err)
	qc, err := (&quic.Transport{Conn: pc}).Dial(ctx, ua,
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{wire.Draft16.ALPN()}},
		&quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true, MaxIdleTimeout: time.Minute})
	require.NoError(t, err)
	p := newRawPeer(t, quicConn{qc}, wire.Draft16)
	path := ""
	p.setup(wire.SetupParams{Path: &path})
	require.Eventually(t, func() bool { return len(srv.Sessions()) == 1 }, rawTimeout, time.Millisecond)
	require.NoError(t, pc.Close()) // gone: no CONNECTION_CLOSE
	require.Eventually(t, func() bool { return len(srv.Sessions()) == 0 }, rawTimeout, 10*time.Millisecond)
	require.Contains(t, logs.String(), "level=INFO msg=\"moq session ended: the peer stopped answering\"")
	require.NotContains(t, logs.String(), "session failed")
}
