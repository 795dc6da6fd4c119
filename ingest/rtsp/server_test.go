package rtsp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// testServer runs a Server on 127.0.0.1 until the test ends.
type testServer struct {
	*Server
	sink *ingesttest.Sink
	logs *ingesttest.LogCapture
	addr string
}

// startServer starts a server; with udp it also binds a free even/odd port
// pair, retrying when another test or process holds one.
func startServer(t *testing.T, udp bool, configure func(*Server)) *testServer {
	t.Helper()
	ts := &testServer{sink: &ingesttest.Sink{}, logs: ingesttest.NewLogCapture(t)}
	for attempt := 0; ; attempt++ {
		ts.Server = &Server{
			Addr:   "127.0.0.1:0",
			Sink:   ts.sink,
			Logger: slog.New(ts.logs),
			Auth: ingest.NewAuth([]ingest.PathRule{
				{Path: "live/*", User: "alice", Pass: "hunter2"},
				{Path: "open/*"},
			}),
		}
		if udp {
			p := 20000 + 2*mrand.IntN(20000)
			ts.UDPRTPAddr = fmt.Sprintf("127.0.0.1:%d", p)
			ts.UDPRTCPAddr = fmt.Sprintf("127.0.0.1:%d", p+1)
		}
		if configure != nil {
			configure(ts.Server)
		}
		err := ts.Listen()
		if err == nil {
			break
		}
		if udp && errors.Is(err, syscall.EADDRINUSE) && attempt < 50 {
			continue
		}
		require.NoError(t, err)
	}
	ts.addr = ts.LocalAddr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		require.Zero(t, ts.Stats().Conns, "every connection closed")
	})
	return ts
}

// Encoder arguments of the pushes: three seconds of test pattern and tone,
// B-frames on, a keyframe every second.
var (
	h264AAC = []string{
		"-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30",
		"-c:a", "aac",
	}
	h265Opus = []string{
		"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:bframes=2", "-g", "30",
		"-c:a", "libopus", "-ar", "48000",
	}
)

// push runs ffmpeg in real time into url for three seconds.
func push(t *testing.T, codecArgs []string, transport, url string) (string, error) {
	args := []string{
		"-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine", "-t", "3",
	}
	args = append(args, codecArgs...)
	args = append(args, "-f", "rtsp", "-rtsp_transport", transport, url)
	return ingesttest.FFmpeg(t, args...)
}

// TestFFmpegPush records H.264+AAC and H.265+Opus from ffmpeg over TCP and
// UDP with credentials (ffmpeg answers the 401 with digest).
func TestFFmpegPush(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	type codecCase struct {
		name         string
		args         []string
		video, audio ingest.Codec
		audioRate    int
		minAudio     int
	}
	codecs := []codecCase{
		{name: "H.264 AAC", args: h264AAC, video: ingest.CodecH264, audio: ingest.CodecAAC, audioRate: 44100, minAudio: 110},
		{name: "H.265 Opus", args: h265Opus, video: ingest.CodecH265, audio: ingest.CodecOpus, audioRate: 48000, minAudio: 130},
	}
	for _, transport := range []string{"tcp", "udp"} {
		for _, cc := range codecs {
			t.Run(transport+" "+cc.name, func(t *testing.T) {
				t.Parallel()
				ts := startServer(t, transport == "udp", nil)
				url := fmt.Sprintf("rtsp://alice:hunter2@%s/live/cam1", ts.addr)
				_, err := push(t, cc.args, transport, url)
				require.NoError(t, err)

				pub := ts.sink.WaitPublication(t, 1)
				require.Eventually(t, pub.IsClosed, 10*time.Second, 10*time.Millisecond, "publication ends with the session")
				require.Equal(t, "live/cam1", pub.Req.Path)
				require.Equal(t, "rtsp", pub.Req.Proto)
				require.Len(t, pub.Req.Tracks, 2)
				vi, ai := pub.TrackIndex(t, cc.video), pub.TrackIndex(t, cc.audio)
				video, audio := pub.Req.Tracks[vi], pub.Req.Tracks[ai]
				require.Equal(t, uint32(90000), video.Timescale)
				require.NotEmpty(t, video.SPS, "parameter sets from the SDP")
				require.NotEmpty(t, video.PPS)
				if cc.video == ingest.CodecH265 {
					require.NotEmpty(t, video.VPS)
				}
				require.Equal(t, uint32(cc.audioRate), audio.Timescale, "RTP clock rate")
				require.Equal(t, cc.audioRate, audio.SampleRate)
				require.Positive(t, audio.Channels)
				if cc.audio == ingest.CodecAAC {
					require.NotEmpty(t, audio.AudioSpecificConfig)
				}

				ingesttest.CheckVideo(t, pub.TrackFrames(vi), cc.video, 85, true)
				ingesttest.CheckAudio(t, pub.TrackFrames(ai), cc.minAudio)
				if st := ts.Stats(); transport == "tcp" || st.LostPackets == 0 {
					require.Zero(t, st.DecodeErrors)
				}
				require.Positive(t, ts.Stats().Bytes)
				require.NotEmpty(t, ts.logs.Find("rtsp: publishing"))
			})
		}
	}
}

// TestFFmpegRejected: wrong or missing credentials and a bad path are
// refused at ANNOUNCE; nothing is published.
func TestFFmpegRejected(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	cases := []struct {
		name, userinfo, path string
		authFailure          bool
	}{
		{name: "wrong password", userinfo: "alice:wrong@", path: "live/cam1", authFailure: true},
		{name: "wrong user", userinfo: "mallory:hunter2@", path: "live/cam1", authFailure: true},
		{name: "no credentials", userinfo: "", path: "live/cam1"},
		{name: "path without rule", userinfo: "alice:hunter2@", path: "other/cam1", authFailure: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, false, nil)
			out, err := push(t, h264AAC, "tcp", fmt.Sprintf("rtsp://%s%s/%s", tc.userinfo, ts.addr, tc.path))
			require.Error(t, err)
			require.Contains(t, out, "401")
			require.Empty(t, ts.sink.Publications())
			if tc.authFailure {
				logs := ts.logs.Find("authentication failed")
				require.NotEmpty(t, logs)
				require.Equal(t, "rtsp", logs[0].Attrs["proto"])
				require.Equal(t, tc.path, logs[0].Attrs["path"])
				require.NotEmpty(t, logs[0].Attrs["remote"])
				require.Positive(t, ts.Stats().AuthFailures)
			}
		})
	}
}

// TestFFmpegRTSPS records over TLS with a self-signed certificate.
func TestFFmpegRTSPS(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	ts := startServer(t, false, func(s *Server) { s.TLSConfig = selfSigned(t) })
	_, err := push(t, h264AAC, "tcp", fmt.Sprintf("rtsps://alice:hunter2@%s/live/secure", ts.addr))
	require.NoError(t, err)
	pub := ts.sink.WaitPublication(t, 1)
	require.Eventually(t, pub.IsClosed, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, "live/secure", pub.Req.Path)
	ingesttest.CheckVideo(t, pub.TrackFrames(pub.TrackIndex(t, ingest.CodecH264)), ingest.CodecH264, 85, true)
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}
