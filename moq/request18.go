package moq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// Draft-18 moves every request onto a bidirectional stream of its own
// (draft-18 §3.3, §10.1): the request opens it, the responses follow on the
// other direction without a Request ID, and a RESET_STREAM / STOP_SENDING
// cancels it where drafts 14 and 16 sent UNSUBSCRIBE, FETCH_CANCEL or
// PUBLISH_NAMESPACE_DONE. The session's request handling stays the one of
// draft-16: this file maps each stream to its Request ID, routes the
// messages the session writes to the stream they belong on, and turns
// stream events back into the messages the session already understands.

// request18 is one request stream.
type request18 struct {
	v    wire.Version
	st   stream
	kind wire.RequestKind
	ours bool // we sent the request
	// of is the request a REQUEST_UPDATE updates: its answer goes on that
	// request's stream, which stays open.
	of *request18

	mu       sync.Mutex
	buf      []byte
	answered atomic.Bool // a response has been read (ours) or written (theirs)
}

// write frames m on the stream.
func (r *request18) write(m wire.Message) error {
	if r.of != nil {
		return r.of.write(m)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := wire.AppendControl(r.buf[:0], r.v, m)
	if err != nil {
		return fmt.Errorf("encode %T: %w", m, err)
	}
	r.buf = b
	_, err = r.st.Write(b)
	return err
}

// reset cancels the stream both ways.
func (r *request18) reset(code wire.ResetCode) {
	r.st.CancelWrite(uint64(code))
	r.st.CancelRead(uint64(code))
}

func (s *Session) request18(id uint64) *request18 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams18[id]
}

func (s *Session) forget18(id uint64) *request18 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.streams18[id]
	delete(s.streams18, id)
	return r
}

// setup18 exchanges SETUP on the two control streams (draft-18 §3.3): each
// side opens one unidirectional stream that starts with its SETUP.
func (s *Session) setup18(ctx context.Context) error {
	w, err := s.c.OpenUniStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("control stream: %w", err)
	}
	s.ctrlW = w
	if s.isClient {
		if err := s.writeSetup18(); err != nil {
			return err
		}
	}
	in, err := s.c.AcceptUniStream(ctx)
	if err != nil {
		return fmt.Errorf("control stream: %w", err)
	}
	s.ctrlIn = in
	stop := context.AfterFunc(ctx, func() { in.SetReadDeadline(time.Now()) })
	defer stop()
	s.ctrlR = bufio.NewReaderSize(in, 4096)
	p, err := wire.ReadSetup18(s.ctrlR)
	if err != nil {
		return fmt.Errorf("read SETUP: %w", err)
	}
	in.SetReadDeadline(time.Time{})
	if s.isClient {
		if p.Path != nil {
			return sessionErrorf(wire.SessionInvalidPath, "server SETUP carries PATH")
		}
		if p.Authority != nil {
			return sessionErrorf(wire.SessionInvalidAuthority, "server SETUP carries AUTHORITY")
		}
	} else {
		if err := s.checkClientSetup(p); err != nil {
			return err
		}
		if err := s.writeSetup18(); err != nil {
			return err
		}
	}
	s.peerImpl = p.Implementation
	s.ids.setPeerMax(^uint64(0))
	return nil
}

func (s *Session) writeSetup18() error {
	p := s.localSetupParams()
	p.MaxRequestID = 0
	if s.isClient && s.c.Transport() == "quic" {
		path := s.path
		p.Path = &path
		if s.authority != "" {
			authority := s.authority
			p.Authority = &authority
		}
	}
	b, err := wire.AppendSetup18(nil, p)
	if err != nil {
		return err
	}
	_, err = s.ctrlW.Write(b)
	return err
}

