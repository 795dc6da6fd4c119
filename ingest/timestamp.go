package ingest

// Unwrapper extends a wrapping counter of Bits bits (RTMP: 32-bit
// milliseconds, MPEG-TS: 33-bit 90 kHz, RTP: 32-bit) to a 64-bit timeline.
// A step is taken as forward when it is less than half the counter's range
// and as backward otherwise, so both wraps and small reorderings (B-frame
// PTS, jitter) land on the right side. The zero value is not usable; set Bits.
type Unwrapper struct {
	// Bits is the width of the wrapping counter, 1..63.
	Bits uint

	started bool
	last    int64 // last unwrapped value
}

// Clock widths of the ingest protocols.
const (
	RTMPTimestampBits = 32
	MPEGTSClockBits   = 33
	RTPTimestampBits  = 32
)

// Unwrap returns raw (taken modulo 2^Bits) on the 64-bit timeline. The first
// value maps to itself.
func (u *Unwrapper) Unwrap(raw uint64) int64 {
	mask := uint64(1)<<u.Bits - 1
	raw &= mask
	if !u.started {
		u.started = true
		u.last = int64(raw)
		return u.last
	}
	delta := (raw - uint64(u.last)) & mask // forward distance mod 2^Bits
	if delta >= uint64(1)<<(u.Bits-1) {
		u.last -= int64(mask + 1 - delta)
	} else {
		u.last += int64(delta)
	}
	return u.last
}
