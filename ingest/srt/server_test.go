package srt

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	srt "github.com/datarhei/gosrt"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

const testPassphrase = "correct-horse-battery"

// testServer runs a Server on 127.0.0.1 until the test ends.
type testServer struct {
	*Server
	sink *ingesttest.Sink
	logs *ingesttest.LogCapture
	addr string
}

func startServer(t *testing.T, configure func(*Server)) *testServer {
	t.Helper()
	ts := &testServer{sink: &ingesttest.Sink{}, logs: ingesttest.NewLogCapture(t)}
	ts.Server = &Server{
		Addr:   "127.0.0.1:0",
		Sink:   ts.sink,
		Logger: slog.New(ts.logs),
		Auth: ingest.NewAuth([]ingest.PathRule{
			{Path: "live/*"},
			{Path: "secret/*", Passphrase: testPassphrase},
			{Path: "private/*", User: "alice", Pass: "hunter2"},
			{Path: "keyed/*", Pass: "s3cret"},
			{Path: "short/*", Passphrase: "tooshort"},
		}),
	}
	if configure != nil {
		configure(ts.Server)
	}
	require.NoError(t, ts.Listen())
	ts.addr = ts.LocalAddr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.Zero(t, ts.Stats().Conns, "every connection released")
	})
	return ts
}

// dial connects a gosrt caller.
func dial(addr, streamID, passphrase string, keyLen int) (srt.Conn, error) {
	cfg := srt.DefaultConfig()
	cfg.StreamId = streamID
	cfg.Passphrase = passphrase
	if keyLen != 0 {
		cfg.PBKeylen = keyLen
	}
	cfg.ConnectionTimeout = 5 * time.Second
	return srt.Dial("srt", addr, cfg)
}

// rejection is the error gosrt's dialer reports for a rejection code.
func rejection(code srt.RejectionReason) string {
	return "connection rejected: REJECT (" + strconv.FormatUint(uint64(code), 32) + ")"
}

// sendTS writes a TS stream the way ffmpeg does: 7 TS packets per SRT
// packet, paced at about 20 Mb/s. An unpaced burst overflows the listener's
// UDP receive buffer (the kernel default; gosrt v0.11.0 cannot raise it), and
// SRT cannot recover the tail of a burst: nothing after it reveals the gap.
func sendTS(t *testing.T, c srt.Conn, data []byte) {
	t.Helper()
	tick := time.NewTicker(500 * time.Microsecond)
	defer tick.Stop()
	for len(data) > 0 {
		n := min(len(data), 7*tsPacketSize)
		_, err := c.Write(data[:n])
		require.NoError(t, err)
		data = data[n:]
		<-tick.C
	}
}

// testStream is a crafted TS of n frames at 30 fps, a keyframe every 10.
func testStream(t *testing.T, n int) []byte {
	p := newTSProgram(t)
	for i := range n {
		dts := int64(900000 + i*3000)
		p.frame(t, dts+3000, dts, i%10 == 0)
	}
	return p.buf.Bytes()
}

