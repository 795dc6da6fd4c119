package rtsp

import (
	"crypto/rand"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// opusPublisher records an Opus track with gortsplib's client.
type opusPublisher struct {
	c     *gortsplib.Client
	media *description.Media
	seq   uint16
}

func publishOpus(t *testing.T, url string, udp bool) (*opusPublisher, error) {
	t.Helper()
	media := &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.Opus{PayloadTyp: 111, ChannelCount: 2}}}
	proto := gortsplib.ProtocolTCP
	if udp {
		proto = gortsplib.ProtocolUDP
	}
	c := &gortsplib.Client{Protocol: &proto}
	if err := c.StartRecording(url, &description.Session{Medias: []*description.Media{media}}); err != nil {
		return nil, err
	}
	t.Cleanup(c.Close)
	return &opusPublisher{c: c, media: media}, nil
}

// write sends n 20 ms Opus packets.
func (p *opusPublisher) write(t *testing.T, n int) {
	t.Helper()
	for range n {
		err := p.c.WritePacketRTP(p.media, &rtp.Packet{
			Header: rtp.Header{
				Version: 2, PayloadType: 111, SequenceNumber: p.seq, Timestamp: uint32(p.seq) * 960, SSRC: 1, Marker: true,
			},
			Payload: []byte{0xf8, 0xff, 0xfe},
		})
		require.NoError(t, err)
		p.seq++
	}
}

func TestGoClientPublish(t *testing.T) {
	for _, udp := range []bool{false, true} {
		t.Run(fmt.Sprintf("udp=%v", udp), func(t *testing.T) {
			ts := startServer(t, udp, nil)
			p, err := publishOpus(t, "rtsp://"+ts.addr+"/open/radio", udp)
			require.NoError(t, err)
			pub := ts.sink.WaitPublication(t, 1)
			require.Equal(t, []ingest.Track{{Codec: ingest.CodecOpus, Timescale: 48000, SampleRate: 48000, Channels: 2}}, pub.Req.Tracks)
			p.write(t, 50)
			require.Eventually(t, func() bool { return len(pub.TrackFrames(0)) == 50 }, 10*time.Second, 10*time.Millisecond)
			frames := pub.TrackFrames(0)
			for i := 1; i < len(frames); i++ {
				require.Equal(t, int64(960), frames[i].DTS-frames[i-1].DTS)
			}
			p.c.Close()
			require.Eventually(t, pub.IsClosed, 10*time.Second, 10*time.Millisecond)
		})
	}
}

func TestReplacedPublisherIsDisconnected(t *testing.T) {
	ts := startServer(t, false, nil)
	p, err := publishOpus(t, "rtsp://"+ts.addr+"/open/radio", false)
	require.NoError(t, err)
	pub := ts.sink.WaitPublication(t, 1)
	p.write(t, 5)
	pub.Replace()
	require.Eventually(t, pub.IsClosed, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return ts.Stats().Conns == 0 }, 10*time.Second, 10*time.Millisecond, "connection closed")
	require.NotEmpty(t, ts.logs.Find("rtsp: publication ended by the sink"))
}

func TestPathInUse(t *testing.T) {
	ts := startServer(t, false, nil)
	ts.sink.Err = ingest.ErrPathInUse
	_, err := publishOpus(t, "rtsp://"+ts.addr+"/open/radio", false)
	require.ErrorContains(t, err, "Path Already Has A Publisher")
	require.Empty(t, ts.sink.Publications())
}

// TestGarbage throws random bytes at the TCP and UDP ports: each bad
// connection is closed and counted, and a publisher is served afterwards.
func TestGarbage(t *testing.T) {
	ts := startServer(t, true, nil)
	buf := make([]byte, 4096)
	for i := range 20 {
		c, err := net.Dial("tcp", ts.addr)
		require.NoError(t, err)
		_, _ = rand.Read(buf)
		if i%2 == 0 {
			// A plausible request line first, garbage after.
			copy(buf, "ANNOUNCE rtsp://x/y RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999\r\n\r\n")
		}
		_, _ = c.Write(buf[:1+i*200])
		c.Close()
	}
	for _, addr := range []string{ts.UDPRTPAddr, ts.UDPRTCPAddr} {
		u, err := net.Dial("udp", addr)
		require.NoError(t, err)
		for i := range 200 {
			_, _ = rand.Read(buf)
			_, err = u.Write(buf[:1+i*7])
			require.NoError(t, err)
		}
		u.Close()
	}
	require.Eventually(t, func() bool { return ts.Stats().ConnErrors > 0 && ts.Stats().Conns == 0 }, 10*time.Second, 10*time.Millisecond)

	p, err := publishOpus(t, "rtsp://"+ts.addr+"/open/radio", true)
	require.NoError(t, err)
	pub := ts.sink.WaitPublication(t, 1)
	p.write(t, 10)
	require.Eventually(t, func() bool { return len(pub.TrackFrames(0)) == 10 }, 10*time.Second, 10*time.Millisecond)

	// An undecodable packet inside the session costs its frame only.
	require.NoError(t, p.c.WritePacketRTP(p.media, &rtp.Packet{
		Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: p.seq, Timestamp: uint32(p.seq) * 960, SSRC: 1, Marker: true},
	}))
	p.seq++
	p.write(t, 10)
	require.Eventually(t, func() bool { return len(pub.TrackFrames(0)) == 20 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, uint64(1), ts.Stats().DecodeErrors)
	require.NotEmpty(t, ts.logs.Find("rtsp: corrupt input skipped"))
}

func TestConnectionLimits(t *testing.T) {
	ts := startServer(t, false, func(s *Server) { s.MaxConnsPerIP = 1 })
	first := dialRTSP(t, ts.addr)
	_, err := first.do("OPTIONS", "/", nil, nil)
	require.NoError(t, err)
	second := dialRTSP(t, ts.addr)
	second.requireClosed()
	require.Equal(t, uint64(1), ts.Stats().RefusedConns)
}

// A request left unfinished (slowloris) closes its connection after the
// read timeout instead of holding a slot.
func TestUnfinishedRequestCloses(t *testing.T) {
	ts := startServer(t, false, func(s *Server) { s.ReadTimeout = 300 * time.Millisecond })
	c := dialRTSP(t, ts.addr)
	_, err := c.c.Write([]byte("OPTIONS rtsp://x/ RTSP/1.0\r\n"))
	require.NoError(t, err)
	c.requireClosed()
	require.Eventually(t, func() bool { return ts.Stats().Conns == 0 }, 5*time.Second, 10*time.Millisecond)
}

// A publication over UDP keeps its quiet TCP connection beyond the read
// timeout: the idle bound ends at RECORD.
func TestUDPRecordOutlivesIdleBound(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	ts := startServer(t, true, func(s *Server) { s.ReadTimeout = time.Second })
	_, err := push(t, h264AAC, "udp", fmt.Sprintf("rtsp://alice:hunter2@%s/live/cam1", ts.addr))
	require.NoError(t, err)
	pub := ts.sink.WaitPublication(t, 1)
	require.Eventually(t, pub.IsClosed, 10*time.Second, 10*time.Millisecond)
	require.Greater(t, len(pub.TrackFrames(0))+len(pub.TrackFrames(1)), 80, "3 s of video and audio, not 1")
}
