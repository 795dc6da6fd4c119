package srt

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// maxPESBytes bounds one PES packet. No access unit the gateway can use is
// larger than mediacommon's h264.MaxAccessUnitSize (8 MiB, a 50 Mb/s
// 2160p60 keyframe); the slack covers PES and NAL framing.
const maxPESBytes = h264.MaxAccessUnitSize + 64<<10

// PES assembly errors; each costs the PES it names.
var (
	errPESTooLarge = errors.New("PES packet larger than the limit")
	errPESLost     = errors.New("PES packet lost TS packets")
	errPESHeader   = errors.New("bad PES header")
	errTSError     = errors.New("TS packet flagged as erroneous")
	errPESCut      = errors.New("PES packet cut short by the end of the connection")
	// errStuffedMidPES costs the frame that a stuffed packet seemed to end.
	errStuffedMidPES = errors.New("stuffing inside a PES packet; frames now wait for the next PES")
)

// pesHandler receives a complete PES payload with its 33-bit timestamps (dts
// equals pts when the header carries no DTS). Decode problems go to the
// program's onError; a returned error ends the connection.
type pesHandler func(pts, dts int64, data []byte) error

// pesStream collects the PES packets of one elementary stream.
//
// PES assembly is done here rather than in mediacommon's Reader, whose
// demuxer (go-astits) copies the whole PES collected so far on every TS
// packet to test whether it is complete: quadratic in the frame size, about
// 20 ms of CPU for a 300 kB keyframe and seconds for a multi-megabyte PES a
// peer can send on purpose. This is linear and reuses one buffer.
type pesStream struct {
	pid    uint16
	handle pesHandler

	cc   uint8 // last continuity counter
	seen bool  // cc is valid

	collecting bool   // a PES has started and not been handed on
	buf        []byte // the PES so far, from its start code
	want       int    // total PES size when its header states one, else 0

	// endedByStuffing: the last PES was handed on at a stuffed packet;
	// stuffingEnds: one was, so the muxer ends PES that way; noStuffingEnd:
	// this muxer stuffs inside PES, so wait for the next.
	endedByStuffing, stuffingEnds, noStuffingEnd bool
}

// packet handles one aligned TS packet of the stream.
func (p *program) packet(pkt []byte) error {
	pid := uint16(pkt[1]&0x1F)<<8 | uint16(pkt[2])
	s := p.streams[pid]
	if s == nil {
		return nil // tables, PCR-only PIDs, tracks the gateway does not package
	}
	if pkt[1]&0x80 != 0 { // transport_error_indicator
		p.drop(s, errTSError)
		s.endedByStuffing = false // what follows proves nothing about the muxer
		return nil
	}
	afc := pkt[3] >> 4 & 0x3
	if afc&0x1 == 0 {
		return nil // adaptation field only, no payload
	}
	payload := pkt[4:]
	discontinuity, stuffed := false, false
	if afc&0x2 != 0 {
		n := int(pkt[4])
		if 1+n > len(payload) {
			p.drop(s, fmt.Errorf("PID %d: adaptation field of %d bytes", pid, n))
			return nil
		}
		discontinuity = n > 0 && pkt[5]&0x80 != 0
		stuffed = hasStuffing(pkt[5 : 5+n])
		payload = payload[1+n:]
	}

	cc := pkt[3] & 0x0F
	if s.seen && !discontinuity {
		if cc == s.cc {
			return nil // a duplicate (ISO/IEC 13818-1 §2.4.3.3)
		}
		if cc != (s.cc+1)&0x0F {
			p.onLost(int((cc - s.cc - 1) & 0x0F))
			p.drop(s, errPESLost)
			// The packets lost may have started a PES: the rest of it
			// proves nothing about the muxer.
			s.endedByStuffing = false
		}
	}
	s.cc, s.seen = cc, true

	if pkt[1]&0x40 != 0 { // payload_unit_start_indicator: a new PES
		// Video PES usually state no length and end where the next begins.
		if s.collecting {
			if err := p.flush(s); err != nil {
				return err
			}
		}
		s.collecting, s.buf, s.want = true, s.buf[:0], 0
	} else if !s.collecting {
		if s.endedByStuffing && !s.noStuffingEnd {
			// The muxer stuffs packets inside a PES: the frame handed on
			// was cut short. Wait for the next PES from now on.
			s.noStuffingEnd = true
			p.onError(fmt.Errorf("PID %d: %w", s.pid, errStuffedMidPES))
		}
		return nil // the rest of a PES whose start was lost
	}
	s.endedByStuffing = false
	if len(s.buf)+len(payload) > maxPESBytes {
		p.drop(s, errPESTooLarge)
		return nil
	}
	s.buf = append(s.buf, payload...)
	if s.want == 0 && len(s.buf) >= 6 {
		if n := int(s.buf[4])<<8 | int(s.buf[5]); n > 0 {
			s.want = 6 + n
		}
	}
	if s.want > 0 && len(s.buf) >= s.want {
		// Audio PES state their length, so they go on without waiting
		// for the next one.
		s.buf = s.buf[:s.want]
		return p.flush(s)
	}
	if s.want == 0 && stuffed && !s.noStuffingEnd {
		// A PES without a length ends in a stuffed packet: stuffing fills
		// a packet only when the PES has no more data for it (ISO/IEC
		// 13818-1 §2.4.3.5). Handing the frame on now saves a frame
		// interval of latency over waiting for the next PES.
		s.endedByStuffing, s.stuffingEnds = true, true
		return p.flush(s)
	}
	return nil
}

