package rtmp

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// TestShutdown: when ctx is done, Serve closes every connection, ends every
// publication and returns after its goroutines ended (goleak checks the
// last part for the whole package).
func TestShutdown(t *testing.T) {
	sink := &ingesttest.Sink{}
	logs := ingesttest.NewLogCapture(t)
	s := &Server{Addr: "127.0.0.1:0", Sink: sink, Logger: slog.New(logs)}
	require.NoError(t, s.Listen())
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	addr := s.LocalAddr().String()

	c, _ := publishH264(t, "rtmp://"+addr+"/live/cam1", nil)
	pub := sink.WaitPublication(t, 1)
	idle, err := net.Dial("tcp", addr) // stuck in the handshake
	require.NoError(t, err)
	defer idle.Close()
	require.Eventually(t, func() bool { return s.Stats().Conns == 2 }, waitTime, pollEvery)

	cancel()
	require.NoError(t, <-errc)
	require.True(t, pub.IsClosed())
	require.Zero(t, s.Stats().Conns)
	require.Zero(t, s.Stats().Publishers)
	waitClosedByServer(t, c.NetConn())
	waitClosedByServer(t, idle)
	require.NotEmpty(t, logs.FindFunc(isLine("publish ended: server shutting down", "path", "live/cam1")))
	_, err = net.Dial("tcp", addr)
	require.Error(t, err, "the listener is closed")
}

func TestServeWithoutSink(t *testing.T) {
	s := &Server{Addr: "127.0.0.1:0"}
	require.NoError(t, s.Listen())
	require.Error(t, s.Serve(t.Context()))
	_, err := net.Dial("tcp", s.LocalAddr().String())
	require.Error(t, err, "Serve closes its listener")
}

// TestListenerClosed: a listener closed under Serve is an error, not a
// shutdown.
func TestListenerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() { errc <- (&Server{Sink: &ingesttest.Sink{}, Listener: ln}).Serve(t.Context()) }()
	ln.Close()
	require.ErrorIs(t, <-errc, net.ErrClosed)
}
