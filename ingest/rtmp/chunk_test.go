package rtmp

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/stretchr/testify/require"
)

// Hand-made RTMP chunks (RTMP specification §5.3.1), to send what
// gortmplib's writer never would: chosen header types, extended timestamps,
// bad sizes.

// RTMP message types.
const (
	msgSetChunkSize = 1
	msgAudio        = 8
	msgVideo        = 9
	msgCommandAMF0  = 20
)

// rawMessage is one message and how to chunk it.
type rawMessage struct {
	// fmt is the header type of the first chunk: 0 absolute timestamp, 1
	// delta, length and type, 2 delta, 3 none (all from the previous
	// message of the chunk stream).
	fmt  byte
	csid byte
	// ts is the timestamp (fmt 0) or delta (fmt 1, 2).
	ts   uint32
	typ  byte
	body []byte
	// ext says whether a fmt 3 message carries an extended timestamp
	// field, which it repeats from the previous header.
	ext bool
	// extTS is the value written in that field.
	extTS uint32
}

// appendMessage chunks m with chunkSize.
func appendMessage(b []byte, m rawMessage, chunkSize int) []byte {
	ext, extTS := m.ext, m.extTS
	if m.fmt != 3 {
		ext, extTS = m.ts >= 0xffffff, m.ts
	}
	field := min(m.ts, 0xffffff)
	body := m.body
	for first := true; first || len(body) > 0; first = false {
		if first {
			b = append(b, m.fmt<<6|m.csid)
			switch m.fmt {
			case 0:
				b = append24(b, field)
				b = append24(b, uint32(len(m.body)))
				b = append(b, m.typ)
				b = binary.LittleEndian.AppendUint32(b, 1)
			case 1:
				b = append24(b, field)
				b = append24(b, uint32(len(m.body)))
				b = append(b, m.typ)
			case 2:
				b = append24(b, field)
			}
		} else {
			b = append(b, 3<<6|m.csid)
		}
		if ext {
			b = binary.BigEndian.AppendUint32(b, extTS)
		}
		n := min(len(body), chunkSize)
		b = append(b, body[:n]...)
		body = body[n:]
	}
	return b
}

func append24(b []byte, v uint32) []byte { return append(b, byte(v>>16), byte(v>>8), byte(v)) }

// setChunkSize is a Set Chunk Size message.
func setChunkSize(v uint32) rawMessage {
	return rawMessage{csid: 2, typ: msgSetChunkSize, body: binary.BigEndian.AppendUint32(nil, v)}
}

// dialHandshaken connects and completes the RTMP handshake.
func dialHandshaken(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	_, _, err = handshake.DoClient(nc, false, false)
	require.NoError(t, err)
	return nc
}
