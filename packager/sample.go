package packager

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/av1"

	"github.com/moqgw/moq-gateway/ingest"
)

// maxSampleLen bounds one access unit: far above any real frame (an 8K
// intra picture is a few MB), low enough that a hostile publisher cannot make
// the packager allocate gigabytes.
const maxSampleLen = 64 << 20

var errSampleTooLarge = errors.New("access unit too large")

// nalRole classifies a NAL unit for packaging.
type nalRole uint8

const (
	nalMedia nalRole = iota // goes into the sample as is
	nalVPS
	nalSPS
	nalPPS
	nalDrop // access unit delimiter: ISOBMFF samples carry none
)

// NAL unit types (H.264 Table 7-1, H.265 Table 7-1).
const (
	nalH264SPS = 7
	nalH264PPS = 8
	nalH264AUD = 9
	nalH265VPS = 32
	nalH265SPS = 33
	nalH265PPS = 34
	nalH265AUD = 35
)

// roleOf classifies a NAL unit by its header's first byte.
func roleOf(codec ingest.Codec, hdr byte) nalRole {
	if codec == ingest.CodecH264 {
		switch hdr & 0x1f {
		case nalH264SPS:
			return nalSPS
		case nalH264PPS:
			return nalPPS
		case nalH264AUD:
			return nalDrop
		}
		return nalMedia
	}
	switch hdr >> 1 & 0x3f {
	case nalH265VPS:
		return nalVPS
	case nalH265SPS:
		return nalSPS
	case nalH265PPS:
		return nalPPS
	case nalH265AUD:
		return nalDrop
	}
	return nalMedia
}

// keepNAL reports whether a NAL unit goes into the sample. Parameter sets
// that the init segment holds are dropped, since avc1/hvc1 keep them out of
// band; others stay in band so that decoding never breaks.
func keepNAL(codec ingest.Codec, nal []byte, cfg *decoderConfig) bool {
	if len(nal) == 0 {
		return false
	}
	switch r := roleOf(codec, nal[0]); r {
	case nalMedia:
		return true
	case nalDrop:
		return false
	default:
		return !cfg.hasParamSet(r, nal)
	}
}

// hasParamSet reports whether the configuration holds the parameter set.
func (c *decoderConfig) hasParamSet(r nalRole, nal []byte) bool {
	var list [][]byte
	switch r {
	case nalVPS:
		list = c.vps
	case nalSPS:
		list = c.sps
	case nalPPS:
		list = c.pps
	}
	nal = trimZeros(nal)
	for _, p := range list {
		if bytes.Equal(p, nal) {
			return true
		}
	}
	return false
}

// trimZeros drops trailing zero bytes: a NAL unit ends with the RBSP stop
// bit, so they can only be stuffing or a stray start code byte, which must
// not make equal parameter sets compare different.
func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// sampleLen returns the size of the sample data an access unit becomes.
func sampleLen(codec ingest.Codec, au [][]byte, cfg *decoderConfig) (int, error) {
	n := 0
	switch codec {
	case ingest.CodecH264, ingest.CodecH265:
		for _, nal := range au {
			if keepNAL(codec, nal, cfg) {
				n += 4 + len(nal)
			}
		}
	case ingest.CodecAV1:
		for _, b := range au {
			for len(b) > 0 {
				o, err := nextOBU(b)
				if err != nil {
					return 0, err
				}
				if keepOBU(o.typ) {
					n += o.hdrLen + lebLen(uint64(len(o.payload))) + len(o.payload)
				}
				b = o.rest
			}
		}
	default:
		for _, b := range au {
			n += len(b)
		}
	}
	if n > maxSampleLen {
		return 0, errSampleTooLarge
	}
	return n, nil
}

// putSample writes the sample data of an access unit to b, which has the
// length sampleLen returned: NAL units with 4-byte length prefixes, AV1 OBUs
// with size fields, audio as is.
func putSample(b []byte, codec ingest.Codec, au [][]byte, cfg *decoderConfig) {
	switch codec {
	case ingest.CodecH264, ingest.CodecH265:
		for _, nal := range au {
			if keepNAL(codec, nal, cfg) {
				binary.BigEndian.PutUint32(b, uint32(len(nal)))
				b = b[4+copy(b[4:], nal):]
			}
		}
	case ingest.CodecAV1:
		for _, a := range au {
			for len(a) > 0 {
				o, _ := nextOBU(a) // sampleLen validated the OBUs
				if keepOBU(o.typ) {
					b[0] = a[0] | obuHasSizeField
					if o.hdrLen == 2 {
						b[1] = a[1]
					}
					b = b[o.hdrLen:]
					b = b[putLEB(b, uint64(len(o.payload))):]
					b = b[copy(b, o.payload):]
				}
				a = o.rest
			}
		}
	default:
		for _, a := range au {
			b = b[copy(b, a):]
		}
	}
}

// lastPiece returns the last NAL unit (H.264, H.265) or element (audio)
// that goes into the sample, and its index; nil when the access unit has
// none or its sample is not a plain concatenation (AV1 OBUs get rewritten).
func lastPiece(codec ingest.Codec, au [][]byte, cfg *decoderConfig) (int, []byte) {
	switch codec {
	case ingest.CodecH264, ingest.CodecH265:
		for i := len(au) - 1; i >= 0; i-- {
			if keepNAL(codec, au[i], cfg) {
				return i, au[i]
			}
		}
	case ingest.CodecAAC, ingest.CodecOpus:
		for i := len(au) - 1; i >= 0; i-- {
			if len(au[i]) > 0 {
				return i, au[i]
			}
		}
	}
	return 0, nil
}

// obuHasSizeField is the obu_has_size_field bit of an OBU header: ISOBMFF
// samples carry OBUs in the low overhead format, each with its size.
const obuHasSizeField = 0x02

// obu is one OBU split off the front of a buffer.
type obu struct {
	typ     av1.OBUType
	hdrLen  int
	payload []byte
	rest    []byte // what follows the OBU
}

// nextOBU splits the first OBU off b. An OBU without a size field extends to
// the end of b.
func nextOBU(b []byte) (obu, error) {
	h, err := av1.ParseOBUHeader(b)
	if err != nil {
		return obu{}, fmt.Errorf("av1 obu: %w", err)
	}
	o := obu{typ: h.Type, hdrLen: h.HeaderSize}
	b = b[h.HeaderSize:]
	if !h.HasSizeField {
		o.payload = b
		return o, nil
	}
	size, n, err := av1.ReadLEB128(b)
	if err != nil {
		return obu{}, fmt.Errorf("av1 obu size: %w", err)
	}
	b = b[n:]
	if size > uint64(len(b)) {
		return obu{}, fmt.Errorf("av1 obu of %d bytes in %d", size, len(b))
	}
	o.payload, o.rest = b[:size], b[size:]
	return o, nil
}

// keepOBU reports whether an OBU goes into an ISOBMFF sample: temporal
// delimiters and tile lists must not (AV1 in ISOBMFF 2.4).
func keepOBU(t av1.OBUType) bool {
	return t != av1.OBUTemporalDelimiter && t != av1.OBUTileList
}

// lebLen is the length of v as unsigned LEB128.
func lebLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// putLEB writes v as unsigned LEB128 and returns its length.
func putLEB(b []byte, v uint64) int {
	i := 0
	for v >= 0x80 {
		b[i] = byte(v) | 0x80
		v >>= 7
		i++
	}
	b[i] = byte(v)
	return i + 1
}
