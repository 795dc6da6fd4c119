package packager

import (
	"errors"
	"fmt"
	"math"

	"github.com/Eyevinn/mp4ff/av1"
	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/moqgw/moq-gateway/ingest"
)

// CMAF header brands (ISO/IEC 23000-19 7.2): cmfc is the CMAF structural
// brand, iso6 the ISOBMFF edition whose boxes a chunk uses.
var initBrands = []string{"iso6", "cmfc"}

// buildInit builds the CMAF header of a track: ftyp and a moov with one trak
// (trackID 1) and its trex, no edit list, no mehd. sampleRate is the declared
// input rate of Opus, for dOps.
func buildInit(c *decoderConfig, sampleRate int) (out []byte, err error) {
	defer recoverParse("init segment", &err)
	seg := mp4.NewMP4Init()
	seg.AddChild(mp4.NewFtyp("cmfc", 0, initBrands))
	moov := mp4.NewMoovBox()
	seg.AddChild(moov)
	moov.AddChild(mp4.CreateMvhd())
	moov.AddChild(mp4.NewMvexBox())

	kind := "video"
	if c.codec.Kind() == ingest.KindAudio {
		kind = "audio"
	}
	trak := seg.AddEmptyTrack(c.timescale, kind, "und")
	switch c.codec {
	case ingest.CodecH264:
		err = trak.SetAVCDescriptor("avc1", c.sps, c.pps, true)
	case ingest.CodecH265:
		err = trak.SetHEVCDescriptor("hvc1", c.vps, c.sps, c.pps, nil, true)
	case ingest.CodecAV1:
		err = setAV1Descriptor(trak, c)
	case ingest.CodecAAC:
		esds := mp4.CreateEsdsBox(c.asc)
		trak.Mdia.Minf.Stbl.Stsd.AddChild(
			mp4.CreateAudioSampleEntryBox("mp4a", uint16(c.channels), 16, sampleEntryRate(c.timescale), esds))
	case ingest.CodecOpus:
		var dops *mp4.DopsBox
		if dops, err = opusSpecificBox(c.channels, sampleRate, c.opus); err == nil {
			trak.Mdia.Minf.Stbl.Stsd.AddChild(
				mp4.CreateAudioSampleEntryBox("Opus", uint16(c.channels), 16, opusRate, dops))
		}
	default:
		err = fmt.Errorf("unsupported codec %q", c.codec)
	}
	if err != nil {
		return nil, err
	}
	if len(trak.Mdia.Minf.Stbl.Stsd.Children) != 1 {
		return nil, errors.New("no sample entry")
	}
	buf := make([]byte, seg.Size())
	sw := bits.NewFixedSliceWriterFromSlice(buf)
	if err := seg.EncodeSW(sw); err != nil {
		return nil, err
	}
	if err := sw.AccError(); err != nil {
		return nil, err
	}
	return sw.Bytes(), nil
}

func setAV1Descriptor(trak *mp4.TrakBox, c *decoderConfig) error {
	sh, err := parseAV1SequenceHeader(c.av1SeqHdr)
	if err != nil {
		return err
	}
	seqOBU := av1.OBU{Header: av1.OBUHeader{Type: av1.OBUSequenceHeader, HeaderSize: 1}, Payload: c.av1SeqHdr}
	av1C := &mp4.Av1CBox{CodecConfRec: av1.CodecConfRecFromSequenceHeader(sh, seqOBU.Encode())}
	if sh.Width() > math.MaxUint16 || sh.Height() > math.MaxUint16 {
		return fmt.Errorf("av1 picture of %dx%d", sh.Width(), sh.Height())
	}
	return trak.SetAV1Descriptor("av01", av1C, uint16(sh.Width()), uint16(sh.Height()))
}

// sampleEntryRate is the AudioSampleEntry samplerate field, whose integer
// part has 16 bits; rates that do not fit are left to the decoder
// configuration, which is what decoders read.
func sampleEntryRate(rate uint32) uint16 {
	if rate > math.MaxUint16 {
		return 0
	}
	return uint16(rate)
}
