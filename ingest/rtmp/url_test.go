package rtmp

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		name             string
		tcURL, app, key  string
		path, user, pass string
		wantErr          bool
	}{
		{name: "OBS server and key", tcURL: "rtmp://gw/live", app: "live", key: "cam1", path: "live/cam1"},
		{name: "OBS port and trailing slash", tcURL: "rtmp://gw:1935/live/", app: "live/", key: "cam1", path: "live/cam1"},
		{name: "OBS key with query", tcURL: "rtmp://gw/live", app: "live", key: "cam1?key=abc", path: "live/cam1", pass: "abc"},
		{name: "OBS query in server", tcURL: "rtmp://gw/live?key=abc", app: "live?key=abc", key: "cam1", path: "live/cam1", pass: "abc"},
		{name: "OBS whole URL in server", tcURL: "rtmp://gw/live/cam1?key=abc", app: "live/cam1?key=abc", path: "live/cam1", pass: "abc"},
		{name: "key starting with ?", tcURL: "rtmp://gw/live/cam1", app: "live/cam1", key: "?key=abc", path: "live/cam1", pass: "abc"},
		{name: "ffmpeg", tcURL: "rtmp://127.0.0.1:1935/live", app: "live", key: "cam1?user=u&pass=p", path: "live/cam1", user: "u", pass: "p"},
		{name: "pass wins over key", tcURL: "rtmp://gw/live", app: "live", key: "cam1?key=k&pass=p", path: "live/cam1", pass: "p"},
		{name: "stream name wins over tcUrl", tcURL: "rtmp://gw/live?key=old", app: "live", key: "cam1?key=new", path: "live/cam1", pass: "new"},
		{name: "nested stream name", tcURL: "rtmp://gw/live", app: "live", key: "a/b", path: "live/a/b"},
		{name: "escapes", tcURL: "rtmp://gw/li%76e", app: "live", key: "cam1?key=a%2Bb+c", path: "live/cam1", pass: "a+b+c"},
		{name: "bad escape kept", tcURL: "rtmp://gw/live", app: "live", key: "cam1?key=100%", path: "live/cam1", pass: "100%"},
		{name: "quoted tcUrl", tcURL: "'rtmp://gw/live'", app: "live", key: "cam1", path: "live/cam1"},
		{name: "no tcUrl", app: "live?key=abc", key: "cam1", path: "live/cam1", pass: "abc"},
		{name: "tcUrl without path", tcURL: "rtmp://gw", app: "live", key: "cam1", path: "live/cam1"},
		{name: "adobe login is not a credential", tcURL: "rtmp://gw/studio?authmod=adobe&user=u&challenge=c&response=r", app: "studio", key: "cam1", path: "studio/cam1"},
		{name: "query only", tcURL: "rtmp://gw/?key=abc", app: "", key: "", wantErr: true},
		{name: "dot segment", tcURL: "rtmp://gw/live", app: "live", key: "../x", wantErr: true},
		{name: "control character", tcURL: "rtmp://gw/live", app: "live", key: "a\x01", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTarget(tc.tcURL, tc.app, tc.key)
			if tc.wantErr {
				require.ErrorIs(t, err, config.ErrBadPath)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.path, got.path)
			require.Equal(t, ingest.Credentials{User: tc.user, Pass: tc.pass}, got.creds)
		})
	}
}

func TestParseAdobe(t *testing.T) {
	for _, tc := range []struct {
		query string
		login adobeLogin
		ok    bool
	}{
		{"", adobeLogin{}, false},
		{"key=abc", adobeLogin{}, false},
		{"authmod=llnw&user=u", adobeLogin{}, false},
		{"authmod=adobe&user=u", adobeLogin{user: "u"}, true},
		{"authmod=adobe&user=u&challenge=c1&response=r/+=&opaque=o", adobeLogin{user: "u", clientChallenge: "c1", response: "r/+="}, true},
	} {
		login, ok := parseAdobe(tc.query)
		require.Equal(t, tc.ok, ok, tc.query)
		require.Equal(t, tc.login, login, tc.query)
	}
}
