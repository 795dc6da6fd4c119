package moq

import (
	"context"
	"io"
	"net"
	"time"
)

// conn is what a MoQT session needs from its transport: raw QUIC
// (conn_quic.go) or a WebTransport session (conn_webtransport.go).
type conn interface {
	OpenStreamSync(ctx context.Context) (stream, error)
	AcceptStream(ctx context.Context) (stream, error)
	OpenUniStreamSync(ctx context.Context) (sendStream, error)
	AcceptUniStream(ctx context.Context) (receiveStream, error)
	SendDatagram(b []byte) error
	ReceiveDatagram(ctx context.Context) ([]byte, error)
	// CloseWithError closes the transport with a MoQT session error code.
	CloseWithError(code uint64, reason string) error
	Context() context.Context
	// CloseCause is the error that closed the transport (carrying the
	// peer's application error code), nil while it is open.
	CloseCause() error
	RemoteAddr() net.Addr
	// Transport names the transport in logs and status: "quic" or "webtransport".
	Transport() string
}

type sendStream interface {
	io.Writer
	// Close sends FIN after the data written so far.
	Close() error
	// CancelWrite resets the stream with a MoQT reset code.
	CancelWrite(code uint64)
	SetWriteDeadline(t time.Time) error
	// SetPriority maps a MoQT priority onto the transport's scheduler, where
	// it has one (lower is more urgent).
	SetPriority(urgency int8)
}

type receiveStream interface {
	io.Reader
	// CancelRead asks the peer to stop sending (STOP_SENDING).
	CancelRead(code uint64)
	SetReadDeadline(t time.Time) error
}

type stream interface {
	sendStream
	receiveStream
}