// hasStuffing reports whether an adaptation field (the bytes after its
// length) ends in stuffing bytes (ISO/IEC 13818-1 §2.4.3.4): an empty one
// is itself a single stuffing byte.
func hasStuffing(af []byte) bool {
	if len(af) == 0 {
		return true
	}
	flags, n := af[0], 1
	if flags&0x10 != 0 { // PCR
		n += 6
	}
	if flags&0x08 != 0 { // OPCR
		n += 6
	}
	if flags&0x04 != 0 { // splice_countdown
		n++
	}
	for _, bit := range []byte{0x02, 0x01} { // private data, extension: length-prefixed
		if flags&bit != 0 {
			if n >= len(af) {
				return false
			}
			n += 1 + int(af[n])
		}
	}
	return n < len(af)
}

// end is called when the publisher closes the connection. A PES still
// being collected is handed on only when it may be whole: one without a
// stated length from a muxer that does not end PES with stuffing (which
// would have handed it on already). A PES short of its stated length, or
// one that a stuffing muxer never finished, was cut and is dropped.
// Streams are handled in PID order so the frames' order does not depend on
// map iteration.
func (p *program) end() error {
	for _, pid := range slices.Sorted(maps.Keys(p.streams)) {
		s := p.streams[pid]
		if !s.collecting {
			continue
		}
		if s.want > 0 || (s.stuffingEnds && !s.noStuffingEnd) {
			p.drop(s, errPESCut)
			continue
		}
		if err := p.flush(s); err != nil {
			return err
		}
	}
	return nil
}

// drop abandons the PES being collected, if any.
func (p *program) drop(s *pesStream, why error) {
	if s.collecting {
		s.collecting = false
		p.onError(fmt.Errorf("PID %d: %w", s.pid, why))
	}
}

// flush hands a complete PES to the stream's handler.
func (p *program) flush(s *pesStream) error {
	s.collecting = false
	pts, dts, data, err := parsePES(s.buf)
	if err != nil {
		p.onError(fmt.Errorf("PID %d: %w", s.pid, err))
		return nil
	}
	return s.handle(pts, dts, data)
}

// parsePES splits a PES packet into its timestamps and payload
// (ISO/IEC 13818-1 §2.4.3.6). Elementary streams of the codecs the gateway
// packages always carry the optional header with a PTS.
func parsePES(b []byte) (pts, dts int64, data []byte, err error) {
	if len(b) < 9 || b[0] != 0 || b[1] != 0 || b[2] != 1 {
		return 0, 0, nil, fmt.Errorf("%w: no start code", errPESHeader)
	}
	if b[6]&0xC0 != 0x80 {
		return 0, 0, nil, fmt.Errorf("%w: no optional header", errPESHeader)
	}
	end := 9 + int(b[8])
	if end > len(b) {
		return 0, 0, nil, fmt.Errorf("%w: header longer than the packet", errPESHeader)
	}
	switch b[7] >> 6 { // PTS_DTS_flags
	case 0b10:
		if end < 14 {
			return 0, 0, nil, fmt.Errorf("%w: PTS truncated", errPESHeader)
		}
		pts = clock(b[9:14])
		dts = pts
	case 0b11:
		if end < 19 {
			return 0, 0, nil, fmt.Errorf("%w: PTS/DTS truncated", errPESHeader)
		}
		pts, dts = clock(b[9:14]), clock(b[14:19])
	default:
		return 0, 0, nil, fmt.Errorf("%w: no PTS", errPESHeader)
	}
	return pts, dts, b[end:], nil
}

// clock decodes a 33-bit PTS or DTS field with its marker bits.
func clock(b []byte) int64 {
	return int64(b[0]>>1&0x07)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
}
