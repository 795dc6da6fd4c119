package packager

import (
	"bytes"

	"github.com/Eyevinn/mp4ff/av1"

	"github.com/moqgw/moq-gateway/ingest"
)

// paramSets are the parameter sets an access unit carries in band. MPEG-TS
// and RTSP sources often carry H.264/H.265 configuration only there, and an
// encoder that changes its configuration sends the new one in band with the
// next keyframe. The slices point into the access unit.
type paramSets struct {
	vps, sps, pps [][]byte
	av1SeqHdr     []byte
}

// inbandParamSets collects the parameter sets of an access unit; trailing
// zero bytes are trimmed.
func inbandParamSets(codec ingest.Codec, au [][]byte) (paramSets, error) {
	var ps paramSets
	switch codec {
	case ingest.CodecH264, ingest.CodecH265:
		for _, nal := range au {
			if nal = trimZeros(nal); len(nal) == 0 {
				continue
			}
			switch roleOf(codec, nal[0]) {
			case nalVPS:
				ps.vps = appendUnique(ps.vps, nal)
			case nalSPS:
				ps.sps = appendUnique(ps.sps, nal)
			case nalPPS:
				ps.pps = appendUnique(ps.pps, nal)
			}
		}
	case ingest.CodecAV1:
		for _, b := range au {
			for len(b) > 0 {
				o, err := nextOBU(b)
				if err != nil {
					return ps, err
				}
				if o.typ == av1.OBUSequenceHeader {
					ps.av1SeqHdr = o.payload
				}
				b = o.rest
			}
		}
	}
	return ps, nil
}

func appendUnique(list [][]byte, b []byte) [][]byte {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return list
		}
	}
	return append(list, b)
}

// hasNewParamSets reports whether an access unit carries a parameter set
// the configuration lacks (every in-band one when cfg is nil). It allocates
// nothing, as it runs on every keyframe.
func hasNewParamSets(codec ingest.Codec, au [][]byte, cfg *decoderConfig) bool {
	switch codec {
	case ingest.CodecH264, ingest.CodecH265:
		for _, nal := range au {
			if len(nal) == 0 {
				continue
			}
			if r := roleOf(codec, nal[0]); r != nalMedia && r != nalDrop && (cfg == nil || !cfg.hasParamSet(r, nal)) {
				return true
			}
		}
	case ingest.CodecAV1:
		// The last sequence header of the access unit is the one that
		// applies, as in inbandParamSets.
		var last []byte
		for _, b := range au {
			for len(b) > 0 {
				o, err := nextOBU(b)
				if err != nil {
					return false // the sample writer reports it
				}
				if o.typ == av1.OBUSequenceHeader {
					last = o.payload
				}
				b = o.rest
			}
		}
		return last != nil && (cfg == nil || !bytes.Equal(last, cfg.av1SeqHdr))
	}
	return false
}
