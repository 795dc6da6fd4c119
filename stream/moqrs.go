package stream

import (
	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/packager"
)

// moqRSLayout serves a stream in the moq-rs track layout (see
// packager.MoqRSInitTrack) beside its CMSF tracks, for moq-rs's moq-sub and
// the players built on it. Its tracks exist only once a subscriber asks for
// them; they carry renumbered copies of the CMAF chunks. Guarded by
// liveStream.mu.
type moqRSLayout struct {
	catalog, init *moq.Track
	media         map[string]*moq.Track // by CMAF track name
	index         map[string]int        // CMAF track name → moq-rs index
}

// isMoqRSTrack reports whether name is a track of the moq-rs layout.
func isMoqRSTrack(name string) bool {
	if name == packager.MoqRSCatalogTrack || name == packager.MoqRSInitTrack {
		return true
	}
	_, ok := packager.MoqRSTrackIndex(name)
	return ok
}

// moqRSTrackLocked creates, on a subscriber's demand, a track of the moq-rs
// layout: the catalog and init track start with the current catalog
// version, a media track with the CMAF track's current group.
func (s *liveStream) moqRSTrackLocked(name string) *moq.Track {
	tracks := s.pkg.Tracks()
	if len(tracks) == 0 {
		return nil // nothing to describe before the first catalog
	}
	l := s.moqrs
	if l == nil {
		l = &moqRSLayout{media: map[string]*moq.Track{}}
		s.moqrs = l
		l.reindex(tracks)
	}
	opts := moq.TrackOptions{Priority: priorityCatalog, CacheGroups: 1}
	switch name {
	case packager.MoqRSCatalogTrack, packager.MoqRSInitTrack:
		t := l.catalog
		if name == packager.MoqRSInitTrack {
			t = l.init
		}
		if t != nil {
			return t
		}
		t, err := s.bc.CreateTrack(name, opts)
		if err != nil {
			return nil
		}
		if name == packager.MoqRSInitTrack {
			l.init = t
		} else {
			l.catalog = t
		}
		if _, group, ok := s.pkg.Catalog(); ok {
			s.writeMoqRSCatalogLocked(t, name, group, tracks)
		}
		return t
	}
	i, _ := packager.MoqRSTrackIndex(name)
	if i >= len(tracks) {
		return nil
	}
	src := tracks[i].Name
	if t := l.media[src]; t != nil {
		return t
	}
	// Streams only, whatever the CMAF track uses: moq-sub reads subgroups.
	opts.Priority = priorityVideo
	if tracks[i].Kind == ingest.KindAudio {
		opts.Priority = priorityAudio
	}
	t, err := s.bc.CreateTrack(name, opts)
	if err != nil {
		return nil
	}
	l.media[src] = t
	if cmaf := s.tracks[src]; cmaf != nil {
		if g, objs, ok := cmaf.CurrentGroup(); ok {
			for j, o := range objs {
				s.writeMoqRSObjectLocked(src, g, uint64(j), o)
			}
		}
	}
	return t
}

// reindex maps CMAF track names to their moq-rs index for a catalog
// version.
func (l *moqRSLayout) reindex(tracks []packager.TrackInfo) {
	l.index = make(map[string]int, len(tracks))
	for i, tr := range tracks {
		l.index[tr.Name] = i
	}
}

// writeMoqRSCatalogLocked writes a catalog version into the moq-rs
// catalog or init track, as group group.
func (s *liveStream) writeMoqRSCatalogLocked(t *moq.Track, name string, group uint64, tracks []packager.TrackInfo) {
	var b []byte
	var err error
	if name == packager.MoqRSInitTrack {
		b, err = packager.MoqRSInit(tracks)
	} else {
		b, err = packager.MoqRSCatalog(s.path, tracks)
	}
	if err != nil {
		s.log.Warn("moq-rs layout: cannot build "+name, "err", err)
		return
	}
	if err := t.StartGroup(group); err != nil {
		return
	}
	_ = t.WriteObject(b)
}

// onMoqRSCatalogLocked follows a new catalog version.
func (s *liveStream) onMoqRSCatalogLocked(group uint64) {
	l := s.moqrs
	if l == nil {
		return
	}
	tracks := s.pkg.Tracks()
	l.reindex(tracks)
	for name, t := range map[string]*moq.Track{packager.MoqRSCatalogTrack: l.catalog, packager.MoqRSInitTrack: l.init} {
		if t != nil {
			s.writeMoqRSCatalogLocked(t, name, group, tracks)
		}
	}
}

// writeMoqRSObjectLocked copies object of CMAF track src, renumbered, into
// its moq-rs media track when a subscriber asked for it.
func (s *liveStream) writeMoqRSObjectLocked(src string, group, object uint64, payload []byte) {
	l := s.moqrs
	if l == nil {
		return
	}
	t := l.media[src]
	i, ok := l.index[src]
	if t == nil || !ok {
		return
	}
	c, err := packager.RetrackChunk(nil, payload, uint32(i+1))
	if err != nil {
		s.log.Warn("moq-rs layout: cannot renumber a chunk", "track", src, "err", err)
		return
	}
	if object == 0 {
		if err := t.StartGroup(group); err != nil {
			return
		}
	} else if g, _, ok := t.CurrentGroup(); !ok || g != group {
		return // created mid-group: it starts with the next one
	}
	if err := t.WriteObjectAt(object, c); err != nil {
		s.log.Warn("moq-rs layout: cannot write object", "track", src, "group", group, "object", object, "err", err)
	}
}

// endMoqRSLocked ends the moq-rs tracks with the stream.
func (s *liveStream) endMoqRSLocked() {
	l := s.moqrs
	if l == nil {
		return
	}
	for _, t := range l.media {
		t.Close()
	}
	for _, t := range []*moq.Track{l.catalog, l.init} {
		if t != nil {
			t.Close()
		}
	}
	s.moqrs = nil
}
