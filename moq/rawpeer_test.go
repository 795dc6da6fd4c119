package moq

// A raw MoQT peer for tests: it speaks the wire codec directly over our
// transport adapters, so a test can send what our own client never would
// (wrong request IDs, a second GOAWAY, a version list without draft-14) and
// observe every control message and stream the server produces.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// rawTimeout bounds every wait of a raw peer.
const rawTimeout = 5 * time.Second

type rawPeer struct {
	t    testing.TB
	v    wire.Version
	c    conn
	ctrl stream
	r    *bufio.Reader
	ids  uint64 // next request ID (client: even)
	// backlog holds messages read while waiting for another (sync).
	backlog []wire.Message
}

// dialRawConn opens the transport to addr: raw QUIC with alpn, or
// WebTransport at /moq offering alpn as WT protocol when webTransport is set.
func dialRawConn(t testing.TB, addr string, webTransport bool, alpn string, qconf *quic.Config) conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rawTimeout)
	defer cancel()
	if qconf == nil {
		qconf = &quic.Config{}
	}
	qconf.EnableDatagrams = true
	qconf.EnableStreamResetPartialDelivery = true
	if !webTransport {
		qc, err := quic.DialAddr(ctx, addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}}, qconf)
		require.NoError(t, err)
		t.Cleanup(func() { qc.CloseWithError(0, "") })
		return quicConn{qc}
	}
	tr := &webtransport.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		QUICConfig:      qconf,
	}
	if alpn != "" {
		tr.ApplicationProtocols = []string{alpn}
	}
	_, ws, err := tr.Dial(ctx, "https://"+addr+"/moq", http.Header{})
	require.NoError(t, err)
	t.Cleanup(func() { ws.CloseWithError(0, ""); tr.Close() })
	return wtConn{ws}
}

// newRawPeer opens the control stream over c for version v.
func newRawPeer(t testing.TB, c conn, v wire.Version) *rawPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rawTimeout)
	defer cancel()
	st, err := c.OpenStreamSync(ctx)
	require.NoError(t, err)
	return &rawPeer{t: t, v: v, c: c, ctrl: st, r: bufio.NewReader(st)}
}

// dialRaw connects over raw QUIC with v's ALPN and completes SETUP with
// params (PATH is added for raw QUIC).
func dialRaw(t testing.TB, addr string, v wire.Version, params wire.SetupParams) (*rawPeer, *wire.ServerSetup) {
	t.Helper()
	p := newRawPeer(t, dialRawConn(t, addr, false, v.ALPN(), nil), v)
	if params.Path == nil {
		path := ""
		params.Path = &path
	}
	return p, p.setup(params)
}

func (p *rawPeer) setup(params wire.SetupParams) *wire.ServerSetup {
	p.t.Helper()
	cs := &wire.ClientSetup{Params: params}
	if p.v == wire.Draft14 {
		cs.Versions = []wire.Version{wire.Draft14}
	}
	p.send(cs)
	m := p.read()
	ss, ok := m.(*wire.ServerSetup)
	require.True(p.t, ok, "got %T, want SERVER_SETUP", m)
	return ss
}

// acceptPublisher plays a relay's side of a publisher's start: SETUP, then
// its PUBLISH_NAMESPACE accepted. It reports false when the peer sent
// something else.
func (p *rawPeer) acceptPublisher() bool {
	p.t.Helper()
	if _, ok := p.read().(*wire.ClientSetup); !ok {
		return false
	}
	p.send(&wire.ServerSetup{SelectedVersion: p.v, Params: wire.SetupParams{MaxRequestID: 100}})
	pn, ok := p.read().(*wire.PublishNamespace)
	if !ok {
		return false
	}
	p.send(&wire.RequestOK{Kind: wire.KindPublishNamespace, RequestID: pn.RequestID})
	return true
}

// nextID returns the next client request ID.
func (p *rawPeer) nextID() uint64 {
	id := p.ids
	p.ids += 2
	return id
}