func TestHandshakeRejections(t *testing.T) {
	ts := startServer(t, nil)
	cases := []struct {
		name       string
		streamID   string
		passphrase string
		code       srt.RejectionReason
		logMsg     string
	}{
		{name: "empty stream id", streamID: "", code: srt.REJX_BAD_REQUEST, logMsg: "srt: bad stream id"},
		{name: "malformed access control", streamID: "#!::r=live/cam1,m", code: srt.REJX_BAD_REQUEST, logMsg: "srt: bad stream id"},
		{name: "unknown syntax", streamID: "#!:{r=live/cam1}", code: srt.REJX_BAD_REQUEST, logMsg: "srt: bad stream id"},
		{name: "empty path", streamID: "#!::r=/,m=publish", code: srt.REJX_BAD_REQUEST, logMsg: "srt: bad stream id"},
		{name: "read mode", streamID: "#!::r=live/cam1,m=request", code: srt.REJX_BAD_MODE, logMsg: "srt: bad stream id"},
		{name: "mediamtx read", streamID: "read:live/cam1", code: srt.REJX_BAD_MODE, logMsg: "srt: bad stream id"},
		{name: "path without rule", streamID: "other/cam1", code: srt.REJX_UNAUTHORIZED, logMsg: "authentication failed"},
		{name: "missing credentials", streamID: "private/cam1", code: srt.REJX_UNAUTHORIZED, logMsg: "authentication failed"},
		{name: "wrong credentials", streamID: "#!::r=private/cam1,u=alice,s=nope", code: srt.REJX_UNAUTHORIZED, logMsg: "authentication failed"},
		{name: "missing passphrase", streamID: "secret/cam1", code: srt.REJ_UNSECURE, logMsg: "authentication failed"},
		{name: "wrong passphrase", streamID: "secret/cam1", passphrase: "wrong passphrase!", code: srt.REJ_BADSECRET, logMsg: "authentication failed"},
		{name: "encrypted caller on a path without passphrase", streamID: "live/cam1", passphrase: testPassphrase, code: srt.REJ_UNSECURE, logMsg: "authentication failed"},
		{name: "misconfigured passphrase", streamID: "short/cam1", passphrase: testPassphrase, code: srt.REJX_ISE, logMsg: "srt: misconfigured passphrase"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(ts.logs.Find(tc.logMsg))
			c, err := dial(ts.addr, tc.streamID, tc.passphrase, 0)
			if c != nil {
				c.Close()
			}
			require.ErrorContains(t, err, rejection(tc.code))
			logs := ts.logs.Find(tc.logMsg)
			require.Len(t, logs, before+1)
			last := logs[len(logs)-1]
			require.Equal(t, "srt", last.Attrs["proto"])
			require.NotEmpty(t, last.Attrs["remote"])
			if tc.logMsg == "authentication failed" {
				require.NotEmpty(t, last.Attrs["path"])
			}
		})
	}
	require.Empty(t, ts.sink.Publications(), "no rejected caller publishes")
	require.Equal(t, uint64(len(cases)), ts.Stats().Rejected)
	require.Equal(t, uint64(6), ts.Stats().AuthFailures)
}

func TestPublishGoClient(t *testing.T) {
	cases := []struct {
		name, streamID, passphrase string
		keyLen                     int
		path                       string
	}{
		{name: "access control", streamID: "#!::r=live/cam1,m=publish", path: "live/cam1"},
		{name: "mediamtx credentials", streamID: "publish:private/cam1:alice:hunter2", path: "private/cam1"},
		{name: "bare", streamID: "live/cam2", path: "live/cam2"},
		{name: "AES-128", streamID: "secret/a", passphrase: testPassphrase, keyLen: 16, path: "secret/a"},
		{name: "AES-192", streamID: "secret/b", passphrase: testPassphrase, keyLen: 24, path: "secret/b"},
		{name: "AES-256", streamID: "secret/c", passphrase: testPassphrase, keyLen: 32, path: "secret/c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, nil)
			c, err := dial(ts.addr, tc.streamID, tc.passphrase, tc.keyLen)
			require.NoError(t, err)
			defer c.Close()
			sendTS(t, c, testStream(t, 20))

			pub := ts.sink.WaitPublication(t, 1)
			require.Equal(t, tc.path, pub.Req.Path)
			require.Equal(t, "srt", pub.Req.Proto)
			require.Len(t, pub.Req.Tracks, 3)
			// Every frame goes on before the publisher closes: audio PES
			// state their length, video PES end in a stuffed packet.
			require.Eventually(t, func() bool { return len(pub.TrackFrames(0)) == 20 }, 10*time.Second, 10*time.Millisecond)
			require.Eventually(t, func() bool { return len(pub.TrackFrames(1)) == 40 }, 10*time.Second, 10*time.Millisecond)
			c.Close()
			require.Eventually(t, pub.IsClosed, 10*time.Second, 10*time.Millisecond)
			video := pub.TrackFrames(0)
			require.Len(t, video, 20)
			for i, f := range video {
				require.Equal(t, int64(900000+i*3000), f.DTS)
				require.Equal(t, f.DTS+3000, f.PTS)
				require.Equal(t, i%10 == 0, f.Keyframe)
			}
			require.Zero(t, ts.Stats().DecodeErrors)
		})
	}
}

