package packager

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/moqgw/moq-gateway/ingest"
)

// Catalog track fields the gateway fills in (draft-ietf-moq-msf-01 track
// fields): every track is one rendering group; video and audio tracks are
// alternatives within their kind.
const (
	renderGroup   = 1
	altGroupVideo = 1
	altGroupAudio = 2
)

// publishCatalog delivers a new catalog version, object 0 of a new catalog
// group, listing every track of the current publication whose decoder
// configuration is known. Tracks whose configuration changed get a new init
// segment id, and their bitrate is measured anew.
func (s *Muxer) publishCatalog() {
	c := Catalog{
		Version:     CatalogVersion01,
		GeneratedAt: time.Now().UnixMilli(),
		Tracks:      []CatalogTrack{},
	}
	infos := make([]TrackInfo, 0, len(s.order))
	for _, t := range s.order {
		if t.cfg == nil {
			continue
		}
		if !t.cfg.same(t.initCfg) {
			t.initID, t.initCfg = t.nextInitID(), t.cfg
			t.meter = newBitrateMeter(t.cfg.timescale)
			t.measured, t.emitted = false, false
		}
		t.published, t.live = t.cfg, true
		ct := t.catalogTrack()
		c.Tracks = append(c.Tracks, ct)
		c.InitDataList = append(c.InitDataList, InitData{
			ID:   t.initID,
			Type: "inline",
			Data: base64.StdEncoding.EncodeToString(t.cfg.init),
		})
		infos = append(infos, TrackInfo{
			Name:      t.name,
			Kind:      t.kind,
			Codec:     t.cfg.codecString,
			Timescale: t.cfg.timescale,
			InitID:    t.initID,
			Init:      t.cfg.init,
			Bitrate:   ct.Bitrate,
			Width:     ct.Width, Height: ct.Height,
			SampleRate: ct.Samplerate, Channels: t.cfg.channels,
		})
	}
	b, err := json.Marshal(&c)
	if err != nil { // cannot happen: the catalog holds only strings and numbers
		s.log.Error("encode catalog", "err", err)
		return
	}
	s.catalogDirty = false
	g := s.catalogGroup
	s.catalogGroup++
	s.view.Store(&view{catalog: b, catalogGroup: g, tracks: infos})
	s.stats.catalogs.Add(1)
	s.log.Info("catalog", "group", g, "tracks", len(c.Tracks))
	s.out.Object(CatalogTrackName, g, 0, b)
}

// catalogTrack describes the track in the catalog.
func (t *track) catalogTrack() CatalogTrack {
	c := t.cfg
	ct := CatalogTrack{
		Name:        t.name,
		Packaging:   PackagingCMAF,
		IsLive:      true,
		Role:        t.kind.String(),
		RenderGroup: renderGroup,
		InitRef:     t.initID,
		Codec:       c.codecString,
		Timescale:   int(c.timescale),
		Bitrate:     t.src.Bitrate,
	}
	if ct.Bitrate == 0 {
		ct.Bitrate = estimateBitrate(c)
		if t.measured {
			ct.Bitrate = max(t.meter.peakBitrate(), 1)
			ct.AvgBitrate = max(t.meter.avgBitrate(), 1)
		}
	}
	if t.kind == ingest.KindVideo {
		ct.AltGroup = altGroupVideo
		ct.Width, ct.Height = c.width, c.height
		ct.Framerate = c.framerate
		if ct.Framerate == 0 && t.measured && t.vt.dur > 0 {
			ct.Framerate = sanitizeRate(videoTimescale / float64(t.vt.dur))
		}
	} else {
		ct.AltGroup = altGroupAudio
		ct.Samplerate = int(c.timescale)
		ct.ChannelConfig = c.channelConfig()
	}
	return ct
}

// measuredAll reports whether every listed track without a declared bitrate
// that has sent media has completed its measurement: then one updated
// catalog carries all the figures.
func (s *Muxer) measuredAll() bool {
	for _, t := range s.order {
		if t.published != nil && t.src.Bitrate == 0 && t.emitted && !t.measured {
			return false
		}
	}
	return true
}
