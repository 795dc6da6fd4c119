package moq

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/quic-go/webtransport-go"
)

// wtConn adapts a WebTransport session. WebTransport error codes are 32-bit;
// MoQT codes in use fit, larger ones are clamped.
type wtConn struct{ s *webtransport.Session }

func wtCode(code uint64) uint32 { return uint32(min(code, 1<<32-1)) }

func (w wtConn) OpenStreamSync(ctx context.Context) (stream, error) {
	s, err := w.s.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return wtStream{s}, nil
}

func (w wtConn) AcceptStream(ctx context.Context) (stream, error) {
	s, err := w.s.AcceptStream(ctx)
	if err != nil {
		return nil, err
	}
	return wtStream{s}, nil
}

func (w wtConn) OpenUniStreamSync(ctx context.Context) (sendStream, error) {
	s, err := w.s.OpenUniStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return wtSendStream{s}, nil
}

func (w wtConn) AcceptUniStream(ctx context.Context) (receiveStream, error) {
	s, err := w.s.AcceptUniStream(ctx)
	if err != nil {
		return nil, err
	}
	return wtReceiveStream{s}, nil
}

func (w wtConn) SendDatagram(b []byte) error { return w.s.SendDatagram(b) }

func (w wtConn) ReceiveDatagram(ctx context.Context) ([]byte, error) {
	return w.s.ReceiveDatagram(ctx)
}

func (w wtConn) CloseWithError(code uint64, reason string) error {
	return w.s.CloseWithError(webtransport.SessionErrorCode(wtCode(code)), reason)
}

func (w wtConn) Context() context.Context { return w.s.Context() }

// CloseCause digs out the session's close error: webtransport-go cancels
// Context without a cause, but its stream maps keep the error (a
// *webtransport.SessionError with the peer's code).
func (w wtConn) CloseCause() error {
	if w.s.Context().Err() == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st, err := w.s.AcceptUniStream(ctx)
	if err == nil {
		st.CancelRead(0) // queued before the close: nobody reads it now
		return context.Cause(w.s.Context())
	}
	if errors.Is(err, context.Canceled) {
		return context.Cause(w.s.Context())
	}
	return err
}
func (w wtConn) RemoteAddr() net.Addr { return w.s.RemoteAddr() }
func (w wtConn) Transport() string    { return "webtransport" }

type wtSendStream struct{ s *webtransport.SendStream }

func (s wtSendStream) Write(b []byte) (int, error) { return s.s.Write(b) }
func (s wtSendStream) Close() error                { return s.s.Close() }
func (s wtSendStream) CancelWrite(code uint64) {
	s.s.CancelWrite(webtransport.StreamErrorCode(wtCode(code)))
	unblockWrite(s.s)
}

// unblockWrite ends a Write in progress on a stream being cancelled:
// webtransport-go v0.13.0 parks a Write that got WT_SESSION_GONE until the
// session reports its close, which a stream opened as the session ends may
// never see; a past deadline wakes it.
func unblockWrite(s interface{ SetWriteDeadline(time.Time) error }) {
	_ = s.SetWriteDeadline(time.Unix(1, 0))
}
func (s wtSendStream) SetWriteDeadline(t time.Time) error { return s.s.SetWriteDeadline(t) }

// SetPriority is a no-op: webtransport-go has no stream scheduler hook.
func (s wtSendStream) SetPriority(int8) {}

type wtReceiveStream struct{ s *webtransport.ReceiveStream }

func (s wtReceiveStream) Read(b []byte) (int, error) { return s.s.Read(b) }
func (s wtReceiveStream) CancelRead(code uint64) {
	s.s.CancelRead(webtransport.StreamErrorCode(wtCode(code)))
}
func (s wtReceiveStream) SetReadDeadline(t time.Time) error { return s.s.SetReadDeadline(t) }

type wtStream struct{ s *webtransport.Stream }

func (s wtStream) Write(b []byte) (int, error) { return s.s.Write(b) }
func (s wtStream) Read(b []byte) (int, error)  { return s.s.Read(b) }
func (s wtStream) Close() error                { return s.s.Close() }
func (s wtStream) CancelWrite(code uint64) {
	s.s.CancelWrite(webtransport.StreamErrorCode(wtCode(code)))
	unblockWrite(s.s)
}

func (s wtStream) CancelRead(code uint64) {
	s.s.CancelRead(webtransport.StreamErrorCode(wtCode(code)))
}
func (s wtStream) SetWriteDeadline(t time.Time) error { return s.s.SetWriteDeadline(t) }
func (s wtStream) SetReadDeadline(t time.Time) error  { return s.s.SetReadDeadline(t) }
func (s wtStream) SetPriority(int8)                   {}
