package srt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MPEG-TS packet layout (ISO/IEC 13818-1 §2.4.3.2).
const (
	tsPacketSize = 188
	tsSyncByte   = 0x47
	tsNullPID    = 0x1FFF
)

// maxProbeBytes bounds what is kept while mediacommon reads the program
// tables; it gives up itself after 1 MiB.
const maxProbeBytes = 1<<20 + 64<<10

// errProbeTooLarge ends a connection whose program tables do not show up.
var errProbeTooLarge = errors.New("no program tables in the first MiB")

// tsReader turns the SRT byte stream into whole, aligned 188-byte packets,
// skipping bytes between packets (reported, once per read) and null
// packets. It has two phases: while mediacommon reads the program tables
// through Read, every packet is also recorded so the demuxer can replay
// them; afterwards next hands packets on one by one.
type tsReader struct {
	r io.Reader
	// onRead is called with the byte count of every read from r.
	onRead func(n int)
	// onError reports skipped garbage.
	onError func(err error)

	buf   []byte // one read from r
	carry []byte // start of a packet split across reads

	out    []byte // aligned packets; out[outPos:] not yet returned
	outPos int

	probing  bool
	recorded []byte
}

func newTSReader(r io.Reader, onRead func(int), onError func(error)) *tsReader {
	return &tsReader{
		r:       r,
		onRead:  onRead,
		onError: onError,
		// An SRT payload is at most 1456 bytes (1500-byte MSS less headers).
		buf:     make([]byte, 1500),
		carry:   make([]byte, 0, tsPacketSize),
		out:     make([]byte, 0, 1500+tsPacketSize),
		probing: true,
	}
}

// Read implements io.Reader for the probing phase.
func (t *tsReader) Read(p []byte) (int, error) {
	if err := t.fill(); err != nil {
		return 0, err
	}
	n := copy(p, t.out[t.outPos:])
	t.outPos += n
	return n, nil
}

// endProbe ends the probing phase and returns every packet seen so far,
// including those read but not consumed.
func (t *tsReader) endProbe() []byte {
	t.probing = false
	t.out, t.outPos = t.out[:0], 0
	rec := t.recorded
	t.recorded = nil
	return rec
}

// next returns the next packet; it is valid until the following call.
func (t *tsReader) next() ([]byte, error) {
	if err := t.fill(); err != nil {
		return nil, err
	}
	p := t.out[t.outPos : t.outPos+tsPacketSize]
	t.outPos += tsPacketSize
	return p, nil
}

// fill reads until at least one packet is waiting in out.
func (t *tsReader) fill() error {
	for t.outPos == len(t.out) {
		t.out, t.outPos = t.out[:0], 0
		n, err := t.r.Read(t.buf)
		if n > 0 {
			t.onRead(n)
			t.feed(t.buf[:n])
			if t.probing {
				t.recorded = append(t.recorded, t.out...)
				if len(t.recorded) > maxProbeBytes {
					return errProbeTooLarge
				}
			}
		}
		if err != nil && len(t.out) == 0 {
			return err
		}
	}
	return nil
}

// feed splits data into packets and appends the ones it keeps to t.out.
func (t *tsReader) feed(data []byte) {
	skipped := 0
	for len(data) > 0 {
		if len(t.carry) > 0 {
			n := min(tsPacketSize-len(t.carry), len(data))
			t.carry = append(t.carry, data[:n]...)
			data = data[n:]
			if len(t.carry) < tsPacketSize {
				break
			}
			t.keep(t.carry)
			t.carry = t.carry[:0]
			continue
		}
		if data[0] != tsSyncByte {
			i := bytes.IndexByte(data, tsSyncByte)
			if i < 0 {
				skipped += len(data)
				break
			}
			skipped += i
			data = data[i:]
		}
		if len(data) < tsPacketSize {
			t.carry = append(t.carry, data...)
			break
		}
		t.keep(data[:tsPacketSize])
		data = data[tsPacketSize:]
	}
	if skipped > 0 {
		t.onError(fmt.Errorf("skipped %d bytes outside TS packets", skipped))
	}
}

func (t *tsReader) keep(p []byte) {
	if pid := uint16(p[1]&0x1F)<<8 | uint16(p[2]); pid != tsNullPID {
		t.out = append(t.out, p...)
	}
}