// writeControl18 sends m where draft-18 carries it: GOAWAY on the control
// stream, a request on a new stream, a response or a cancellation on the
// stream of the request it belongs to.
func (s *Session) writeControl18(m wire.Message) error {
	switch m := m.(type) {
	case *wire.GoAway:
		if !s.isClient && s.version == wire.Draft18 {
			next := s.ids.peerNext()
			m.RequestID = &next
		}
		b, err := wire.AppendControl(nil, s.version, m)
		if err != nil {
			return err
		}
		s.wmu.Lock()
		defer s.wmu.Unlock()
		_, err = s.ctrlW.Write(b)
		return err
	case *wire.Subscribe:
		return s.openRequest18(m.RequestID, wire.KindSubscribe, m)
	case *wire.Fetch:
		return s.openRequest18(m.RequestID, wire.KindFetch, m)
	case *wire.TrackStatus:
		return s.openRequest18(m.RequestID, wire.KindTrackStatus, m)
	case *wire.PublishNamespace:
		return s.openRequest18(m.RequestID, wire.KindPublishNamespace, m)
	case *wire.Unsubscribe:
		s.cancel18(m.RequestID)
	case *wire.FetchCancel:
		s.cancel18(m.RequestID)
	case *wire.PublishNamespaceDone:
		s.cancel18(m.RequestID)
	case *wire.PublishNamespaceCancel:
		s.cancel18(m.RequestID)
	case *wire.MaxRequestID, *wire.RequestsBlocked:
		// No request flow control from draft-17 on.
	case *wire.SubscribeOK:
		return s.respond18(m.RequestID, m, false)
	case *wire.FetchOK:
		return s.respond18(m.RequestID, m, false)
	case *wire.RequestOK:
		r := s.request18(m.RequestID)
		return s.respond18(m.RequestID, m, r != nil && r.kind == wire.KindTrackStatus)
	case *wire.RequestError:
		return s.respond18(m.RequestID, m, true)
	case *wire.PublishDone:
		return s.respond18(m.RequestID, m, true)
	default:
		return fmt.Errorf("moq: %T has no draft-18 form", m)
	}
	return nil
}

// openRequest18 opens the stream of one of our requests and reads its
// responses.
func (s *Session) openRequest18(id uint64, kind wire.RequestKind, m wire.Message) error {
	// A peer that grants no stream makes the request fail, within the
	// bound every control message has, instead of stalling the ones after.
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.ControlMessageTimeout)
	defer cancel()
	st, err := s.c.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("open request stream: %w", err)
	}
	r := &request18{v: s.version, st: st, kind: kind, ours: true}
	s.mu.Lock()
	s.streams18[id] = r
	s.mu.Unlock()
	if err := r.write(m); err != nil {
		s.forget18(id)
		r.reset(wire.ResetInternalError)
		return fmt.Errorf("write request stream: %w", err)
	}
	s.goSafe(func() { s.readResponses18(id, r) })
	return nil
}

// cancel18 resets a request's stream: the draft-18 way to unsubscribe,
// cancel a fetch or withdraw a namespace (§3.3.2).
func (s *Session) cancel18(id uint64) {
	if r := s.forget18(id); r != nil {
		r.reset(wire.ResetCancelled)
	}
}

// respond18 writes a response on the stream of the peer's request; final
// ends the request (FIN after the message, §3.3.2).
func (s *Session) respond18(id uint64, m wire.Message, final bool) error {
	r := s.request18(id)
	if r == nil {
		return nil // the peer cancelled it meanwhile
	}
	r.answered.Store(true)
	err := r.write(m)
	if r.of != nil {
		// The update is answered; its request goes on, or has just ended
		// and took the stream with it.
		s.forget18(id)
		return nil
	}
	if final {
		s.forget18(id)
		_ = r.st.Close()
		r.st.CancelRead(uint64(wire.ResetCancelled)) // nothing more is read for a finished request
		return nil
	}
	if err != nil && s.forget18(id) != nil {
		// STOP_SENDING or a reset before the answer: the peer cancelled.
		r.reset(wire.ResetCancelled)
		s.peerCancelled18(id, r.kind)
	}
	return nil
}