// TestCorruptTS sends a real ffmpeg TS with packets lost, headers broken
// and payload bytes flipped inside one SRT session: the session continues
// to the end, errors are counted, and the server takes the next publisher.
func TestCorruptTS(t *testing.T) {
	ts := startServer(t, nil)
	data := ffmpegTS(t)
	clean := demux(t, data)
	cleanVideo := len(clean.track(0))

	// The video frames (PES on ffmpeg's video PID, 0x100) that damage
	// touches: each may cost its own frame, and nothing more.
	const videoPID = 0x100
	touched := map[int]bool{}
	videoPES := -1

	corrupt := make([]byte, 0, len(data))
	for i := 0; i+tsPacketSize <= len(data); i += tsPacketSize {
		p := append([]byte(nil), data[i:i+tsPacketSize]...)
		n := i / tsPacketSize
		if uint16(p[1]&0x1F)<<8|uint16(p[2]) == videoPID {
			if p[1]&0x40 != 0 {
				videoPES++
			}
			if n > 50 && (n%97 == 0 || n%89 == 0 || n%71 == 0 || n%13 == 0) {
				touched[videoPES] = true
			}
		}
		switch {
		case n > 50 && n%97 == 0:
			continue // lost packet
		case n > 50 && n%89 == 0:
			p[0] = 0x00 // lost sync: skipped as garbage
		case n > 50 && n%71 == 0:
			for j := 4; j < 40; j++ {
				p[j] ^= 0xFF // broken adaptation field / PES header
			}
		case n > 50 && n%13 == 0:
			for j := 100; j < 120; j++ {
				p[j] ^= 0x5A // flipped payload bytes
			}
		}
		corrupt = append(corrupt, p...)
	}

	c, err := dial(ts.addr, "live/corrupt", "", 0)
	require.NoError(t, err)
	sendTS(t, c, corrupt)
	pub := ts.sink.WaitPublication(t, 1)
	lastDTS := clean.track(0)[cleanVideo-1].DTS
	// The session survives the damage: frames from the end of the stream
	// arrive.
	require.Eventually(t, func() bool {
		v := pub.TrackFrames(0)
		return len(v) > 0 && v[len(v)-1].DTS >= lastDTS-10*3000
	}, 20*time.Second, 10*time.Millisecond, "clean: %d frames up to DTS %d; got %d frames up to %d; stats %+v",
		cleanVideo, lastDTS, len(pub.TrackFrames(0)), lastFrameDTS(pub), ts.Stats())
	c.Close()
	require.Eventually(t, pub.IsClosed, 10*time.Second, 10*time.Millisecond)

	st := ts.Stats()
	require.Positive(t, st.LostPackets, "continuity gaps counted")
	require.Positive(t, st.DecodeErrors, "corrupt units counted")
	video := pub.TrackFrames(0)
	require.Equal(t, cleanVideo, videoPES+1, "PID 0x100 carries the video")
	require.LessOrEqual(t, cleanVideo-len(video), len(touched),
		"damage to %d frames cost %d of %d", len(touched), cleanVideo-len(video), cleanVideo)
	t.Logf("damage to %d frames cost %d of %d", len(touched), cleanVideo-len(video), cleanVideo)
	require.NotEmpty(t, ts.logs.Find("srt: corrupt input skipped"))

	// The next publisher is served normally.
	c2, err := dial(ts.addr, "live/after", "", 0)
	require.NoError(t, err)
	defer c2.Close()
	sendTS(t, c2, testStream(t, 5))
	pub2 := ts.sink.WaitPublication(t, 2)
	require.Equal(t, "live/after", pub2.Req.Path)
}

// ffmpegTS encodes two seconds of H.264+AAC to MPEG-TS in memory.
func ffmpegTS(t *testing.T) []byte {
	t.Helper()
	return ffmpegTSWith(t, "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30", "-c:a", "aac")
}

