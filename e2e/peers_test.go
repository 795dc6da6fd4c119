//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

// The independent MoQ peers scripts/peers.sh installs (scripts/test.sh runs
// it); a test that needs one fails when it is missing, it never skips.
func peersDir() string {
	if d := os.Getenv("MOQ_GATEWAY_PEERS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "moq-gateway", "peers")
}

// peerBin is the path of a peer's binary in one of scripts/peers.sh's sets.
func peerBin(t *testing.T, set, name string) string {
	t.Helper()
	p := filepath.Join(peersDir(), set, "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s of %s is not installed (%v): run ./scripts/peers.sh, which ./scripts/test.sh runs", name, set, err)
	}
	return p
}

// testCert writes a self-signed certificate for localhost and 127.0.0.1 as
// PEM files, for peers that take a certificate and key.
func testCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	cert, _, err := moq.SelfSignedCert([]string{"localhost", "127.0.0.1", "::1"}, time.Hour)
	require.NoError(t, err)
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600))
	return certFile, keyFile
}

// moqRSRelay is a running cloudflare/moq-rs moq-relay-ietf.
type moqRSRelay struct {
	addr     string
	certFile string
	version  wire.Version
	proc     *process
	args     []string
	set      string
}

// startMoqRSRelay runs the moq-relay-ietf of set on addr (a free loopback
// UDP address) and waits until it completes a SETUP.
func startMoqRSRelay(t *testing.T, set string, v wire.Version, addr string) *moqRSRelay {
	t.Helper()
	certFile, keyFile := testCert(t)
	r := &moqRSRelay{addr: addr, certFile: certFile, version: v, set: set}
	r.args = []string{
		"--bind", addr, "--tls-cert", certFile, "--tls-key", keyFile,
		"--coordinator-file", filepath.Join(t.TempDir(), "coordinator.json"),
	}
	r.start(t)
	return r
}

func (r *moqRSRelay) start(t *testing.T) {
	t.Helper()
	r.proc = startProcess(t, peerBin(t, r.set, "moq-relay-ietf"), r.args...)
	waitSetup(t, r.proc, r.addr, r.version)
}

// waitSetup waits up to 20 s until the peer proc runs on addr completes a
// SETUP on draft v over raw QUIC.
func waitSetup(t *testing.T, proc *process, addr string, v wire.Version) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s, err := moq.Dial(ctx, "moqt://"+addr, moq.DialOptions{
			Versions: []wire.Version{v}, TLSConfig: &tls.Config{InsecureSkipVerify: true},
		})
		cancel()
		if err == nil {
			s.Close()
			return
		}
		require.True(t, time.Now().Before(deadline), "%s not answering on %s: %v\n%s", proc.cmd.Path, addr, err, proc.out.String())
		time.Sleep(100 * time.Millisecond)
	}
}

// restart stops the relay and starts it again on the same address.
func (r *moqRSRelay) restart(t *testing.T) {
	t.Helper()
	_ = r.proc.cmd.Process.Signal(syscall.SIGTERM)
	_ = r.proc.wait(t, 10*time.Second)
	r.start(t)
}

// moqSub runs moq-rs's moq-sub, which writes the stream as one fragmented
// MP4 on its standard output, into a file. It runs until stop.
type moqSub struct {
	cmd  *exec.Cmd
	file string
	errs *syncBuffer
	done chan error
}

func startMoqSub(t *testing.T, set, url, name string) *moqSub {
	t.Helper()
	s := &moqSub{file: filepath.Join(t.TempDir(), "moq-sub.mp4"), errs: &syncBuffer{}, done: make(chan error, 1)}
	f, err := os.Create(s.file)
	require.NoError(t, err)
	s.cmd = exec.Command(peerBin(t, set, "moq-sub"), "--name", name, "--tls-disable-verify", url)
	// Its older releases log to standard output, into the media: keep
	// logging off.
	s.cmd.Env = append(os.Environ(), "RUST_LOG=off")
	s.cmd.Stdout, s.cmd.Stderr = f, s.errs
	require.NoError(t, s.cmd.Start())
	go func() {
		s.done <- s.cmd.Wait()
		f.Close()
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// stop ends moq-sub (it does not exit at the end of a stream) and returns
// its file, cut after the last whole fragment: a signal can stop it in the
// middle of one.
func (s *moqSub) stop(t *testing.T) string {
	t.Helper()
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	b, err := os.ReadFile(s.file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(s.file, wholeFragments(b), 0o644))
	return s.file
}

// wholeFragments cuts an fMP4 byte stream after its last complete box, and
// before a moof whose mdat is incomplete.
func wholeFragments(b []byte) []byte {
	end, moof := 0, -1
	for off := 0; off+8 <= len(b); {
		size := int(binary.BigEndian.Uint32(b[off:]))
		if size == 1 && off+16 <= len(b) {
			size = int(binary.BigEndian.Uint64(b[off+8:]))
		}
		if size < 8 || off+size > len(b) {
			break
		}
		switch string(b[off+4 : off+8]) {
		case "moof":
			moof = off
		case "mdat":
			moof = -1
		}
		off += size
		end = off
	}
	if moof >= 0 {
		end = moof
	}
	return b[:end]
}

// waitPackets waits until moq-sub's file holds n packets of stream.
func (s *moqSub) waitPackets(t *testing.T, stream string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(s.file); err == nil && len(b) > 0 {
			snap := filepath.Join(t.TempDir(), "snapshot.mp4")
			require.NoError(t, os.WriteFile(snap, wholeFragments(b), 0o644))
			if out, err := exec.Command("ffprobe", "-v", "quiet", "-select_streams", stream, "-count_packets",
				"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", snap).Output(); err == nil {
				if got, _ := strconv.Atoi(strings.TrimSpace(string(out))); got >= n {
					return
				}
			}
		}
		require.True(t, time.Now().Before(deadline), "moq-sub got fewer than %d packets of %s: %s", n, stream, s.errs.String())
		time.Sleep(200 * time.Millisecond)
	}
}
