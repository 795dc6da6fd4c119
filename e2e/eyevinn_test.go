//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/moqtransport"
	"github.com/Eyevinn/moqtransport/quicmoq"
	"github.com/Eyevinn/moqtransport/webtransportmoq"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq"
)

// eyevinnSession connects Eyevinn/moqtransport v0.9.0, an independent MoQT
// implementation, to the gateway and records the namespaces it announces.
type eyevinnSession struct {
	*moqtransport.Session
	mu        sync.Mutex
	announced [][]string
}

func dialEyevinn(t *testing.T, ctx context.Context, url, alpn string) *eyevinnSession {
	t.Helper()
	var conn moqtransport.Connection
	if url[:4] == "moqt" {
		qc, err := quic.DialAddr(ctx, url[len("moqt://"):], &tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}}, &quic.Config{EnableDatagrams: true})
		require.NoError(t, err)
		conn = quicmoq.NewClient(qc)
	} else {
		tr := &webtransport.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ApplicationProtocols: []string{alpn}}
		_, ws, err := tr.Dial(ctx, url, nil)
		require.NoError(t, err)
		conn = webtransportmoq.NewClient(ws)
	}
	e := &eyevinnSession{}
	e.Session = &moqtransport.Session{
		InitialMaxRequestID: 100,
		Handler: moqtransport.HandlerFunc(func(w moqtransport.ResponseWriter, m *moqtransport.Message) {
			if m.Method == moqtransport.MessageAnnounce {
				e.mu.Lock()
				e.announced = append(e.announced, m.Namespace)
				e.mu.Unlock()
				_ = w.Accept()
			}
		}),
	}
	require.NoError(t, e.RunContext(ctx, conn))
	t.Cleanup(func() { e.Close() })
	return e
}

func (e *eyevinnSession) waitAnnounced(t *testing.T, ns ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		e.mu.Lock()
		for _, a := range e.announced {
			if len(a) == len(ns) && a[0] == ns[0] && a[len(a)-1] == ns[len(ns)-1] {
				e.mu.Unlock()
				return
			}
		}
		e.mu.Unlock()
		require.True(t, time.Now().Before(deadline), "namespace %v never announced", ns)
		time.Sleep(20 * time.Millisecond)
	}
}

// collect reads a track until it ends (or idle for 5 s) and returns its
// objects in group and object order.
func collect(ctx context.Context, rt *moqtransport.RemoteTrack) []*moqtransport.Object {
	var objs []*moqtransport.Object
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		o, err := rt.ReadObject(rctx)
		cancel()
		if o != nil && len(o.Payload) > 0 {
			objs = append(objs, o)
		}
		if err != nil {
			break
		}
	}
	sort.SliceStable(objs, func(i, j int) bool {
		if objs[i].GroupID != objs[j].GroupID {
			return objs[i].GroupID < objs[j].GroupID
		}
		return objs[i].ObjectID < objs[j].ObjectID
	})
	return objs
}