// readResponses18 reads the answers to one of our requests and hands them to
// the session with the request's ID filled in.
func (s *Session) readResponses18(id uint64, r *request18) {
	br := bufio.NewReader(r.st)
	for {
		m, err := wire.ReadControl(br, s.version)
		if err != nil {
			s.requestStreamEnded18(id, r, err)
			return
		}
		switch m := m.(type) {
		case *wire.SubscribeOK:
			m.RequestID = id
		case *wire.RequestOK:
			m.RequestID, m.Kind = id, r.kind
		case *wire.RequestError:
			m.RequestID, m.Kind = id, r.kind
		case *wire.FetchOK:
			m.RequestID = id
		case *wire.PublishDone:
			m.RequestID = id
		case *wire.GoAway:
			continue // a per-request GOAWAY (§10.4): the request runs to its end here
		default:
			s.fail(sessionErrorf(wire.SessionProtocolViolation, "%T on a request stream", m))
			return
		}
		r.answered.Store(true)
		if err := s.handle(m); err != nil {
			s.fail(err)
			return
		}
		_, done := m.(*wire.PublishDone)
		_, failed := m.(*wire.RequestError)
		if done || failed {
			// The request is over: FIN our direction too (§3.3.2), so
			// the peer can free the stream.
			s.forget18(id)
			_ = r.st.Close()
			r.st.CancelRead(uint64(wire.ResetCancelled))
			return
		}
	}
}

// requestStreamEnded18 handles the end of one of our request streams:
// after our own cancellation nothing is left to do; otherwise the peer
// ended the request, which the session learns as the message drafts 14
// and 16 would have carried.
func (s *Session) requestStreamEnded18(id uint64, r *request18, err error) {
	if s.forget18(id) == nil || s.ctx.Err() != nil {
		return
	}
	if brokeFraming(err) {
		// A message cut short or malformed (§9: PROTOCOL_VIOLATION).
		s.fail(sessionErrorf(requestStreamCode(err), "request stream: %v", err))
		return
	}
	r.reset(wire.ResetCancelled)
	var m wire.Message
	switch {
	case !r.answered.Load():
		reason := "the peer closed the request stream before answering"
		if !errors.Is(err, io.EOF) {
			reason = fmt.Sprintf("request stream: %v", err)
		}
		m = &wire.RequestError{Kind: r.kind, RequestID: id, Code: wire.RequestInternalError, Reason: reason}
	case r.kind == wire.KindPublishNamespace:
		m = &wire.PublishNamespaceCancel{RequestID: id, Code: wire.RequestInternalError, Reason: "the peer closed the PUBLISH_NAMESPACE stream"}
	case r.kind == wire.KindSubscribe:
		m = &wire.PublishDone{RequestID: id, StatusCode: wire.DoneInternalError, Reason: fmt.Sprintf("the subscription stream ended without PUBLISH_DONE: %v", err)}
	default:
		return
	}
	if err := s.handle(m); err != nil {
		s.fail(err)
	}
}

