package packager

import (
	"fmt"

	"github.com/Eyevinn/mp4ff/av1"
	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/hevc"
)

// The codec configuration the packager parses comes straight from publishers
// on the network. mp4ff's bitstream parsers are hardened by fuzzing but not
// guaranteed panic-free, so every call into them goes through these wrappers,
// which turn a panic into an error: a bad publisher must never take the
// gateway down.

// parseAVCSPS stops at the VUI aspect ratio: see h264FrameRate for why.
func parseAVCSPS(b []byte) (sps *avc.SPS, err error) {
	defer recoverParse("h264 sps", &err)
	return avc.ParseSPSNALUnit(b, false)
}

func parseHEVCSPS(b []byte) (sps *hevc.SPS, err error) {
	defer recoverParse("h265 sps", &err)
	return hevc.ParseSPSNALUnit(b)
}

func parseAV1SequenceHeader(b []byte) (sh *av1.SequenceHeader, err error) {
	defer recoverParse("av1 sequence header", &err)
	return av1.ParseSequenceHeader(b)
}

func decodeAV1ConfigRecord(b []byte) (rec av1.CodecConfRec, err error) {
	defer recoverParse("av1 configuration record", &err)
	return av1.DecodeAV1CodecConfRec(b)
}

// recoverParse turns a panic of a parser into an error naming what was
// parsed.
func recoverParse(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: malformed (parser panic: %v)", what, r)
	}
}
