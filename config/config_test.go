package config

import (
	"encoding"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	require.NoError(t, c.Validate())
}

func TestLoadFileAndEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
rtmp:
  listen: ":19350"
srt:
  latency: 200ms
streams:
  - path: live/cam1
    key: secret
    policy: reject
relays:
  - name: edge
    url: moqt://relay.example:4443
`), 0o600))
	c, err := Load(path, []string{
		"MOQGW_LOG_FORMAT=json",
		"MOQGW_MOQ_LISTEN=127.0.0.1:5000",
		"MOQGW_PACKAGER_PRFT=false",
		"MOQGW_GRACE=3s",
		"MOQGW_TLS_HOSTS=gw.example, 10.0.0.1",
		"PATH=/usr/bin",
	})
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.Equal(t, ":19350", c.RTMP.Listen)
	require.Equal(t, 200*time.Millisecond, time.Duration(c.SRT.Latency))
	require.Equal(t, "json", c.Log.Format)
	require.Equal(t, "127.0.0.1:5000", c.MoQ.Listen)
	require.False(t, c.Packager.ProducerReferenceTime)
	require.Equal(t, 3*time.Second, time.Duration(c.Grace))
	require.Equal(t, []string{"gw.example", "10.0.0.1"}, c.TLS.Hosts)
	require.Equal(t, "reject", c.Streams[0].Policy)
	require.Equal(t, ":8890", c.SRT.Listen, "defaults survive")
}

func TestLoadRejectsUnknownKeysAndEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.yaml")
	require.NoError(t, os.WriteFile(path, []byte("rtmp:\n  lisen: \":1\"\n"), 0o600))
	_, err := Load(path, nil)
	require.ErrorContains(t, err, "lisen")

	_, err = Load("", []string{"MOQGW_RTMP_LISEN=:1", "MOQGW_GRACE=soon"})
	require.ErrorContains(t, err, "MOQGW_RTMP_LISEN: no such setting")
	require.ErrorContains(t, err, "MOQGW_GRACE")
}

// A file with an unknown key and a bad value, and a misspelt variable, are
// reported together, and what could be read is still returned for
// Validate.
func TestLoadReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.yaml")
	yaml := "rtmp:\n  lisen: \":1\"\nrelays:\n  - url: moqt://relay.example:443\n    sessions: many\nstreams:\n  - path: /live/cam1/\n"
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	c, err := Load(path, []string{"MOQGW_RTMP_LISEN=:1"})
	for _, want := range []string{"lisen", "many", "MOQGW_RTMP_LISEN: no such setting"} {
		require.ErrorContains(t, err, want)
	}
	require.Len(t, c.Streams, 1, "the rest of the file is read")
	require.ErrorContains(t, c.Validate(), `write "live/cam1"`)
}

func TestValidateStreamPaths(t *testing.T) {
	for path, want := range map[string]string{
		"*":              "",
		"live/*":         "",
		"live/cam1":      "",
		"live/cam1/":     `write "live/cam1"`,
		"/studio/*":      `write "studio/*"`,
		"live//cam1":     `write "live/cam1"`,
		"live/cam*":      "* only as the whole path",
		"live/*/cam1":    "* only as the whole path",
		"live/../secret": "segment",
	} {
		c := Default()
		c.Streams = []StreamRule{{Path: path}}
		err := c.Validate()
		if want == "" {
			require.NoError(t, err, path)
		} else {
			require.ErrorContains(t, err, want, path)
		}
	}
}

func TestValidateRelayTLS(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600))
	for tlsMode, ok := range map[string]bool{"": true, "system": true, "insecure": true, ca: true, "insecur": false} {
		c := Default()
		c.Relays = []Relay{{URL: "moqt://relay.example:443", TLS: tlsMode}}
		if ok {
			require.NoError(t, c.Validate(), tlsMode)
		} else {
			require.ErrorContains(t, c.Validate(), "relays[0].tls: not system or insecure, and not a CA file", tlsMode)
		}
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := Default()
	c.Log.Format = "xml"
	c.RTMP.Listen = "1935"
	c.MoQ.AudioDelivery = "carrier-pigeon"
	c.TLS.Cert = "cert.pem"
	c.Streams = []StreamRule{
		{Path: "live/a", Passphrase: "short", Policy: "first"},
		{Path: "live/a", Relays: []string{"nope"}},
	}
	c.Relays = []Relay{{URL: "http://x"}}
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{
		"log.format", "rtmp.listen", "moq.audio_delivery", "tls.cert and tls.key",
		"streams[0].passphrase", "streams[0].policy", "streams[1].path", "streams[1].relays",
		"relays[0].url",
	} {
		require.ErrorContains(t, err, want)
	}
	require.Len(t, strings.Split(err.Error(), "\n"), 9)
}

// TestExampleConfig keeps deploy/gateway.yaml, which the README points to,
// loadable and valid.
func TestExampleConfig(t *testing.T) {
	c, err := Load("../deploy/gateway.yaml", nil)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.Len(t, c.Streams, 2)
}

// Every problem of a file is named by its key path and line, a bad value
// does not hide the others, and no Go type is named.
func TestLoadNamesKeyPaths(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.yaml")
	yaml := "grace: 10x\nrtmp:\n  lissten: \":1\"\nrelays:\n  - url: moqt://relay.example:443\n    sessions: many\nsrt: 5\n"
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	c, err := Load(path, nil)
	for _, want := range []string{
		`grace (line 1): time: unknown unit "x"`,
		"rtmp.lissten (line 3): unknown key (known: listen, max_conns_per_ip, rtmps_listen)",
		"relays[0].sessions (line 6): `many` is not a valid number",
		"srt (line 7): want a mapping of keys",
	} {
		require.ErrorContains(t, err, want)
	}
	require.NotContains(t, err.Error(), "config.")
	require.Equal(t, "moqt://relay.example:443", c.Relays[0].URL, "the rest of the file is read")
}

// deploy/gateway.yaml shows every key of the configuration.
func TestExampleConfigShowsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../deploy/gateway.yaml")
	require.NoError(t, err)
	var keys []string
	var walk func(reflect.Type, string)
	walk = func(t reflect.Type, path string) {
		if t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
			return
		}
		for i := range t.NumField() {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			keys = append(keys, path+tag)
			walk(t.Field(i).Type, path+tag+".")
		}
	}
	walk(reflect.TypeFor[Config](), "")
	for _, k := range keys {
		name := k[strings.LastIndex(k, ".")+1:]
		require.Regexp(t, `(?m)^[\s#-]*`+regexp.QuoteMeta(name)+`:`, string(b), "deploy/gateway.yaml lacks %s", k)
	}
}