// TestRTMPToEyevinnWebTransport: ffmpeg pushes over RTMP; an Eyevinn client
// over WebTransport reads the MSF catalog and subscribes to video and audio,
// for draft-14 and draft-16. The catalog is parsed here, independently of
// the gateway's code, and the tracks rebuilt into MP4s for ffprobe.
func TestRTMPToEyevinnWebTransport(t *testing.T) {
	for _, tc := range []struct{ name, alpn string }{{"draft-14", "moq-00"}, {"draft-16", "moqt-16"}} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, map[string]string{"MOQGW_GRACE": "1s"})
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			e := dialEyevinn(t, ctx, "https://"+g.MoQ+"/moq", tc.alpn)
			push := pushRTMP(t, "rtmp://"+g.RTMP+"/live/cam1")
			e.waitAnnounced(t, "live", "cam1")

			cat, err := e.Subscribe(ctx, []string{"live", "cam1"}, "catalog")
			require.NoError(t, err)
			catObj, err := cat.ReadObject(ctx)
			require.NoError(t, err)
			var catalog struct {
				Version string `json:"version"`
				Tracks  []struct {
					Name      string `json:"name"`
					Packaging string `json:"packaging"`
					Codec     string `json:"codec"`
					InitRef   string `json:"initRef"`
					Width     int    `json:"width"`
					Height    int    `json:"height"`
				} `json:"tracks"`
				InitDataList []struct {
					ID   string `json:"id"`
					Data string `json:"data"`
				} `json:"initDataList"`
			}
			require.NoError(t, json.Unmarshal(catObj.Payload, &catalog), "%s", catObj.Payload)
			require.Equal(t, "draft-01", catalog.Version)
			inits := map[string][]byte{}
			for _, d := range catalog.InitDataList {
				b, err := base64.StdEncoding.DecodeString(d.Data)
				require.NoError(t, err)
				inits[d.ID] = b
			}

			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "catalog.json"), catObj.Payload, 0o644))
			var wg sync.WaitGroup
			for _, tr := range catalog.Tracks {
				require.Equal(t, "cmaf", tr.Packaging)
				init := inits[tr.InitRef]
				require.NotEmpty(t, init, "init segment of %s", tr.Name)
				rt, err := e.Subscribe(ctx, []string{"live", "cam1"}, tr.Name,
					moqtransport.WithFilterType(moqtransport.FilterTypeAbsoluteStart),
					moqtransport.WithStartLocation(moqtransport.Location{Group: catObj.GroupID}))
				require.NoError(t, err, tr.Name)
				wg.Go(func() {
					objs := collect(ctx, rt)
					f, err := os.Create(filepath.Join(dir, tr.Name+".mp4"))
					if err != nil {
						t.Error(err)
						return
					}
					defer f.Close()
					_, _ = f.Write(init)
					for _, o := range objs {
						_, _ = f.Write(o.Payload)
					}
				})
			}
			require.NoError(t, push.wait(t, 60*time.Second))
			wg.Wait()
			requireClipTracks(t, dir, clipFrames)
		})
	}
}

// eyevinnListener accepts Eyevinn/moqtransport sessions over raw QUIC
// (moq-00, moqt-16) and WebTransport (/moq) on one UDP socket.
type eyevinnListener struct {
	addr    string
	certPEM []byte // the self-signed certificate, for a tls: CA file
	pc      net.PacketConn
	cancel  context.CancelFunc
	wg      *sync.WaitGroup
}

// listenEyevinn listens on addr and runs serve for each session; uri is the
// WebTransport request URI ("" for raw QUIC). The caller stops it with
// cancel, then closes pc and waits for wg.
func listenEyevinn(t *testing.T, addr string, serve func(ctx context.Context, conn moqtransport.Connection, uri string)) *eyevinnListener {
	t.Helper()
	l := &eyevinnListener{wg: &sync.WaitGroup{}}
	var err error
	for range 50 { // the port may still be held by the previous instance
		l.pc, err = net.ListenPacket("udp", addr)
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err)
	l.addr = l.pc.LocalAddr().String()
	cert, _, err := moq.SelfSignedCert([]string{"localhost", "127.0.0.1", "::1"}, time.Hour)
	require.NoError(t, err)
	l.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"moqt-16", "moq-00", "h3"}}
	ln, err := (&quic.Transport{Conn: l.pc}).Listen(tlsConf, &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	mux := http.NewServeMux()
	wt := &webtransport.Server{
		H3:                   &http3.Server{Handler: mux, TLSConfig: tlsConf},
		ApplicationProtocols: []string{"moqt-16", "moq-00"},
		CheckOrigin:          func(*http.Request) bool { return true },
	}
	mux.HandleFunc("/moq", func(w http.ResponseWriter, req *http.Request) {
		ws, err := wt.Upgrade(w, req)
		if err != nil {
			return
		}
		serve(ctx, webtransportmoq.NewServer(ws), req.URL.RequestURI())
	})
	l.wg.Go(func() {
		<-ctx.Done()
		ln.Close()
		wt.Close()
	})
	l.wg.Go(func() {
		for {
			qc, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			if qc.ConnectionState().TLS.NegotiatedProtocol == "h3" {
				l.wg.Go(func() { _ = wt.ServeQUICConn(qc) })
				continue
			}
			l.wg.Go(func() { serve(ctx, quicmoq.NewServer(qc), "") })
		}
	})
	return l
}
