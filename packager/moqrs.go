package packager

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/moqgw/moq-gateway/ingest"
)

// The moq-rs layout is the track layout of cloudflare/moq-rs's moq-pub and
// moq-sub (moq-catalog v1): one init track "0.mp4" whose object is a single
// ftyp+moov holding every track, media tracks named "<trackID>.m4s" whose
// objects are CMAF chunks carrying that track ID, and a ".catalog" track.
// It is a compatibility layout beside the MSF/CMSF one (which gives each
// track its own CMAF header with track ID 1): the same chunks, renumbered.
const (
	MoqRSCatalogTrack = ".catalog"
	MoqRSInitTrack    = "0.mp4"
)

// MoqRSTrackName is the moq-rs layout's name of the i-th track (0-based) of
// a catalog: its track ID in the combined init is i+1.
func MoqRSTrackName(i int) string { return strconv.Itoa(i+1) + ".m4s" }

// MoqRSTrackIndex parses a moq-rs media track name back to its index.
func MoqRSTrackIndex(name string) (int, bool) {
	id, ok := strings.CutSuffix(name, ".m4s")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(id)
	if err != nil || n < 1 || strconv.Itoa(n) != id {
		return 0, false
	}
	return n - 1, true
}

// MoqRSInit combines the CMAF headers of tracks into one ftyp+moov, track i
// getting track ID i+1 (in tkhd and trex).
func MoqRSInit(tracks []TrackInfo) (out []byte, err error) {
	defer recoverParse("moq-rs init segment", &err)
	if len(tracks) == 0 {
		return nil, errors.New("no tracks")
	}
	seg := mp4.NewMP4Init()
	seg.AddChild(mp4.NewFtyp("cmfc", 0, initBrands))
	moov := mp4.NewMoovBox()
	seg.AddChild(moov)
	mvhd := mp4.CreateMvhd()
	mvhd.NextTrackID = uint32(len(tracks) + 1)
	moov.AddChild(mvhd)
	mvex := mp4.NewMvexBox()
	for i, tr := range tracks {
		f, err := mp4.DecodeFile(bytes.NewReader(tr.Init))
		if err != nil {
			return nil, fmt.Errorf("track %s: %w", tr.Name, err)
		}
		if f.Init == nil || f.Init.Moov == nil || f.Init.Moov.Trak == nil || f.Init.Moov.Mvex == nil || f.Init.Moov.Mvex.Trex == nil {
			return nil, fmt.Errorf("track %s: not a CMAF header", tr.Name)
		}
		id := uint32(i + 1)
		trak, trex := f.Init.Moov.Trak, f.Init.Moov.Mvex.Trex
		trak.Tkhd.TrackID, trex.TrackID = id, id
		moov.AddChild(trak)
		mvex.AddChild(trex)
	}
	moov.AddChild(mvex)
	buf := make([]byte, seg.Size())
	sw := bits.NewFixedSliceWriterFromSlice(buf)
	if err := seg.EncodeSW(sw); err != nil {
		return nil, err
	}
	return sw.Bytes(), sw.AccError()
}

// moqRSCatalog is moq-catalog v1 (moq-rs's moq-catalog crate, Root).
type moqRSCatalog struct {
	Version                int                 `json:"version"`
	StreamingFormat        int                 `json:"streamingFormat"`
	StreamingFormatVersion string              `json:"streamingFormatVersion"`
	SupportsDeltaUpdates   bool                `json:"supportsDeltaUpdates"`
	CommonTrackFields      moqRSCommonFields   `json:"commonTrackFields"`
	Tracks                 []moqRSCatalogTrack `json:"tracks"`
}

type moqRSCommonFields struct {
	Namespace   string `json:"namespace,omitempty"`
	Packaging   string `json:"packaging,omitempty"`
	RenderGroup int    `json:"renderGroup,omitempty"`
}

type moqRSCatalogTrack struct {
	Name            string              `json:"name"`
	InitTrack       string              `json:"initTrack"`
	SelectionParams moqRSSelectionParam `json:"selectionParams"`
}

type moqRSSelectionParam struct {
	Codec         string `json:"codec"`
	Bitrate       int    `json:"bitrate,omitempty"`
	Width         int    `json:"width,omitempty"`
	Height        int    `json:"height,omitempty"`
	Samplerate    int    `json:"samplerate,omitempty"`
	ChannelConfig string `json:"channelConfig,omitempty"`
}

// MoqRSCatalog is the moq-rs layout's catalog of tracks for namespace ns
// (the path, "/"-joined, as moq-pub writes it).
func MoqRSCatalog(ns string, tracks []TrackInfo) ([]byte, error) {
	c := moqRSCatalog{
		Version: 1, StreamingFormat: 1, StreamingFormatVersion: "0.2", SupportsDeltaUpdates: true,
		CommonTrackFields: moqRSCommonFields{Namespace: ns, Packaging: "cmaf", RenderGroup: 1},
		Tracks:            []moqRSCatalogTrack{},
	}
	for i, tr := range tracks {
		p := moqRSSelectionParam{Codec: tr.Codec, Bitrate: tr.Bitrate, Width: tr.Width, Height: tr.Height, Samplerate: tr.SampleRate}
		if tr.Kind == ingest.KindAudio {
			p.ChannelConfig = strconv.Itoa(tr.Channels)
		}
		c.Tracks = append(c.Tracks, moqRSCatalogTrack{Name: MoqRSTrackName(i), InitTrack: MoqRSInitTrack, SelectionParams: p})
	}
	return json.Marshal(&c)
}

// RetrackChunk appends to dst a copy of a CMAF chunk (optional prft, then
// moof and mdat) whose track ID (tfhd, and prft's reference track) is id.
func RetrackChunk(dst, chunk []byte, id uint32) ([]byte, error) {
	start := len(dst)
	dst = append(dst, chunk...)
	b := dst[start:]
	found := false
	for off := 0; off+8 <= len(b); {
		size := int(binary.BigEndian.Uint32(b[off:]))
		if size < 8 || off+size > len(b) {
			return dst[:start], fmt.Errorf("chunk: box of %d bytes at %d", size, off)
		}
		switch string(b[off+4 : off+8]) {
		case "prft":
			if size >= 16 {
				binary.BigEndian.PutUint32(b[off+12:], id) // after version+flags
			}
		case "moof":
			if err := retrackMoof(b[off+8:off+size], id); err != nil {
				return dst[:start], err
			}
			found = true
		}
		off += size
	}
	if !found {
		return dst[:start], errors.New("chunk: no moof")
	}
	return dst, nil
}

// retrackMoof sets the track ID of every traf's tfhd in a moof's payload.
func retrackMoof(b []byte, id uint32) error {
	for off := 0; off+8 <= len(b); {
		size := int(binary.BigEndian.Uint32(b[off:]))
		if size < 8 || off+size > len(b) {
			return fmt.Errorf("moof: box of %d bytes at %d", size, off)
		}
		if string(b[off+4:off+8]) == "traf" {
			traf := b[off+8 : off+size]
			if len(traf) < 16 || string(traf[4:8]) != "tfhd" {
				return errors.New("traf: no leading tfhd")
			}
			binary.BigEndian.PutUint32(traf[12:], id) // size, type, version+flags, track_ID
		}
		off += size
	}
	return nil
}
