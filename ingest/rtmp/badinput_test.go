package rtmp

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// TestBadInput sends what a broken or hostile client sends, one connection
// per case, while a healthy publisher streams on another connection: each
// bad connection is closed with a log line naming the error, and the healthy
// publisher loses no frame.
func TestBadInput(t *testing.T) {
	sink := &ingesttest.Sink{}
	logs := ingesttest.NewLogCapture(t)
	s := &Server{Sink: sink, HandshakeTimeout: time.Second}
	addr := startServer(t, s, logs)

	healthy, pusher := publishH264(t, "rtmp://"+addr+"/live/healthy", nil)
	pub := sink.WaitPublication(t, 1)

	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 8192)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	garbage[0] = 3 // past the RTMPE check, into the chunk parser

	for _, tc := range []struct {
		name string
		send func(t *testing.T, nc net.Conn)
		// handshaken connections complete the handshake before send.
		handshaken bool
		err        string // in the logged error
	}{
		{"garbage", write(garbage), false, ""},
		{"truncated handshake, then silence", write(append([]byte{3}, make([]byte, 100)...)), false, "i/o timeout"},
		{"truncated handshake, then close", writeAndClose(append([]byte{3}, make([]byte, 100)...)), false, "handshake: unexpected EOF"},
		{"nothing at all", write(nil), false, "handshake"},
		{"RTMPE", write(append([]byte{6}, make([]byte, 1536)...)), false, "RTMPE is not supported"},
		{"huge chunk size", write(appendMessage(nil, setChunkSize(0x7fffffff), 128)), true, "exceeds maximum"},
		{"1-byte chunks", write(appendMessage(nil, setChunkSize(1), 128)), true, "chunk size 1 is below the minimum of 128"},
		{"unknown message type", write(appendMessage(nil, rawMessage{csid: 3, typ: 99, body: []byte{1}}, 128)), true, "invalid message type: 99"},
		{
			"oversized message", write(append([]byte{0x03, 0, 0, 0, 0xff, 0xff, 0xff, msgVideo, 1, 0, 0, 0}, make([]byte, 128)...)),
			true, "body size (16777215) exceeds maximum",
		},
		{"data flood before publish", func(t *testing.T, nc net.Conn) {
			// One message announced at 1 MiB; its body exceeds the budget.
			b := []byte{0x03, 0, 0, 0, 0x10, 0, 0, msgVideo, 1, 0, 0, 0}
			b = append(b, make([]byte, 128)...)
			for range 1024 {
				b = append(b, 0xc3)
				b = append(b, make([]byte, 128)...)
			}
			_, _ = nc.Write(b) // the server may close before taking it all
		}, true, "sent too much data before publishing"},
		{"garbage AMF", write(appendMessage(nil, rawMessage{csid: 3, typ: msgCommandAMF0, body: garbage[:64]}, 128)), true, ""},
		{"connect without app", writeCommand(&message.CommandAMF0{
			ChunkStreamID: 3, Name: "connect", CommandID: 1, Arguments: []any{amf0.Object{}},
		}), true, "connect command without app and tcUrl"},
		{"other command first", writeCommand(&message.CommandAMF0{
			ChunkStreamID: 3, Name: "publish", CommandID: 1, Arguments: []any{nil, "x"},
		}), true, `expected connect, got command "publish"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var nc net.Conn
			if tc.handshaken {
				nc = dialHandshaken(t, addr)
			} else {
				var err error
				nc, err = net.Dial("tcp", addr)
				require.NoError(t, err)
				defer nc.Close()
			}
			tc.send(t, nc)
			waitClosedByServer(t, nc)
			logs.WaitFunc(t, "connection failed", errContains("connection failed", nc.LocalAddr().String(), tc.err))

			require.NoError(t, pusher.push(10), "the healthy publisher streams on")
		})
	}

	// A publisher that breaks its stream after publishing ends only its own
	// publication.
	t.Run("bad AVCC after publish", func(t *testing.T) {
		c, _ := publishH264(t, "rtmp://"+addr+"/live/broken", nil)
		bad := sink.WaitPublication(t, 2)
		body := []byte{0x27, 1, 0, 0, 0, 0, 0, 1, 0, 0x41} // NALU length 256, 1 byte follows
		_, err := c.NetConn().Write(appendMessage(nil, rawMessage{csid: 6, typ: msgVideo, body: body, ts: 5000}, 65536))
		require.NoError(t, err)
		waitClosedByServer(t, c.NetConn())
		bad.WaitClosed(t)
		logs.WaitFunc(t, "publish ended", func(r ingesttest.LogRecord) bool {
			return r.Msg == "publish ended" && r.Attrs["path"] == "live/broken" &&
				strings.Contains(r.Attrs["err"], "unable to decode AVCC")
		})
		require.NoError(t, pusher.push(10))
	})

	t.Run("H.264 sequence header with an empty SPS", func(t *testing.T) {
		c, err := dial(t, "rtmp://"+addr+"/live/nosps", nil)
		require.NoError(t, err)
		avcC := []byte{1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0, 1, 0, 2, 0x68, 0xce} // SPS of length 0
		b := appendMessage(nil, rawMessage{csid: 6, typ: msgVideo, body: append([]byte{0x17, 0, 0, 0, 0}, avcC...)}, 65536)
		for i := range 60 {
			frame := []byte{0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x41, byte(i)}
			b = appendMessage(b, rawMessage{csid: 6, typ: msgVideo, body: frame, ts: uint32(i * 40)}, 65536)
		}
		_, err = c.NetConn().Write(b)
		require.NoError(t, err)
		waitClosedByServer(t, c.NetConn())
		logs.WaitFunc(t, "refused", func(r ingesttest.LogRecord) bool {
			return r.Msg == "publish refused" && r.Attrs["path"] == "live/nosps" &&
				strings.Contains(r.Attrs["err"], "without SPS")
		})
		require.NoError(t, pusher.push(10))
	})

	healthy.Close()
	pub.WaitClosed(t)
	frames := pub.TrackFrames(0)
	require.Len(t, frames, pusher.n, "the healthy publisher lost frames")
	for i, f := range frames {
		require.Equal(t, int64(i)*pushFrameDur.Milliseconds(), f.DTS)
	}
	require.False(t, pub.Req.Tracks[0].Kind() != ingest.KindVideo)
	require.Eventually(t, func() bool { return s.Stats().Conns == 0 }, waitTime, pollEvery)
	require.Empty(t, logs.FindFunc(isLine("panic in connection")))
}

func write(b []byte) func(*testing.T, net.Conn) {
	return func(t *testing.T, nc net.Conn) {
		_, err := nc.Write(b)
		require.NoError(t, err)
	}
}

func writeAndClose(b []byte) func(*testing.T, net.Conn) {
	return func(t *testing.T, nc net.Conn) {
		write(b)(t, nc)
		require.NoError(t, nc.(*net.TCPConn).CloseWrite())
	}
}

// writeCommand sends one command through gortmplib's writer.
func writeCommand(cmd *message.CommandAMF0) func(*testing.T, net.Conn) {
	return func(t *testing.T, nc net.Conn) {
		rw := message.NewReadWriter(nc, bytecounter.NewReadWriter(nc), false)
		require.NoError(t, rw.Write(cmd))
	}
}

// TestPlayRefused: the gateway only ingests over RTMP.
func TestPlayRefused(t *testing.T) {
	logs := ingesttest.NewLogCapture(t)
	s := &Server{Sink: &ingesttest.Sink{}}
	addr := startServer(t, s, logs)
	u, err := url.Parse("rtmp://" + addr + "/live/cam1")
	require.NoError(t, err)
	c := &gortmplib.Client{URL: u, Publish: false}
	require.Error(t, c.Initialize(t.Context()))
	logs.WaitFunc(t, "play refused", isLine("play refused: this gateway only ingests over RTMP", "stream", ""))
	require.Equal(t, uint64(1), s.Stats().Rejected)
}

// TestMaxConns refuses connections over the limit and admits again below it.
func TestMaxConns(t *testing.T) {
	logs := ingesttest.NewLogCapture(t)
	s := &Server{Sink: &ingesttest.Sink{}, MaxConns: 2}
	addr := startServer(t, s, logs)

	var conns []net.Conn
	for range 2 {
		nc, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer nc.Close()
		conns = append(conns, nc)
	}
	require.Eventually(t, func() bool { return s.Stats().Conns == 2 }, waitTime, pollEvery)

	over, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer over.Close()
	waitClosedByServer(t, over)
	logs.WaitFunc(t, "limit", isLine("too many connections, refusing", "max_conns", 2))
	require.Equal(t, uint64(1), s.Stats().Rejected)

	conns[0].Close()
	require.Eventually(t, func() bool { return s.Stats().Conns == 1 }, waitTime, pollEvery)
	_, _ = publishH264(t, "rtmp://"+addr+"/live/cam1", nil)
}

// TestMaxConnsPerIP: idle connections from one address take at most its
// share of the slots; a publisher from another address still gets in, and
// one from the same address once a slot is free.
func TestMaxConnsPerIP(t *testing.T) {
	logs := ingesttest.NewLogCapture(t)
	ln4, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln6, err := net.Listen("tcp", "[::1]:0")
	require.NoError(t, err)
	s := &Server{Sink: &ingesttest.Sink{}, MaxConnsPerIP: 3, Listener: mergeListeners(ln4, ln6)}
	startServer(t, s, logs)
	v4, v6 := ln4.Addr().String(), ln6.Addr().String()

	var idle []net.Conn
	for range 10 {
		nc, err := net.Dial("tcp", v4)
		require.NoError(t, err)
		defer nc.Close()
		idle = append(idle, nc)
	}
	require.Eventually(t, func() bool { return s.Stats().Conns == 3 && s.Stats().Rejected == 7 }, waitTime, pollEvery)
	logs.WaitFunc(t, "limit", isLine("too many connections, refusing", "max_conns_per_ip", 3))

	c, _ := publishH264(t, "rtmp://"+v6+"/live/other", nil) // a publisher from another address
	require.NotNil(t, c)
	for _, nc := range idle {
		nc.Close()
	}
	require.Eventually(t, func() bool { return s.Stats().Conns == 0 }, waitTime, pollEvery)
	c, _ = publishH264(t, "rtmp://"+v4+"/live/cam1", nil)
	require.NotNil(t, c)
}

// panicSink panics where a buggy sink would.
type panicSink struct {
	ingesttest.Sink
	inPublish bool
}

func (s *panicSink) Publish(ctx context.Context, req ingest.PublishRequest) (ingest.Publication, error) {
	if s.inPublish && req.Path == "live/boom" {
		panic("sink bug in Publish")
	}
	p, err := s.Sink.Publish(ctx, req)
	if err != nil || req.Path != "live/boom" {
		return p, err
	}
	return panicPub{p}, nil
}

type panicPub struct{ ingest.Publication }

func (panicPub) WriteFrame(ingest.Frame) error { panic("sink bug in WriteFrame") }

// TestPanicRecovery: a panic on one connection closes that connection only.
func TestPanicRecovery(t *testing.T) {
	for _, inPublish := range []bool{true, false} {
		name := map[bool]string{true: "in Publish", false: "in WriteFrame"}[inPublish]
		t.Run(name, func(t *testing.T) {
			sink := &panicSink{inPublish: inPublish}
			logs := ingesttest.NewLogCapture(t)
			s := &Server{Sink: sink}
			addr := startServer(t, s, logs)

			_, ok := publishH264(t, "rtmp://"+addr+"/live/ok", nil)
			sink.WaitPublication(t, 1)
			boom, p := publishRefused(t, "rtmp://"+addr+"/live/boom")
			waitClosedByServer(t, boom.NetConn())
			rec := logs.WaitFunc(t, "panic", isLine("panic in connection", "path", "live/boom"))
			require.Contains(t, rec.Attrs["panic"], "sink bug")
			require.Contains(t, rec.Attrs["stack"], "ingest/rtmp")
			require.Error(t, p.push(probeFrames), "the panicking connection is closed")
			require.NoError(t, ok.push(10), "the other publisher streams on")
			require.Equal(t, uint64(1), s.Stats().Errors)
		})
	}
}

// publishRefused publishes like publishH264 to a server that is expected to
// close the connection after the probe, so writes may fail.
func publishRefused(t *testing.T, rawURL string) (*gortmplib.Client, *h264Pusher) {
	t.Helper()
	c, err := dial(t, rawURL, nil)
	require.NoError(t, err)
	p := newH264Pusher(t, c)
	err = p.push(probeFrames)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isBrokenPipe(err) {
		require.NoError(t, err)
	}
	return c, p
}

func isBrokenPipe(err error) bool {
	return strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "connection reset")
}
