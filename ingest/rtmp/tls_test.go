package rtmp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// selfSigned returns a server certificate for 127.0.0.1 and a client
// configuration that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "moq-gateway test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

// TestRTMPS publishes over TLS, and sends plain RTMP to the TLS port.
func TestRTMPS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	sink := &ingesttest.Sink{}
	logs := ingesttest.NewLogCapture(t)
	s := &Server{Sink: sink, TLSConfig: serverTLS}
	addr := startServer(t, s, logs)

	t.Run("publish", func(t *testing.T) {
		c, p := publishH264(t, "rtmps://"+addr+"/live/secure", clientTLS)
		pub := sink.WaitPublication(t, 1)
		require.Equal(t, "live/secure", pub.Req.Path)
		c.Close()
		pub.WaitClosed(t)
		require.Len(t, pub.TrackFrames(0), p.n)
		logs.WaitFunc(t, "publish start", isLine("publishing", "path", "live/secure", "tls", true))
	})

	t.Run("plain RTMP to the RTMPS port", func(t *testing.T) {
		_, err := dial(t, "rtmp://"+addr+"/live/plain", nil)
		require.Error(t, err)
		logs.WaitFunc(t, "tls error", func(r ingesttest.LogRecord) bool {
			return r.Msg == "connection failed" && r.Attrs["tls"] == "true"
		})
	})
}
