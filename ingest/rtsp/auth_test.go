package rtsp

import (
	"bufio"
	"encoding/base64"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/auth"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"
	"github.com/stretchr/testify/require"
)

func basic(user, pass string) base.HeaderValue {
	return base.HeaderValue{"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

func TestParseAuthorization(t *testing.T) {
	cases := []struct {
		name string
		in   base.HeaderValue
		want presented
		ok   bool
	}{
		{name: "basic", in: basic("alice", "hunter2"), want: presented{user: "alice", pass: "hunter2"}, ok: true},
		{name: "basic stream key", in: basic("", "key"), want: presented{pass: "key"}, ok: true},
		{name: "basic colon in password", in: basic("alice", "a:b"), want: presented{user: "alice", pass: "a:b"}, ok: true},
		{
			name: "digest",
			in:   base.HeaderValue{`Digest username="alice", realm="ipcam", nonce="n", uri="rtsp://h/live/cam1", response="r"`},
			want: presented{digest: true, user: "alice"}, ok: true,
		},
		{name: "missing", in: nil},
		{name: "twice", in: append(basic("a", "b"), basic("c", "d")...)},
		{name: "unknown scheme", in: base.HeaderValue{"Bearer abc"}},
		{name: "basic not base64", in: base.HeaderValue{"Basic !!!"}},
		{name: "basic without colon", in: base.HeaderValue{"Basic " + base64.StdEncoding.EncodeToString([]byte("alice"))}},
		{name: "digest without user", in: base.HeaderValue{`Digest realm="ipcam", nonce="n", uri="u", response="r"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseAuthorization(tc.in)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("Basic YWxpY2U6aHVudGVyMg==")
	f.Add(`Digest username="alice", realm="ipcam", nonce="n", uri="rtsp://h/x", response="r", algorithm="MD5"`)
	f.Add("Digest ")
	f.Add("Basic ")
	f.Fuzz(func(t *testing.T, v string) {
		p, ok := parseAuthorization(base.HeaderValue{v})
		if !ok {
			require.Equal(t, presented{}, p)
			return
		}
		if p.digest {
			require.NotEmpty(t, p.user)
			require.Empty(t, p.pass)
		}
	})
}

// rtspConn speaks RTSP by hand, to exercise what ffmpeg does not.
type rtspConn struct {
	t    *testing.T
	c    net.Conn
	br   *bufio.Reader
	cseq int
	base string
}

func dialRTSP(t *testing.T, addr string) *rtspConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &rtspConn{t: t, c: c, br: bufio.NewReader(c), base: "rtsp://" + addr}
}

// do sends a request and reads the response; hdr may set Authorization,
// Session, Transport.
func (r *rtspConn) do(method base.Method, path string, hdr base.Header, body []byte) (*base.Response, error) {
	r.t.Helper()
	u, err := base.ParseURL(r.base + path)
	require.NoError(r.t, err)
	r.cseq++
	req := base.Request{Method: method, URL: u, Header: base.Header{"CSeq": base.HeaderValue{strconv.Itoa(r.cseq)}}, Body: body}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header["Content-Type"] = base.HeaderValue{"application/sdp"}
	}
	b, err := req.Marshal()
	require.NoError(r.t, err)
	require.NoError(r.t, r.c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = r.c.Write(b)
	require.NoError(r.t, err)
	var res base.Response
	if err := res.Unmarshal(r.br); err != nil {
		return nil, err
	}
	return &res, nil
}

// announceWith sends an H.264 ANNOUNCE, letting sign add credentials.
func (r *rtspConn) announceWith(path string, sign func(*base.Request)) (*base.Response, error) {
	r.t.Helper()
	u, err := base.ParseURL(r.base + path)
	require.NoError(r.t, err)
	r.cseq++
	req := &base.Request{
		Method: base.Announce, URL: u,
		Header: base.Header{"CSeq": base.HeaderValue{strconv.Itoa(r.cseq)}, "Content-Type": base.HeaderValue{"application/sdp"}},
		Body:   h264SDP(),
	}
	if sign != nil {
		sign(req)
	}
	b, err := req.Marshal()
	require.NoError(r.t, err)
	require.NoError(r.t, r.c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = r.c.Write(b)
	require.NoError(r.t, err)
	var res base.Response
	if err := res.Unmarshal(r.br); err != nil {
		return nil, err
	}
	return &res, nil
}

func h264SDP() []byte {
	return []byte("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=test\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
		"a=fmtp:96 packetization-mode=1; sprop-parameter-sets=" +
		base64.StdEncoding.EncodeToString(testSPS) + "," + base64.StdEncoding.EncodeToString(testPPS) + "\r\n" +
		"a=control:trackID=0\r\n")
}

// requireClosed asserts the server closed the connection.
func (r *rtspConn) requireClosed() {
	r.t.Helper()
	require.NoError(r.t, r.c.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := r.br.ReadByte()
	require.Error(r.t, err)
	var ne net.Error
	if errors.As(err, &ne) {
		require.False(r.t, ne.Timeout(), "connection still open")
	}
}

// TestAnnounceAuth walks the RTSP authentication handshake by hand: a 401
// challenge offering Basic and Digest first, then either scheme.
func TestAnnounceAuth(t *testing.T) {
	ts := startServer(t, false, nil)

	t.Run("challenge", func(t *testing.T) {
		r := dialRTSP(t, ts.addr)
		res, err := r.announceWith("/live/cam1", nil)
		require.NoError(t, err)
		require.Equal(t, base.StatusUnauthorized, res.StatusCode)
		www := strings.Join(res.Header["WWW-Authenticate"], "\n")
		require.Contains(t, www, "Basic realm=")
		require.Contains(t, www, "Digest realm=")
		require.Contains(t, www, "nonce=")
		// The connection stays open for the retry with credentials.
		res, err = r.announceWith("/live/cam1", func(req *base.Request) { req.Header["Authorization"] = basic("alice", "hunter2") })
		require.NoError(t, err)
		require.Equal(t, base.StatusOK, res.StatusCode)
	})

	t.Run("digest", func(t *testing.T) {
		r := dialRTSP(t, ts.addr)
		res, err := r.announceWith("/live/cam1", nil)
		require.NoError(t, err)
		var digest base.HeaderValue
		for _, v := range res.Header["WWW-Authenticate"] {
			if strings.HasPrefix(v, "Digest") {
				digest = base.HeaderValue{v}
			}
		}
		se := auth.Sender{WWWAuth: digest, User: "alice", Pass: "hunter2"}
		require.NoError(t, se.Initialize())
		res, err = r.announceWith("/live/cam1", se.AddAuthorization)
		require.NoError(t, err)
		require.Equal(t, base.StatusOK, res.StatusCode)
	})

	for _, tc := range []struct {
		name  string
		value base.HeaderValue
	}{
		{name: "wrong basic password", value: basic("alice", "nope")},
		{name: "wrong basic user", value: basic("bob", "hunter2")},
		{name: "stale digest", value: base.HeaderValue{(headers.Authorization{
			Method: headers.AuthMethodDigest, Username: "alice", Realm: "ipcam", Nonce: "0123", URI: "rtsp://x/live/cam1", Response: "00",
		}).Marshal()[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.Stats().AuthFailures
			r := dialRTSP(t, ts.addr)
			res, err := r.announceWith("/live/cam1", func(req *base.Request) { req.Header["Authorization"] = tc.value })
			require.NoError(t, err)
			require.Equal(t, base.StatusUnauthorized, res.StatusCode)
			r.requireClosed()
			require.Equal(t, before+1, ts.Stats().AuthFailures)
		})
	}
	require.Empty(t, ts.sink.Publications(), "ANNOUNCE alone publishes nothing")
}

// TestRefusedRequests: playback and malformed requests get clear statuses.
func TestRefusedRequests(t *testing.T) {
	ts := startServer(t, false, nil)
	cases := []struct {
		name   string
		method base.Method
		path   string
		hdr    base.Header
		body   []byte
		status base.StatusCode
	}{
		{name: "describe", method: base.Describe, path: "/live/cam1", status: base.StatusNotImplemented},
		{name: "setup without announce", method: base.Setup, path: "/live/cam1/trackID=0", hdr: base.Header{
			"Transport": base.HeaderValue{"RTP/AVP/TCP;unicast;interleaved=0-1"},
		}, status: base.StatusMethodNotValidInThisState},
		{name: "empty path", method: base.Announce, path: "/", body: h264SDP(), status: base.StatusBadRequest},
		{name: "unsupported codec", method: base.Announce, path: "/open/mjpeg", body: []byte(
			"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 26\r\na=control:trackID=0\r\n",
		), status: base.StatusUnsupportedMediaType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRTSP(t, ts.addr)
			res, err := r.do(tc.method, tc.path, tc.hdr, tc.body)
			require.NoError(t, err)
			require.Equal(t, tc.status, res.StatusCode)
		})
	}
	// DESCRIBE and the reader's SETUP: logged once, the second suppressed
	// by the rate limit.
	require.Len(t, ts.logs.Find("rtsp: refusing playback, the gateway only ingests"), 1)
	require.Empty(t, ts.sink.Publications())
}
