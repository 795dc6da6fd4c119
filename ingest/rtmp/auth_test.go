package rtmp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

var authRules = []ingest.PathRule{
	{Path: "live/*", Pass: "abc"},                   // stream key
	{Path: "studio/*", User: "myuser", Pass: "pw1"}, // user and password
	{Path: "open/cam1"},                             // no password
}

// TestAuth publishes with gortmplib's client in the URL forms users type. The
// client puts the whole URL in tcUrl and the fragment in the stream name, the
// way OBS sends its Server and Stream Key fields.
func TestAuth(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  string // after rtmp://host:port/
		path string // "" when refused
		// challenged: refused by the client itself, which has no password
		// for the Adobe challenge.
		challenged bool
	}{
		{"key in URL", "live/cam1?key=abc", "live/cam1", false},
		{"wrong key", "live/cam1?key=abd", "", false},
		{"missing key", "live/cam1", "", false},
		{"key as pass", "live/cam1?user=anyone&pass=abc", "live/cam1", false},
		{"OBS server and stream key", "live#cam1?key=abc", "live/cam1", false},
		{"OBS key in server", "live?key=abc#cam1", "live/cam1", false},
		{"OBS wrong key in stream key", "live#cam1?key=nope", "", false},
		{"OBS path in server, empty key", "live/cam1?key=abc", "live/cam1", false},
		{"user and pass", "studio/cam1?user=myuser&pass=pw1", "studio/cam1", false},
		{"wrong pass", "studio/cam1?user=myuser&pass=pw2", "", false},
		{"wrong user", "studio/cam1?user=other&pass=pw1", "", false},
		{"no rule for path", "other/cam1?key=abc", "", false},
		{"open rule", "open/cam1", "open/cam1", false},
		// OBS "Use authentication": the client sees the need-auth error, asks
		// for a challenge and answers it, on three connections. gortmplib's
		// client always answers as "myuser".
		{"adobe", "myuser:pw1@HOST/studio#cam1", "studio/cam1", false},
		{"adobe wrong password", "myuser:pw2@HOST/studio#cam1", "", false},
		{"adobe without credentials", "studio#cam1", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &ingesttest.Sink{}
			logs := ingesttest.NewLogCapture(t)
			s := &Server{Sink: sink, Auth: ingest.NewAuth(authRules)}
			addr := startServer(t, s, logs)

			u := "rtmp://" + addr + "/" + tc.url
			if i := indexHost(tc.url); i >= 0 {
				u = "rtmp://" + tc.url[:i] + addr + tc.url[i+len("HOST"):]
			}
			c, err := dial(t, u, nil)
			if tc.path == "" {
				require.Error(t, err)
				require.Empty(t, sink.Publications(), "a refused publisher must not reach the sink")
				if tc.challenged {
					logs.WaitFunc(t, "challenge", isLine("adobe authentication challenge sent"))
				} else {
					require.Positive(t, s.Stats().Rejected)
				}
				return
			}
			require.NoError(t, err)
			p := newH264Pusher(t, c)
			require.NoError(t, p.push(probeFrames))
			pub := sink.WaitPublication(t, 1)
			require.Equal(t, tc.path, pub.Req.Path)
			require.Zero(t, s.Stats().AuthFailures)
		})
	}
}

func indexHost(u string) int {
	for i := 0; i+4 <= len(u); i++ {
		if u[i:i+4] == "HOST" {
			return i
		}
	}
	return -1
}

// TestAuthFailureLog checks the line fail2ban matches.
func TestAuthFailureLog(t *testing.T) {
	sink := &ingesttest.Sink{}
	logs := ingesttest.NewLogCapture(t)
	s := &Server{Sink: sink, Auth: ingest.NewAuth(authRules)}
	addr := startServer(t, s, logs)

	_, err := dial(t, "rtmp://"+addr+"/live/cam1?key=wrong", nil)
	require.Error(t, err)
	rec := logs.WaitFunc(t, "auth failure", isLine("authentication failed", "proto", "rtmp", "path", "live/cam1"))
	require.Equal(t, "WARN", rec.Level.String())
	require.Contains(t, rec.Attrs["remote"], "127.0.0.1:")
	require.Equal(t, uint64(1), s.Stats().AuthFailures)
}

