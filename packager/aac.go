package packager

import (
	"errors"
	"fmt"
	"strconv"
)

// ascInfo is what the packager takes from an MPEG-4 AudioSpecificConfig
// (ISO/IEC 14496-3 1.6.2.1). mp4ff's decoder only knows AAC-LC and HE-AAC and
// drops frameLengthFlag, which decides between 1024 and 960 samples per
// frame, so the packager reads the few fields itself.
type ascInfo struct {
	objectType    int // signalled audio object type: 2 AAC-LC, 5 HE-AAC, 29 HE-AACv2...
	sampleRate    int // output sample rate: the SBR extension rate for HE-AAC
	channelConfig int // 0 means a program_config_element defines the channels
	// frameSamples is the number of samples per frame at sampleRate.
	frameSamples uint32
}

// Audio object types (ISO/IEC 14496-3 Table 1.17) the packager handles.
const (
	aotSBR   = 5  // HE-AAC: SBR on top of a core codec
	aotPS    = 29 // HE-AACv2: SBR and parametric stereo
	aotERLD  = 23 // ER AAC LD: 512 or 480 samples per frame
	aotEscap = 31
)

// aacSampleRates is the sampling frequency table (ISO/IEC 14496-3 Table 1.18).
var aacSampleRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// maxAudioRate bounds explicitly coded sample rates.
const maxAudioRate = 384000

var errShortASC = errors.New("audio specific config too short")

// parseASC reads an AudioSpecificConfig.
func parseASC(b []byte) (ascInfo, error) {
	r := bitReader{b: b}
	var a ascInfo
	a.objectType = readAOT(&r)
	rate, err := readASCRate(&r)
	if err != nil {
		return a, err
	}
	a.sampleRate = rate
	a.channelConfig = int(r.read(4))
	base := a.objectType
	sbr := false
	if base == aotSBR || base == aotPS {
		sbr = true
		if a.sampleRate, err = readASCRate(&r); err != nil {
			return a, err
		}
		base = readAOT(&r)
	}
	switch base {
	case 1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22:
		a.frameSamples = 1024
	case aotERLD:
		a.frameSamples = 512
	default:
		return a, fmt.Errorf("unsupported audio object type %d", base)
	}
	if r.read(1) == 1 { // GASpecificConfig frameLengthFlag
		a.frameSamples = a.frameSamples * 15 / 16 // 960 or 480
	}
	if r.overrun {
		return a, errShortASC
	}
	if sbr {
		a.frameSamples *= 2 // SBR doubles the output rate, not the frame time
	}
	return a, nil
}

func readAOT(r *bitReader) int {
	aot := int(r.read(5))
	if aot == aotEscap {
		aot = 32 + int(r.read(6))
	}
	return aot
}

func readASCRate(r *bitReader) (int, error) {
	idx := r.read(4)
	rate := 0
	switch {
	case idx == 0xf:
		rate = int(r.read(24))
	case int(idx) < len(aacSampleRates):
		rate = aacSampleRates[idx]
	}
	if r.overrun {
		return 0, errShortASC
	}
	if rate <= 0 || rate > maxAudioRate {
		return 0, fmt.Errorf("invalid sampling frequency (index %d, %d Hz)", idx, rate)
	}
	return rate, nil
}

// channels is the number of output channels of the configuration, 0 when a
// program_config_element defines them.
func (a ascInfo) channels() int {
	switch a.channelConfig {
	case 1:
		if a.objectType == aotPS {
			return 2 // parametric stereo makes two channels of one
		}
		return 1
	case 2, 3, 4, 5, 6:
		return a.channelConfig
	case 7, 12, 14:
		return 8
	case 11:
		return 7
	case 13:
		return 24
	default:
		return 0
	}
}

// codecString is the RFC 6381 codecs value: mp4a.40.<audio object type>.
func (a ascInfo) codecString() string {
	return "mp4a.40." + strconv.Itoa(a.objectType)
}

// bitReader reads big-endian bit fields; reading past the end yields zeros
// and sets overrun.
type bitReader struct {
	b       []byte
	pos     int // bit position
	overrun bool
}

func (r *bitReader) read(n int) uint32 {
	var v uint32
	for range n {
		i := r.pos >> 3
		if i >= len(r.b) {
			r.overrun = true
			return 0
		}
		v = v<<1 | uint32(r.b[i]>>(7-r.pos&7))&1
		r.pos++
	}
	return v
}
