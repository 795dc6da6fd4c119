package moq

import (
	"context"
	"net"
	"time"

	"github.com/quic-go/quic-go"
)

// quicConn adapts a raw QUIC connection (ALPN moq-00 or moqt-16).
type quicConn struct{ c *quic.Conn }

func (q quicConn) OpenStreamSync(ctx context.Context) (stream, error) {
	s, err := q.c.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return quicStream{s}, nil
}

func (q quicConn) AcceptStream(ctx context.Context) (stream, error) {
	s, err := q.c.AcceptStream(ctx)
	if err != nil {
		return nil, err
	}
	return quicStream{s}, nil
}

func (q quicConn) OpenUniStreamSync(ctx context.Context) (sendStream, error) {
	s, err := q.c.OpenUniStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return quicSendStream{s}, nil
}

func (q quicConn) AcceptUniStream(ctx context.Context) (receiveStream, error) {
	s, err := q.c.AcceptUniStream(ctx)
	if err != nil {
		return nil, err
	}
	return quicReceiveStream{s}, nil
}

func (q quicConn) SendDatagram(b []byte) error { return q.c.SendDatagram(b) }

func (q quicConn) ReceiveDatagram(ctx context.Context) ([]byte, error) {
	return q.c.ReceiveDatagram(ctx)
}

func (q quicConn) CloseWithError(code uint64, reason string) error {
	return q.c.CloseWithError(quic.ApplicationErrorCode(code), reason)
}

func (q quicConn) Context() context.Context { return q.c.Context() }

func (q quicConn) CloseCause() error    { return context.Cause(q.c.Context()) }
func (q quicConn) RemoteAddr() net.Addr { return q.c.RemoteAddr() }
func (q quicConn) Transport() string    { return "quic" }

type quicSendStream struct{ s *quic.SendStream }

func (s quicSendStream) Write(b []byte) (int, error)        { return s.s.Write(b) }
func (s quicSendStream) Close() error                       { return s.s.Close() }
func (s quicSendStream) CancelWrite(code uint64)            { s.s.CancelWrite(quic.StreamErrorCode(code)) }
func (s quicSendStream) SetWriteDeadline(t time.Time) error { return s.s.SetWriteDeadline(t) }
func (s quicSendStream) SetPriority(urgency int8)           { s.s.SetPriority(urgency, true) }

type quicReceiveStream struct{ s *quic.ReceiveStream }

func (s quicReceiveStream) Read(b []byte) (int, error)        { return s.s.Read(b) }
func (s quicReceiveStream) CancelRead(code uint64)            { s.s.CancelRead(quic.StreamErrorCode(code)) }
func (s quicReceiveStream) SetReadDeadline(t time.Time) error { return s.s.SetReadDeadline(t) }

type quicStream struct{ s *quic.Stream }

func (s quicStream) Write(b []byte) (int, error) { return s.s.Write(b) }
func (s quicStream) Read(b []byte) (int, error)  { return s.s.Read(b) }
func (s quicStream) Close() error                { return s.s.Close() }
func (s quicStream) CancelWrite(code uint64)     { s.s.CancelWrite(quic.StreamErrorCode(code)) }

func (s quicStream) CancelRead(code uint64)             { s.s.CancelRead(quic.StreamErrorCode(code)) }
func (s quicStream) SetWriteDeadline(t time.Time) error { return s.s.SetWriteDeadline(t) }
func (s quicStream) SetReadDeadline(t time.Time) error  { return s.s.SetReadDeadline(t) }
func (s quicStream) SetPriority(urgency int8)           { s.s.SetPriority(urgency, true) }