// TestFFmpegAuth publishes with ffmpeg, which puts the query in the stream
// name and is never sent an Adobe challenge.
func TestFFmpegAuth(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{"user and pass", "studio/cam1?user=myuser&pass=pw1", true},
		{"wrong key", "live/cam1?key=nope", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &ingesttest.Sink{}
			logs := ingesttest.NewLogCapture(t)
			addr := startServer(t, &Server{Sink: sink, Auth: ingest.NewAuth(authRules)}, logs)
			out, err := ingesttest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-t", "2.5",
				"-c:v", "libx264", "-preset", "ultrafast", "-f", "flv", "rtmp://"+addr+"/"+tc.url)
			if !tc.ok {
				require.Error(t, err)
				require.Contains(t, out, "authentication failed", "ffmpeg shows the server's reason")
				require.Empty(t, sink.Publications())
				return
			}
			require.NoError(t, err, "ffmpeg: %s", out)
			pub := sink.WaitPublication(t, 1)
			require.Equal(t, "studio/cam1", pub.Req.Path)
			pub.WaitClosed(t)
		})
	}
}

// TestAdobeChallenge checks responses against the challenge of this minute
// and the last one, and nothing older.
func TestAdobeChallenge(t *testing.T) {
	var k adobeKey
	now := time.Unix(1_700_000_000, 0)
	answer := func(at time.Time, user, pass string) adobeLogin {
		c := k.challenge(user, at.Unix()/60)
		return adobeLogin{user: user, clientChallenge: "0badc0de", response: adobeResponse(user, pass, k.salt(user), c, "0badc0de")}
	}
	for _, tc := range []struct {
		name  string
		login adobeLogin
		ok    bool
	}{
		{"now", answer(now, "u", "p"), true},
		{"last minute", answer(now.Add(-time.Minute), "u", "p"), true},
		{"too old", answer(now.Add(-2*time.Minute), "u", "p"), false},
		{"wrong password", answer(now, "u", "x"), false},
		{"other user's challenge", func() adobeLogin { l := answer(now, "v", "p"); l.user = "u"; return l }(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.ok, k.verify(tc.login, "p", now))
		})
	}

	desc := k.challengeDescription("u", now)
	q, ok := parseAdobe(desc[len("authmod=adobe ?"):] + "&authmod=adobe")
	require.True(t, ok)
	require.Equal(t, "u", q.user)
	require.Contains(t, desc, "&salt="+k.salt("u"))
	require.Contains(t, desc, "&challenge="+k.challenge("u", now.Unix()/60))
	require.Contains(t, desc, "&opaque="+k.challenge("u", now.Unix()/60))
}

// TestNeedsAdobe checks when a connect without credentials is challenged.
func TestNeedsAdobe(t *testing.T) {
	s := &Server{Auth: ingest.NewAuth(authRules)}
	for _, tc := range []struct {
		path, flashVer string
		want           bool
	}{
		{"studio", "FMLE/3.0 (compatible; FMSc/1.0)", true},      // OBS, Server rtmp://h/studio
		{"studio/cam1", "FMLE/3.0 (compatible; FMSc/1.0)", true}, // OBS, whole path in Server
		{"studio", "FMLE/3.0 (compatible; Lavf59.27.100)", false},
		{"live", "FMLE/3.0 (compatible; FMSc/1.0)", false}, // stream key rule
		{"open", "FMLE/3.0 (compatible; FMSc/1.0)", false},
		{"", "FMLE/3.0 (compatible; FMSc/1.0)", false},
	} {
		require.Equal(t, tc.want, s.needsAdobe(tc.path, tc.flashVer), "%q %q", tc.path, tc.flashVer)
	}
	require.False(t, (&Server{}).needsAdobe("studio", ""), "open server")
}
