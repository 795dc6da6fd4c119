package packager

import (
	"encoding/binary"
	"math"
	"time"
)

// Sizes of the boxes of a one-sample CMAF chunk as mp4ff writes them
// (CreateFragment, AddFullSample, no EncOptimize): writing them by hand keeps
// the per-frame path to a single allocation.
const (
	boxHeaderLen  = 8
	mfhdLen       = 16 // version/flags, sequence_number
	tfhdLen       = 16 // flags default-base-is-moof, track_ID
	tfdtLen0      = 16 // version 0: 32-bit baseMediaDecodeTime
	tfdtLen1      = 20 // version 1: 64-bit baseMediaDecodeTime
	trunLen       = 36 // version 1, flags 0xf01, one sample with all four fields
	mdatHeaderLen = 8
	prftLen       = 32 // version 1: 64-bit media_time
)

// Field values of the chunk boxes.
const (
	tfhdFlags = 0x020000 // default-base-is-moof
	// trunVersionFlags is version 1 (signed composition offsets) with
	// data-offset, duration, size, flags and composition offset present.
	trunVersionFlags = 1<<24 | 0xf01
	// prftVersionFlags is version 1; flags 0 says the NTP time is when the
	// frame was input to the packager.
	prftVersionFlags = 1 << 24
	cmafTrackID      = 1
)

// Sample flags (ISO/IEC 14496-12 8.8.3.1): a sync sample depends on no other
// (sample_depends_on=2); a non-sync one depends on others and sets
// sample_is_non_sync_sample. These are mp4ff's SyncSampleFlags and
// NonSyncSampleFlags|SampleDependsOn1.
const (
	syncSampleFlags    = 0x02000000
	nonSyncSampleFlags = 0x01010000
)

// chunkSample holds the fields of the single sample of a chunk.
type chunkSample struct {
	seq        uint32 // mfhd sequence number
	decodeTime uint64 // tfdt baseMediaDecodeTime
	dur        uint32
	size       uint32 // bytes of sample data in the mdat
	flags      uint32
	cto        int32 // composition time offset
	// prft is the NTP time that goes into a prft box before the moof; zero
	// writes no prft.
	prft uint64
}

// tfdtLen is the size of the tfdt box for a decode time: version 1 only when
// the time needs 64 bits, as mp4ff's SetBaseMediaDecodeTime decides.
func tfdtLen(decodeTime uint64) int {
	if decodeTime > math.MaxUint32 {
		return tfdtLen1
	}
	return tfdtLen0
}

// moofLen is the size of the moof box of a one-sample chunk.
func moofLen(decodeTime uint64) int {
	return boxHeaderLen + mfhdLen + boxHeaderLen + tfhdLen + tfdtLen(decodeTime) + trunLen
}

// chunkHeaderLen is the number of bytes in front of the sample data: prft,
// moof and mdat header.
func chunkHeaderLen(decodeTime uint64, prft bool) int {
	n := moofLen(decodeTime) + mdatHeaderLen
	if prft {
		n += prftLen
	}
	return n
}

// durOffset is the offset of the trun sample_duration field in a chunk.
func durOffset(decodeTime uint64, prft bool) int {
	n := boxHeaderLen + mfhdLen + boxHeaderLen + tfhdLen + tfdtLen(decodeTime) +
		boxHeaderLen + 4 + 4 + 4 // trun header, version/flags, sample_count, data_offset
	if prft {
		n += prftLen
	}
	return n
}

// putChunkHeader writes prft (when s.prft is set), moof and the mdat header
// to the front of b, which must hold at least chunkHeaderLen bytes, and
// returns the number of bytes written. The sample data follows.
func putChunkHeader(b []byte, s *chunkSample) int {
	be := binary.BigEndian
	n := 0
	if s.prft != 0 {
		_ = b[prftLen-1]
		be.PutUint32(b[0:], prftLen)
		copy(b[4:], "prft")
		be.PutUint32(b[8:], prftVersionFlags)
		be.PutUint32(b[12:], cmafTrackID)
		be.PutUint64(b[16:], s.prft)
		be.PutUint64(b[24:], s.decodeTime)
		n = prftLen
	}
	tl := tfdtLen(s.decodeTime)
	ml := moofLen(s.decodeTime)
	b = b[n : n+ml+mdatHeaderLen]

	be.PutUint32(b[0:], uint32(ml))
	copy(b[4:], "moof")
	p := boxHeaderLen

	be.PutUint32(b[p:], mfhdLen)
	copy(b[p+4:], "mfhd")
	be.PutUint32(b[p+8:], 0)
	be.PutUint32(b[p+12:], s.seq)
	p += mfhdLen

	be.PutUint32(b[p:], uint32(boxHeaderLen+tfhdLen+tl+trunLen))
	copy(b[p+4:], "traf")
	p += boxHeaderLen

	be.PutUint32(b[p:], tfhdLen)
	copy(b[p+4:], "tfhd")
	be.PutUint32(b[p+8:], tfhdFlags)
	be.PutUint32(b[p+12:], cmafTrackID)
	p += tfhdLen

	be.PutUint32(b[p:], uint32(tl))
	copy(b[p+4:], "tfdt")
	if tl == tfdtLen1 {
		be.PutUint32(b[p+8:], 1<<24)
		be.PutUint64(b[p+12:], s.decodeTime)
	} else {
		be.PutUint32(b[p+8:], 0)
		be.PutUint32(b[p+12:], uint32(s.decodeTime))
	}
	p += tl

	be.PutUint32(b[p:], trunLen)
	copy(b[p+4:], "trun")
	be.PutUint32(b[p+8:], trunVersionFlags)
	be.PutUint32(b[p+12:], 1)
	be.PutUint32(b[p+16:], uint32(ml+mdatHeaderLen)) // data_offset from the moof start
	be.PutUint32(b[p+20:], s.dur)
	be.PutUint32(b[p+24:], s.size)
	be.PutUint32(b[p+28:], s.flags)
	be.PutUint32(b[p+32:], uint32(s.cto))
	p += trunLen

	be.PutUint32(b[p:], uint32(mdatHeaderLen)+s.size)
	copy(b[p+4:], "mdat")
	return n + p + mdatHeaderLen
}

// ntpEpochOffset is the number of seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

// ntpTime converts t to the 64-bit NTP format (RFC 5905: seconds since 1900
// and a 32-bit fraction).
func ntpTime(t time.Time) uint64 {
	sec := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return sec<<32 | frac
}