// serveRequest18 reads a request stream the peer opened: its first message
// is the request (§3.3), later ones are REQUEST_UPDATEs; a reset cancels
// the request.
func (s *Session) serveRequest18(st stream) {
	br := bufio.NewReader(st)
	_ = st.SetReadDeadline(time.Now().Add(s.cfg.ControlMessageTimeout))
	m, err := wire.ReadControl(br, s.version)
	_ = st.SetReadDeadline(time.Time{})
	if err != nil {
		st.CancelRead(uint64(wire.ResetCancelled))
		st.CancelWrite(uint64(wire.ResetCancelled))
		if brokeFraming(err) && s.ctx.Err() == nil {
			// A request cut short, malformed or never completed.
			s.fail(sessionErrorf(requestStreamCode(err), "request stream: %v", err))
		}
		return
	}
	var (
		id   uint64
		kind wire.RequestKind
	)
	switch m := m.(type) {
	case *wire.SubscribeNamespace:
		if m.Options == wire.NamespaceOptionsPublish {
			// SUBSCRIBE_TRACKS (§10.19) asks the publisher to PUBLISH
			// every track under a prefix; the gateway answers SUBSCRIBE.
			if err := s.acceptRequest(m.RequestID); err != nil {
				s.fail(err)
				return
			}
			r := &request18{v: s.version, st: st, kind: wire.KindSubscribeNamespace}
			_ = r.write(&wire.RequestError{Code: wire.RequestNotSupported, Reason: "SUBSCRIBE_TRACKS is not supported: subscribe to the tracks"})
			_ = st.Close()
			return
		}
		if err := s.onSubscribeNamespace(m, st); err != nil {
			s.fail(err)
		}
		return
	case *wire.Subscribe:
		id, kind = m.RequestID, wire.KindSubscribe
	case *wire.Fetch:
		id, kind = m.RequestID, wire.KindFetch
	case *wire.TrackStatus:
		id, kind = m.RequestID, wire.KindTrackStatus
	case *wire.PublishNamespace:
		id, kind = m.RequestID, wire.KindPublishNamespace
	case *wire.Publish:
		id, kind = m.RequestID, wire.KindPublish
	default:
		s.fail(sessionErrorf(wire.SessionProtocolViolation, "a request stream starts with %T", m))
		return
	}
	r := &request18{v: s.version, st: st, kind: kind}
	s.mu.Lock()
	s.streams18[id] = r
	s.mu.Unlock()
	if err := s.handle(m); err != nil {
		s.fail(err)
		return
	}
	for {
		m, err := wire.ReadControl(br, s.version)
		if errors.Is(err, io.EOF) {
			return // FIN is no cancellation (§3.3.2)
		}
		if err != nil {
			if s.forget18(id) == nil || s.ctx.Err() != nil {
				return
			}
			if brokeFraming(err) {
				s.fail(sessionErrorf(requestStreamCode(err), "request stream: %v", err))
				return
			}
			st.CancelWrite(uint64(wire.ResetCancelled))
			s.peerCancelled18(id, kind)
			return
		}
		u, ok := m.(*wire.RequestUpdate)
		if !ok {
			s.fail(sessionErrorf(wire.SessionProtocolViolation, "%T after the request on its stream", m))
			return
		}
		u.ExistingRequestID = id
		s.mu.Lock()
		s.streams18[u.RequestID] = &request18{v: s.version, st: st, kind: wire.KindRequestUpdate, of: r}
		s.mu.Unlock()
		if err := s.handle(u); err != nil {
			s.fail(err)
			return
		}
	}
}

// isStreamReset reports whether err is the peer resetting a stream (or
// asking us to stop sending on it), as opposed to a malformed message.
func isStreamReset(err error) bool {
	if _, ok := errors.AsType[*quic.StreamError](err); ok {
		return true
	}
	_, ok := errors.AsType[*webtransport.StreamError](err)
	return ok
}

// brokeFraming reports whether a request stream's read error is the peer's
// fault — a message cut short by FIN, malformed, or not completed in time —
// rather than a reset (a cancellation) or the transport going away (which
// ends the session by itself).
func brokeFraming(err error) bool {
	if isStreamReset(err) || errors.Is(err, io.EOF) {
		return false
	}
	return requestStreamCode(err) != wire.SessionInternalError
}

// requestStreamCode is the session error for a request stream that broke
// the framing: a deadline is CONTROL_MESSAGE_TIMEOUT, anything else the
// parser's code.
func requestStreamCode(err error) wire.SessionErrorCode {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return wire.SessionControlMessageTimeout
	}
	return wire.SessionCode(err)
}

// peerCancelled18 ends a request the peer reset.
func (s *Session) peerCancelled18(id uint64, kind wire.RequestKind) {
	var m wire.Message
	switch kind {
	case wire.KindSubscribe:
		m = &wire.Unsubscribe{RequestID: id}
	case wire.KindFetch:
		m = &wire.FetchCancel{RequestID: id}
	case wire.KindPublishNamespace:
		m = &wire.PublishNamespaceDone{RequestID: id}
	default:
		return
	}
	if err := s.handle(m); err != nil {
		s.fail(err)
	}
}