func (p *rawPeer) send(m wire.Message) {
	p.t.Helper()
	b, err := wire.AppendControl(nil, p.v, m)
	require.NoError(p.t, err)
	_, err = p.ctrl.Write(b)
	require.NoError(p.t, err)
}

// read returns the next control message.
func (p *rawPeer) read() wire.Message {
	p.t.Helper()
	m, err := p.tryRead(rawTimeout)
	require.NoError(p.t, err)
	return m
}

func (p *rawPeer) tryRead(d time.Duration) (wire.Message, error) {
	if len(p.backlog) > 0 {
		m := p.backlog[0]
		p.backlog = p.backlog[1:]
		return m, nil
	}
	p.ctrl.SetReadDeadline(time.Now().Add(d))
	defer p.ctrl.SetReadDeadline(time.Time{})
	return wire.ReadControl(p.r, p.v)
}

// readUntil skips control messages until one satisfies keep.
func (p *rawPeer) readUntil(keep func(wire.Message) bool) wire.Message {
	p.t.Helper()
	deadline := time.Now().Add(rawTimeout)
	for {
		m, err := p.tryRead(time.Until(deadline))
		require.NoError(p.t, err)
		if keep(m) {
			return m
		}
	}
}

// closed waits for the peer to end the session and returns its code and
// reason.
func (p *rawPeer) closed() (wire.SessionErrorCode, string) {
	p.t.Helper()
	return waitClosed(p.t, p.c)
}

func waitClosed(t testing.TB, c conn) (wire.SessionErrorCode, string) {
	t.Helper()
	select {
	case <-c.Context().Done():
	case <-time.After(rawTimeout):
		t.Fatal("session not closed")
	}
	code, reason, ok := appErrorCode(c.CloseCause())
	require.True(t, ok, "closed without an application error: %v", c.CloseCause())
	return wire.SessionErrorCode(code), reason
}

// acceptUni returns the next unidirectional stream the server opens.
func (p *rawPeer) acceptUni() receiveStream {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rawTimeout)
	defer cancel()
	st, err := p.c.AcceptUniStream(ctx)
	require.NoError(p.t, err)
	return st
}

// readSubgroupStream reads one subgroup stream to its end and returns its
// header and object payloads; fin says it ended with FIN (not a reset,
// which may come before the header).
func readSubgroupStream(t testing.TB, st receiveStream, v wire.Version) (h wire.SubgroupHeader, payloads []string, fin bool) {
	t.Helper()
	st.SetReadDeadline(time.Now().Add(rawTimeout))
	br := bufio.NewReader(st)
	typ, err := wire.ReadStreamType(br, v)
	if isReset(err) {
		return h, nil, false
	}
	require.NoError(t, err)
	require.True(t, wire.IsSubgroupType(typ, v), "stream type 0x%x", typ)
	h, err = wire.ReadSubgroupHeader(br, v, typ)
	if isReset(err) {
		return h, nil, false
	}
	require.NoError(t, err)
	sg := wire.SubgroupStream{Version: v, Header: h}
	for {
		oh, err := sg.ReadObjectHeader(br)
		if errors.Is(err, io.EOF) {
			return h, payloads, true
		}
		if isReset(err) {
			return h, payloads, false
		}
		require.NoError(t, err)
		b := make([]byte, oh.PayloadLength)
		if _, err := io.ReadFull(br, b); err != nil {
			return h, payloads, false
		}
		if oh.Status != wire.StatusNormal {
			b = []byte("status:" + strings.ToLower(statusName(oh.Status)))
		}
		payloads = append(payloads, string(b))
	}
}

// isReset reports a stream reset by the peer.
func isReset(err error) bool {
	var se *quic.StreamError
	var we *webtransport.StreamError
	return errors.As(err, &se) || errors.As(err, &we)
}

func statusName(s wire.ObjectStatus) string {
	switch s {
	case wire.StatusEndOfGroup:
		return "EOG"
	case wire.StatusEndOfTrack:
		return "EOT"
	case wire.StatusDoesNotExist:
		return "DNE"
	}
	return "normal"
}

