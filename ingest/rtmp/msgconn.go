package rtmp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// Byte budgets bound what a connection may send before it publishes. A
// publisher needs a few kilobytes for the handshake (3 KiB) and its commands;
// the 2 s of media gortmplib reads to find the tracks are kept in memory, and
// 64 MiB holds 2 s of a 250 Mbit/s stream.
const (
	commandBudget = 64 << 10
	analyzeBudget = 64 << 20
)

// minChunkSize is the smallest chunk size a publisher may set. Every chunk
// costs gortmplib two allocations and a slice entry until its message is
// complete, so 1-byte chunks turn one 10 MiB message into hundreds of
// megabytes of garbage (Red5 #475). 128 is the protocol's default: no
// publisher has a reason to go below it.
const minChunkSize = 128

// rtmpVersionEncrypted is the C0 version byte of RTMPE.
const rtmpVersionEncrypted = 6

var errBudget = errors.New("sent too much data before publishing")

// meter reads from the socket, counts bytes for the server's statistics and
// enforces a byte budget. Only the connection's goroutine reads.
type meter struct {
	r      io.Reader
	total  *atomic.Uint64
	budget int64 // remaining bytes; < 0 means unlimited
}

func (m *meter) Read(p []byte) (int, error) {
	if m.budget == 0 {
		return 0, errBudget
	}
	if m.budget > 0 && int64(len(p)) > m.budget {
		p = p[:m.budget]
	}
	n, err := m.r.Read(p)
	m.total.Add(uint64(n))
	if m.budget > 0 {
		m.budget -= int64(n)
	}
	return n, err
}

// errSkip from an observer drops the message it saw.
var errSkip = errors.New("skip this message")

// msgConn is the RTMP message layer of one connection: gortmplib's handshake
// and message reader/writer over the socket, with deadlines on every read,
// the byte budget and a hook that sees every message first. It implements
// gortmplib.Conn, so a gortmplib.Reader reads the tracks through it.
type msgConn struct {
	nc           net.Conn
	in           *meter
	bc           *bytecounter.ReadWriter
	mrw          *message.ReadWriter
	readTimeout  time.Duration
	writeTimeout time.Duration
	// until caps every deadline while the connection sets up; zero after.
	until time.Time
	// observe sees each message before its reader; an error ends the
	// connection.
	observe func(message.Message) error
	// next, when set, is what the next Read returns, before reading on.
	next message.Message
}

func newMsgConn(nc net.Conn, total *atomic.Uint64, readTimeout, writeTimeout time.Duration) *msgConn {
	in := &meter{r: nc, total: total, budget: commandBudget}
	return &msgConn{
		nc:           nc,
		in:           in,
		bc:           bytecounter.NewReadWriter(readWriter{in, nc}),
		readTimeout:  readTimeout,
		writeTimeout: writeTimeout,
	}
}

type readWriter struct {
	io.Reader
	io.Writer
}

// handshake runs the RTMP handshake. RTMPE (version 6) is refused before its
// Diffie-Hellman exchange: its RC4 protects nothing today, RTMPS does.
func (m *msgConn) handshake() error {
	m.refreshDeadlines()
	var c0 [1]byte
	if _, err := io.ReadFull(m.bc, c0[:]); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if c0[0] == rtmpVersionEncrypted {
		return errors.New("handshake: RTMPE is not supported, use RTMPS")
	}
	rw := readWriter{io.MultiReader(bytes.NewReader(c0[:]), m.bc), m.bc}
	if _, _, err := handshake.DoServer(rw, false); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	m.mrw = message.NewReadWriter(m.bc, m.bc, false)
	return nil
}

// refreshDeadlines gives the next read ReadTimeout and any write it triggers
// (acknowledgements, ping replies) WriteTimeout, within until.
func (m *msgConn) refreshDeadlines() {
	now := time.Now()
	rd, wd := now.Add(m.readTimeout), now.Add(m.writeTimeout)
	if !m.until.IsZero() {
		rd, wd = minTime(rd, m.until), minTime(wd, m.until)
	}
	_ = m.nc.SetReadDeadline(rd)
	_ = m.nc.SetWriteDeadline(wd)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Read reads the next message.
func (m *msgConn) Read() (message.Message, error) {
	if msg := m.next; msg != nil {
		m.next = nil
		return msg, nil
	}
	for {
		m.refreshDeadlines()
		msg, err := m.mrw.Read()
		if err != nil {
			return nil, err
		}
		if sc, ok := msg.(*message.SetChunkSize); ok && sc.Value < minChunkSize {
			return nil, fmt.Errorf("chunk size %d is below the minimum of %d", sc.Value, minChunkSize)
		}
		if m.observe != nil {
			err := m.observe(msg)
			if errors.Is(err, errSkip) {
				continue
			}
			if err != nil {
				return nil, err
			}
		}
		return msg, nil
	}
}

// Write writes a message.
func (m *msgConn) Write(msg message.Message) error {
	wd := time.Now().Add(m.writeTimeout)
	if !m.until.IsZero() {
		wd = minTime(wd, m.until)
	}
	_ = m.nc.SetWriteDeadline(wd)
	return m.mrw.Write(msg)
}

// BytesReceived returns the bytes read from the socket.
func (m *msgConn) BytesReceived() uint64 { return m.bc.Reader.Count() }

// BytesSent returns the bytes written to the socket.
func (m *msgConn) BytesSent() uint64 { return m.bc.Writer.Count() }
