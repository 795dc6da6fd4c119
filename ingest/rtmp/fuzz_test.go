package rtmp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

func FuzzParseTarget(f *testing.F) {
	f.Add("rtmp://gw/live", "live", "cam1?key=abc")
	f.Add("rtmp://gw:1935/live?key=abc", "live?key=abc", "cam1")
	f.Add("", "live", "?user=u&pass=p")
	f.Add("'rtmp://gw/a%2Fb'", "a", "c%zz?key=%41&&=x&user")
	f.Add("rtmp://gw/studio?authmod=adobe&user=u&challenge=c&response=r", "studio", "cam1")
	f.Fuzz(func(t *testing.T, tcURL, app, name string) {
		tg, err := parseTarget(tcURL, app, name)
		if err != nil {
			require.ErrorIs(t, err, config.ErrBadPath)
			return
		}
		clean, err := config.CleanPath(tg.path)
		require.NoError(t, err)
		require.Equal(t, clean, tg.path, "the path is clean")
	})
}

func FuzzParseAdobe(f *testing.F) {
	f.Add("authmod=adobe&user=u&challenge=c&response=r&opaque=o", "pw")
	f.Add("authmod=adobe&user=", "")
	f.Add("authmod=adobe&user=%zz&challenge", "x")
	var k adobeKey
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, query, pass string) {
		l, ok := parseAdobe(query)
		if !ok {
			return
		}
		_ = k.verify(l, pass, now)
		if l.user == "" || l.clientChallenge == "" {
			return
		}
		// A client that answers the challenge correctly is accepted.
		l.response = adobeResponse(l.user, pass, k.salt(l.user), k.challenge(l.user, now.Unix()/60), l.clientChallenge)
		require.True(t, k.verify(l, pass, now))
	})
}

// FuzzAV1 feeds the AV1 helpers with OBUs split at 0xff bytes.
func FuzzAV1(f *testing.F) {
	f.Add([]byte{0x30, 0x10}, false)
	f.Add([]byte{0x12, 0x00, 0x0a, 0x0b, 0x00, 0x00, 0x00, 0x42, 0xab, 0xbf, 0xc3, 0x70, 0x0b, 0xe0, 0x01}, false)
	f.Add([]byte{0x32, 0x81, 0xff, 0x34}, true)
	f.Fuzz(func(t *testing.T, data []byte, reduced bool) {
		tu := bytes.Split(data, []byte{0xff})
		_ = av1KeyFrame(tu, reduced)
		_ = av1SequenceHeader(data)
		_ = reducedStill(data)
	})
}

// FuzzNALUs feeds the H.264/H.265 helpers with NAL units split at 0xff
// bytes.
func FuzzNALUs(f *testing.F) {
	f.Add([]byte{0x67, 1, 0xff, 0x68, 1})
	f.Add([]byte{0x40, 1, 0xff, 0x42, 0xff, 0x44, 0xff, 0x26})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, codec := range []ingest.Codec{ingest.CodecH264, ingest.CodecH265} {
			c, st, _ := paramConn(ingest.Track{Codec: codec, SPS: []byte{0x67}, PPS: []byte{0x68}, VPS: []byte{0x40}})
			c.videoFrame(st, 0, 0, bytes.Split(data, []byte{0xff}))
			c.videoFrame(st, 0, 0, [][]byte{data})
		}
	})
}

// FuzzConn drives a whole server connection with the fuzzed bytes as the
// client's side of a net.Pipe: whatever they hold, the connection must end
// without a panic (caught or not) once the client hangs up.
func FuzzConn(f *testing.F) {
	f.Add(recordSession(f))
	f.Add([]byte{3})
	f.Add(append([]byte{6}, make([]byte, 1536)...))
	f.Add(append(make([]byte, 3073), appendMessage(nil, setChunkSize(1), 128)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		logs := ingesttest.NewLogCapture(t)
		s := &Server{Sink: &ingesttest.Sink{}, Logger: slog.New(logs)}
		client, server := net.Pipe()
		var wg sync.WaitGroup
		wg.Go(func() { s.serveConn(context.Background(), server) })
		wg.Go(func() { _, _ = io.Copy(io.Discard, client) }) // the server's replies
		_, _ = client.Write(data)
		client.Close()
		wg.Wait()
		if recs := logs.FindFunc(isLine("panic in connection")); len(recs) > 0 {
			t.Fatalf("panic: %v\n%v", recs[0].Attrs["panic"], recs[0].Attrs["stack"])
		}
	})
}

// recordSession returns the bytes a gortmplib publisher sends for a short
// H.264 publication: handshake, commands, 2.4 s of frames.
func recordSession(tb testing.TB) []byte {
	client, server := net.Pipe()
	rec := &recordingConn{Conn: server}
	sink := &ingesttest.Sink{}
	s := &Server{Sink: sink}
	var wg sync.WaitGroup
	wg.Go(func() { s.serveConn(context.Background(), rec) })

	u, err := url.Parse("rtmp://gw/live/cam1?key=abc")
	require.NoError(tb, err)
	c := &gortmplib.Client{URL: u, Publish: true, DialContext: func(context.Context, string, string) (net.Conn, error) {
		return client, nil
	}}
	require.NoError(tb, c.Initialize(context.Background()))
	tr := &gortmplib.Track{Codec: &codecs.H264{}}
	w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{tr}}
	require.NoError(tb, w.Initialize())
	p := &h264Pusher{w: w, track: tr}
	require.NoError(tb, p.push(probeFrames))
	c.Close()
	wg.Wait()
	require.Len(tb, sink.Publications(), 1)
	return rec.bytes()
}

// recordingConn keeps what is read from it.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	r.buf = append(r.buf, p[:n]...)
	r.mu.Unlock()
	return n, err
}

func (r *recordingConn) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf)
}
