package config

import (
	"os"
	"path/filepath"
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