// subscribe sends SUBSCRIBE and returns its request ID.
func (p *rawPeer) subscribe(ns Namespace, name string, f wire.Filter) uint64 {
	p.t.Helper()
	id := p.nextID()
	p.send(&wire.Subscribe{
		RequestID: id, Namespace: wire.Namespace(ns), TrackName: name,
		SubscriberPriority: 128, GroupOrder: wire.GroupOrderAscending, Forward: true, Filter: f,
	})
	return id
}

// quiet fails if a control message other than an announcement arrives
// within d.
func (p *rawPeer) quiet(d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		m, err := p.tryRead(time.Until(deadline))
		if err != nil {
			return
		}
		require.False(p.t, p.notAnnounce(m), "unexpected %T", m)
	}
}

// sync waits until the server has handled everything sent before: it
// answers a TRACK_STATUS after them (one control stream, read in order).
func (p *rawPeer) sync() {
	p.t.Helper()
	id := p.nextID()
	p.send(&wire.TrackStatus{
		RequestID: id, Namespace: wire.Namespace{"sync"}, TrackName: "sync", Forward: true,
		Filter: wire.Filter{Type: wire.FilterLargestObject},
	})
	var other []wire.Message
	p.readUntil(func(m wire.Message) bool {
		if re, ok := m.(*wire.RequestError); ok && re.RequestID == id {
			return true
		}
		if p.notAnnounce(m) {
			other = append(other, m)
		}
		return false
	})
	p.backlog = append(p.backlog, other...)
}

// notAnnounce keeps every message but announcements (which it answers, as
// a subscriber would).
func (p *rawPeer) notAnnounce(m wire.Message) bool {
	if pn, ok := m.(*wire.PublishNamespace); ok {
		p.send(&wire.RequestOK{Kind: wire.KindPublishNamespace, RequestID: pn.RequestID})
		return false
	}
	return true
}

// rawServer accepts raw QUIC connections with alpn on 127.0.0.1 and runs
// serve for each with a peer on its control stream (the peer's request IDs
// are odd). It returns the address; the test ends after every serve
// returned.
func rawServer(t testing.TB, alpn string, serve func(p *rawPeer)) string {
	t.Helper()
	cert, _, err := SelfSignedCert([]string{"127.0.0.1"}, time.Hour)
	require.NoError(t, err)
	ln, closeTransport := listenQUIC(t, "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert}, NextProtos: []string{alpn},
	}, &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true})
	v, _ := wire.VersionForALPN(alpn)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			qc, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			wg.Go(func() {
				defer qc.CloseWithError(0, "")
				ctx, cancel := context.WithTimeout(context.Background(), rawTimeout)
				defer cancel()
				st, err := qc.AcceptStream(ctx)
				if err != nil {
					return
				}
				serve(&rawPeer{t: t, v: v, c: quicConn{qc}, ctrl: quicStream{st}, r: bufio.NewReader(quicStream{st}), ids: 1})
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		closeTransport()
	})
	return ln.Addr().String()
}

// listenQUIC listens on addr with a transport of its own; closeTransport
// stops it at once (a listener opened with quic.ListenAddr keeps its
// transport until its closed connections have drained).
func listenQUIC(t testing.TB, addr string, tlsConf *tls.Config, qconf *quic.Config) (ln *quic.Listener, closeTransport func()) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	require.NoError(t, err)
	tr := &quic.Transport{Conn: pc}
	ln, err = tr.Listen(tlsConf, qconf)
	require.NoError(t, err)
	return ln, func() {
		tr.Close()
		pc.Close()
	}
}

// appErrorCode extracts the application error code of a closed QUIC
// connection or WebTransport session.
func appErrorCode(err error) (uint64, string, bool) {
	if ae, ok := errors.AsType[*quic.ApplicationError](err); ok {
		return uint64(ae.ErrorCode), ae.ErrorMessage, true
	}
	if se, ok := errors.AsType[*webtransport.SessionError](err); ok {
		return uint64(se.ErrorCode), se.Message, true
	}
	return 0, "", false
}
