package packager

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// CatalogTrackName is the MSF catalog track's name (draft-ietf-moq-msf-01,
// "Catalog").
const CatalogTrackName = "catalog"

// CatalogVersion01 is the version string of MSF draft-01 catalogs; draft-00
// used the number 1.
const CatalogVersion01 = "draft-01"

// PackagingCMAF is the packaging value of CMSF tracks
// (draft-ietf-moq-cmsf, "CMAF Packaging").
const PackagingCMAF = "cmaf"

// maxCatalogLen bounds a catalog the parser accepts; real ones are a few KB
// with inline init segments.
const maxCatalogLen = 1 << 20

// Catalog is an MSF catalog (draft-ietf-moq-msf-01, "Catalog") with the CMSF
// extensions the gateway uses. Unknown fields are ignored when parsing.
type Catalog struct {
	Version     CatalogVersion `json:"version"`
	GeneratedAt int64          `json:"generatedAt,omitempty"` // ms since the Unix epoch
	IsComplete  bool           `json:"isComplete,omitempty"`
	Tracks      []CatalogTrack `json:"tracks,omitempty"`
	// DeltaUpdate holds the operations of a delta catalog, which the gateway
	// never writes.
	DeltaUpdate  []json.RawMessage `json:"deltaUpdate,omitempty"`
	InitDataList []InitData        `json:"initDataList,omitempty"`
}

// CatalogTrack is one track of a catalog (MSF-01 track fields).
type CatalogTrack struct {
	Name          string  `json:"name"`
	Namespace     string  `json:"namespace,omitempty"`
	Packaging     string  `json:"packaging"`
	IsLive        bool    `json:"isLive"`
	Role          string  `json:"role,omitempty"`
	Label         string  `json:"label,omitempty"`
	RenderGroup   int     `json:"renderGroup,omitempty"`
	AltGroup      int     `json:"altGroup,omitempty"`
	InitRef       string  `json:"initRef,omitempty"`
	InitData      string  `json:"initData,omitempty"` // draft-00: base64 init inline
	Codec         string  `json:"codec,omitempty"`
	MimeType      string  `json:"mimeType,omitempty"`
	Framerate     float64 `json:"framerate,omitempty"`
	Timescale     int     `json:"timescale,omitempty"`
	Bitrate       int     `json:"bitrate,omitempty"`
	AvgBitrate    int     `json:"avgBitrate,omitempty"`
	Width         int     `json:"width,omitempty"`
	Height        int     `json:"height,omitempty"`
	Samplerate    int     `json:"samplerate,omitempty"`
	ChannelConfig string  `json:"channelConfig,omitempty"`
	Lang          string  `json:"lang,omitempty"`
	TargetLatency int     `json:"targetLatency,omitempty"`
}

// InitData is an entry of a catalog's initDataList.
type InitData struct {
	ID   string `json:"id"`
	Type string `json:"type"` // "inline": Data is base64
	Data string `json:"data,omitempty"`
}

// CatalogVersion is a catalog's version: a string since draft-01, a number
// before. Numbers are kept in decimal and written back as numbers.
type CatalogVersion string

// UnmarshalJSON accepts a string or an integer.
func (v *CatalogVersion) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = CatalogVersion(s)
		return nil
	}
	n, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		return fmt.Errorf("catalog version %s: neither string nor integer", b)
	}
	*v = CatalogVersion(strconv.FormatUint(n, 10))
	return nil
}

// MarshalJSON writes a numeric version as a number.
func (v CatalogVersion) MarshalJSON() ([]byte, error) {
	if n, err := strconv.ParseUint(string(v), 10, 32); err == nil && strconv.FormatUint(n, 10) == string(v) {
		return strconv.AppendUint(nil, n, 10), nil
	}
	return json.Marshal(string(v))
}

// Errors ParseCatalog and Catalog.Init report.
var (
	ErrCatalogTooLarge = errors.New("catalog too large")
	ErrNoInit          = errors.New("track has no init segment")
)

// ParseCatalog decodes an MSF catalog, draft-01 (or draft-00). It accepts an
// independent catalog (with tracks) and a delta update, ignores unknown
// fields, and checks what a subscriber relies on: a version, non-empty and
// unique track names, and packaging on every track.
func ParseCatalog(b []byte) (*Catalog, error) {
	if len(b) > maxCatalogLen {
		return nil, ErrCatalogTooLarge
	}
	var c Catalog
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if d.More() {
		return nil, errors.New("catalog: trailing data")
	}
	if c.Version == "" {
		return nil, errors.New("catalog: no version")
	}
	// Absent and empty lists mean the same.
	if len(c.Tracks) == 0 {
		c.Tracks = nil
	}
	if len(c.DeltaUpdate) == 0 {
		c.DeltaUpdate = nil
	}
	if len(c.InitDataList) == 0 {
		c.InitDataList = nil
	}
	if len(c.Tracks) == 0 && len(c.DeltaUpdate) == 0 && !c.IsComplete {
		return nil, errors.New("catalog: no tracks")
	}
	names := make(map[string]bool, len(c.Tracks))
	for i, t := range c.Tracks {
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("catalog: track %d has no name", i)
		case names[t.Namespace+"\x00"+t.Name]:
			return nil, fmt.Errorf("catalog: duplicate track %q", t.Name)
		case t.Packaging == "":
			return nil, fmt.Errorf("catalog: track %q has no packaging", t.Name)
		}
		names[t.Namespace+"\x00"+t.Name] = true
	}
	return &c, nil
}

// Track returns the catalog's track with the name, nil when there is none.
func (c *Catalog) Track(name string) *CatalogTrack {
	for i := range c.Tracks {
		if c.Tracks[i].Name == name {
			return &c.Tracks[i]
		}
	}
	return nil
}

// Init returns the decoded init segment of a track: the initDataList entry
// its initRef names (draft-01) or its inline initData (draft-00).
func (c *Catalog) Init(t *CatalogTrack) ([]byte, error) {
	data := t.InitData
	if t.InitRef != "" {
		data = ""
		for _, d := range c.InitDataList {
			if d.ID != t.InitRef {
				continue
			}
			if d.Type != "inline" {
				return nil, fmt.Errorf("track %q: init %q of type %q", t.Name, d.ID, d.Type)
			}
			data = d.Data
			break
		}
		if data == "" {
			return nil, fmt.Errorf("track %q: initRef %q: %w", t.Name, t.InitRef, ErrNoInit)
		}
	}
	if data == "" {
		return nil, fmt.Errorf("track %q: %w", t.Name, ErrNoInit)
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("track %q: init: %w", t.Name, err)
	}
	return b, nil
}
