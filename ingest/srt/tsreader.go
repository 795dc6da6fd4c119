package srt

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// MPEG-TS packet layout (ISO/IEC 13818-1 §2.4.3.2).
const (
	tsPacketSize = 188
	tsSyncByte   = 0x47
	tsNullPID    = 0x1FFF
)

// maxPESBytes bounds one PES packet. The demuxer below us (go-astits)
// buffers a PES until the next one starts, so a peer that never starts one
// would grow it without limit. No access unit the gateway can use is larger
// than mediacommon's h264.MaxAccessUnitSize (8 MiB, a 50 Mb/s 2160p60
// keyframe); the slack covers PES and NAL framing.
const maxPESBytes = h264.MaxAccessUnitSize + 64<<10

// errPESTooLarge ends a connection whose PES exceeds maxPESBytes.
var errPESTooLarge = errors.New("PES packet larger than the limit")

// pidState is what tsReader remembers per PID.
type pidState struct {
	cc       uint8 // last continuity counter
	seen     bool  // cc is valid
	pesBytes int   // payload bytes since the last payload unit start
}

// tsReader sits between the SRT connection and the MPEG-TS demuxer. It hands
// on whole, aligned 188-byte packets, skipping bytes between packets; counts
// continuity-counter gaps (TS packets lost on the way, which the demuxer
// silently turns into a dropped PES); and bounds PES sizes. Every read
// reports activity so the caller can time out a silent peer.
type tsReader struct {
	r io.Reader
	// onRead is called with the byte count of every read from r.
	onRead func(n int)
	// onLost is called with the number of TS packets a continuity gap lost.
	onLost func(n int)
	// onError reports skipped garbage.
	onError func(err error)

	buf    []byte // one read from r
	carry  []byte // start of a packet split across reads
	out    []byte // aligned packets; out[outPos:] not yet returned
	outPos int
	pids   map[uint16]*pidState
}

func newTSReader(r io.Reader, onRead, onLost func(int), onError func(error)) *tsReader {
	return &tsReader{
		r:       r,
		onRead:  onRead,
		onLost:  onLost,
		onError: onError,
		// An SRT payload is at most 1456 bytes (1500-byte MSS less headers).
		buf:   make([]byte, 1500),
		carry: make([]byte, 0, tsPacketSize),
		out:   make([]byte, 0, 1500+tsPacketSize),
		pids:  make(map[uint16]*pidState),
	}
}

// Read implements io.Reader.
func (t *tsReader) Read(p []byte) (int, error) {
	for t.outPos == len(t.out) {
		t.out, t.outPos = t.out[:0], 0
		n, err := t.r.Read(t.buf)
		if n > 0 {
			t.onRead(n)
			if perr := t.feed(t.buf[:n]); perr != nil {
				return 0, perr
			}
		}
		if err != nil && len(t.out) == 0 {
			return 0, err
		}
	}
	n := copy(p, t.out[t.outPos:])
	t.outPos += n
	return n, nil
}

// feed splits data into packets and appends the ones it keeps to t.out.
func (t *tsReader) feed(data []byte) error {
	skipped := 0
	defer func() {
		if skipped > 0 {
			t.onError(fmt.Errorf("skipped %d bytes outside TS packets", skipped))
		}
	}()
	for len(data) > 0 {
		if len(t.carry) > 0 {
			n := min(tsPacketSize-len(t.carry), len(data))
			t.carry = append(t.carry, data[:n]...)
			data = data[n:]
			if len(t.carry) < tsPacketSize {
				return nil
			}
			err := t.packet(t.carry)
			t.carry = t.carry[:0]
			if err != nil {
				return err
			}
			continue
		}
		if data[0] != tsSyncByte {
			i := bytes.IndexByte(data, tsSyncByte)
			if i < 0 {
				skipped += len(data)
				return nil
			}
			skipped += i
			data = data[i:]
		}
		if len(data) < tsPacketSize {
			t.carry = append(t.carry, data...)
			return nil
		}
		if err := t.packet(data[:tsPacketSize]); err != nil {
			return err
		}
		data = data[tsPacketSize:]
	}
	return nil
}

// packet checks one 188-byte packet and keeps it unless it is a null packet.
func (t *tsReader) packet(p []byte) error {
	pid := uint16(p[1]&0x1F)<<8 | uint16(p[2])
	if pid == tsNullPID {
		return nil
	}
	st := t.pids[pid]
	if st == nil {
		st = &pidState{}
		t.pids[pid] = st
	}
	afc := p[3] >> 4 & 0x3
	hasPayload := afc&0x1 != 0
	cc := p[3] & 0x0F
	discontinuity := afc&0x2 != 0 && p[4] > 0 && p[5]&0x80 != 0
	if hasPayload {
		// A repeated counter is a legal duplicate; anything but that or
		// the next value means packets went missing.
		if st.seen && !discontinuity && cc != st.cc && cc != (st.cc+1)&0x0F {
			t.onLost(int((cc - st.cc - 1) & 0x0F))
		}
		st.cc, st.seen = cc, true

		if p[1]&0x40 != 0 { // payload_unit_start_indicator
			st.pesBytes = 0
		}
		st.pesBytes += tsPacketSize - 4
		if st.pesBytes > maxPESBytes {
			return fmt.Errorf("PID %d: %w (%d bytes)", pid, errPESTooLarge, maxPESBytes)
		}
	}
	t.out = append(t.out, p...)
	return nil
}