// ffmpegTSWith encodes two seconds of test pattern and tone to MPEG-TS with
// the given codec arguments.
func ffmpegTSWith(t *testing.T, codecArgs ...string) []byte {
	t.Helper()
	out := t.TempDir() + "/in.ts"
	args := append([]string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-f", "lavfi", "-i", "sine", "-t", "2"}, codecArgs...)
	_, err := ingesttest.FFmpeg(t, append(args, "-f", "mpegts", out)...)
	require.NoError(t, err)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	return data
}

// TestRandomDatagrams throws garbage at the SRT port; the listener ignores
// it and still serves a real caller.
func TestRandomDatagrams(t *testing.T) {
	ts := startServer(t, nil)
	u, err := net.Dial("udp", ts.addr)
	require.NoError(t, err)
	defer u.Close()
	buf := make([]byte, 1500)
	for i := range 2000 {
		n := 1 + i%len(buf)
		_, _ = rand.Read(buf[:n])
		if i%2 == 0 {
			buf[0] |= 0x80 // control packet
			if n > 8 {
				clear(buf[8:16]) // destination socket 0: looks like a handshake
				buf[1] = 0       // control type handshake
			}
		}
		_, err := u.Write(buf[:n])
		require.NoError(t, err)
	}
	// gosrt's dialer sends its induction once, and the flood may still
	// fill the listener's queues, so the caller retries like libsrt does.
	var c srt.Conn
	require.Eventually(t, func() bool {
		cfg := srt.DefaultConfig()
		cfg.StreamId = "live/cam1"
		cfg.ConnectionTimeout = time.Second
		c, err = srt.Dial("srt", ts.addr, cfg)
		return err == nil
	}, 20*time.Second, 10*time.Millisecond)
	defer c.Close()
	sendTS(t, c, testStream(t, 3))
	require.Equal(t, "live/cam1", ts.sink.WaitPublication(t, 1).Req.Path)
}

func TestReplacedPublisherIsDisconnected(t *testing.T) {
	ts := startServer(t, nil)
	c, err := dial(ts.addr, "live/cam1", "", 0)
	require.NoError(t, err)
	defer c.Close()
	sendTS(t, c, testStream(t, 5))
	pub := ts.sink.WaitPublication(t, 1)
	pub.Replace()
	require.Eventually(t, func() bool { return ts.Stats().Conns == 0 }, 10*time.Second, 10*time.Millisecond)
	require.True(t, pub.IsClosed())
	require.NotEmpty(t, ts.logs.Find("srt: replaced by a newer publisher"))
}

func TestPathInUse(t *testing.T) {
	ts := startServer(t, nil)
	ts.sink.Err = ingest.ErrPathInUse
	c, err := dial(ts.addr, "live/cam1", "", 0)
	require.NoError(t, err)
	defer c.Close()
	sendTS(t, c, testStream(t, 5))
	require.Eventually(t, func() bool { return ts.Stats().Conns == 0 }, 10*time.Second, 10*time.Millisecond)
	logs := ts.logs.Find("srt: connection closed")
	require.Len(t, logs, 1)
	require.Contains(t, logs[0].Attrs["error"], ingest.ErrPathInUse.Error())
}

// TestSilentCallerTimesOut connects without sending TS: keepalives alone do
// not hold a connection.
func TestSilentCallerTimesOut(t *testing.T) {
	ts := startServer(t, func(s *Server) { s.ReadTimeout = 300 * time.Millisecond })
	c, err := dial(ts.addr, "live/cam1", "", 0)
	require.NoError(t, err)
	defer c.Close()
	require.Eventually(t, func() bool { return ts.Stats().Accepted == 1 && ts.Stats().Conns == 0 }, 10*time.Second, 10*time.Millisecond)
	require.Empty(t, ts.sink.Publications())
	logs := ts.logs.Find("srt: connection closed")
	require.Len(t, logs, 1)
	require.Contains(t, logs[0].Attrs["error"], errReadTimeout.Error())
}

func TestConnectionLimits(t *testing.T) {
	ts := startServer(t, func(s *Server) { s.MaxConnsPerIP = 1 })
	c, err := dial(ts.addr, "live/cam1", "", 0)
	require.NoError(t, err)
	defer c.Close()
	_, err = dial(ts.addr, "live/cam2", "", 0)
	require.ErrorContains(t, err, rejection(srt.REJX_OVERLOAD))
}

func lastFrameDTS(p *ingesttest.Publication) int64 {
	v := p.TrackFrames(0)
	if len(v) == 0 {
		return -1
	}
	return v[len(v)-1].DTS
}
