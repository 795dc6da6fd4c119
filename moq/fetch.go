package moq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// fetchServe is a FETCH being answered.
type fetchServe struct {
	cancel context.CancelFunc
}

// fetchedObject is one cached object a FETCH returns.
type fetchedObject struct {
	loc     Location
	payload []byte
}

// collect returns the cached objects of t in [start, end), in ascending
// order, and whether the track has ended after them.
func (t *Track) collect(start, end Location) ([]fetchedObject, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []fetchedObject
	for g := t.oldest; g != nil; g = g.next {
		for i, p := range g.objects {
			l := Location{Group: g.id, Object: uint64(i)}
			if i < g.trimmed || l.Less(start) {
				continue
			}
			if !l.Less(end) {
				return out, false
			}
			out = append(out, fetchedObject{loc: l, payload: p})
		}
	}
	return out, t.closed
}

// onFetch serves FETCH (draft-14 §9.16, draft-16 §9.16) from the track
// cache: standalone fetches of a range, and joining fetches relative to or
// absolute from a Largest Object subscription. A joining FETCH covers the
// groups before the subscription's Largest Location up to and including it
// (draft-16 §9.16.2.1), wherever this package starts the subscription
// itself: with the default group-start subscription the two overlap on the
// current group's objects up to that location (a CMSF player takes the
// catalog from the joining FETCH). A joining FETCH of a subscription that
// started before the track had any object waits for its first object.
func (s *Session) onFetch(m *wire.Fetch) error {
	if err := s.acceptRequest(m.RequestID); err != nil {
		return err
	}
	s.log.Debug("fetch", "request", m.RequestID, "type", uint64(m.Type), "namespace", Namespace(m.Namespace).String(),
		"track", m.TrackName, "start", Location(m.Start), "end", Location(m.End),
		"joining_request", m.JoiningRequestID, "joining_start", m.JoiningStart)
	v := s.answerVersion(m.Draft14Layout)
	refuse := func(code wire.RequestErrorCode, format string, args ...any) error {
		return s.refuseAs(v, wire.KindFetch, m.RequestID, code, format, args...)
	}
	if s.full() {
		return refuse(wire.RequestInternalError, "more than %d subscriptions and fetches", s.cfg.MaxSubscriptions)
	}
	switch m.Type {
	case wire.FetchStandalone:
		t, err := s.readTrack(m.Namespace, m.TrackName, m.Params.AuthorizationTokens)
		if err != nil {
			return s.refuseRead(v, wire.KindFetch, m.RequestID, Namespace(m.Namespace), err)
		}
		if t == nil {
			return refuse(wire.RequestDoesNotExist, "no track %q in namespace %s", m.TrackName, Namespace(m.Namespace))
		}
		start, end, okEnd := Location(m.Start), Location(m.End), Location(m.End)
		if end.Object == 0 {
			// Object 0 asks for the whole End.Group (draft-14 §9.16.1).
			end = Location{Group: end.Group + 1}
		}
		if !start.Less(end) {
			return refuse(wire.RequestInvalidRange, "end before start")
		}
		largest, has := t.Largest()
		if !has {
			return refuse(wire.RequestInvalidRange, "the track has no objects yet")
		}
		if largest.Less(start) {
			return refuse(wire.RequestInvalidRange, "start %v is after the largest location %v", start, largest)
		}
		if past := largest.next(); past.Less(end) {
			okEnd = past // the range reaches beyond what was published
		}
		return s.serveFetch(v, m.RequestID, t, start, end, okEnd)
	case wire.FetchRelativeJoining, wire.FetchAbsoluteJoining:
		s.mu.Lock()
		sub := s.subs[m.JoiningRequestID]
		s.mu.Unlock()
		if sub == nil {
			return refuse(wire.RequestInvalidJoiningRequestID, "no subscription %d to join", m.JoiningRequestID)
		}
		if !sub.joinable {
			return sessionErrorf(wire.SessionProtocolViolation, "joining FETCH of subscription %d, which has no Largest Object filter", m.JoiningRequestID)
		}
		if sub.r.hasLargest {
			return s.serveJoiningFetch(v, m, sub.track, sub.r.largest)
		}
		return s.awaitJoiningFetch(v, m, sub)
	default:
		return sessionErrorf(wire.SessionProtocolViolation, "fetch type %d", m.Type)
	}
}

// serveJoiningFetch answers a joining FETCH of a subscription whose
// Largest Location was largest: from group JoiningStart (absolute) or
// JoiningStart groups before largest (relative) to largest, inclusive.
func (s *Session) serveJoiningFetch(v wire.Version, m *wire.Fetch, t *Track, largest Location) error {
	var start Location
	if m.Type == wire.FetchRelativeJoining {
		start.Group = largest.Group - min(m.JoiningStart, largest.Group)
	} else {
		if m.JoiningStart > largest.Group {
			return s.refuseAs(v, wire.KindFetch, m.RequestID, wire.RequestInvalidRange,
				"joining start %d is after the subscription's largest group %d", m.JoiningStart, largest.Group)
		}
		start.Group = m.JoiningStart
	}
	end := largest.next()
	return s.serveFetch(v, m.RequestID, t, start, end, end)
}

// awaitJoiningFetch answers a joining FETCH of a subscription that began on
// an empty track once the track's first object is written (up to the
// largest location then); the subscription or the track ending first, or
// FETCH_CANCEL, refuses it.
func (s *Session) awaitJoiningFetch(v wire.Version, m *wire.Fetch, sub *subscription) error {
	ctx, cancel := context.WithCancel(sub.ctx)
	s.mu.Lock()
	s.fetches[m.RequestID] = &fetchServe{cancel: cancel}
	s.mu.Unlock()
	s.goSafe(func() {
		defer cancel()
		largest, ok := sub.track.awaitLargest(ctx)
		s.mu.Lock()
		delete(s.fetches, m.RequestID)
		s.mu.Unlock()
		var err error
		switch {
		case ok:
			err = s.serveJoiningFetch(v, m, sub.track, largest)
		case s.ctx.Err() == nil:
			err = s.refuseAs(v, wire.KindFetch, m.RequestID, wire.RequestInvalidRange,
				"subscription %d ended before the track had objects", m.JoiningRequestID)
		}
		if err != nil {
			s.fail(err)
		}
	})
	return nil
}

// serveFetch sends FETCH_OK and the objects of t in [start, end) on a fetch
// stream; okEnd is FETCH_OK's End Location.
func (s *Session) serveFetch(v wire.Version, id uint64, t *Track, start, end, okEnd Location) error {
	objs, ended := t.collect(start, end)
	if len(objs) == 0 {
		if v == wire.Draft14 {
			return s.refuseAs(v, wire.KindFetch, id, wire.RequestNoObjects, "no cached objects in range")
		}
		okEnd = start // draft-16: FETCH_OK and an empty stream
	}
	ok := &wire.FetchOK{
		RequestID: id, GroupOrder: wire.GroupOrderAscending,
		EndOfTrack: ended, End: wire.Location(okEnd),
	}
	if err := s.writeControlAs(v, ok); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	s.fetches[id] = &fetchServe{cancel: cancel}
	s.mu.Unlock()
	s.goSafe(func() {
		defer cancel()
		defer func() {
			s.mu.Lock()
			delete(s.fetches, id)
			s.mu.Unlock()
			s.poke()
		}()
		if err := s.writeFetch(ctx, v, id, t.opts.Priority, objs); err != nil && ctx.Err() == nil {
			s.log.Debug("fetch stream failed", "request", id, "err", err)
		}
	})
	return nil
}

func (s *Session) writeFetch(ctx context.Context, v wire.Version, id uint64, prio uint8, objs []fetchedObject) (err error) {
	if v.RequestStreams() {
		// The fetch ends with its data: FIN its request stream once the
		// data is out, reset it if that failed (draft-18 §3.3.2).
		defer func() {
			if r := s.forget18(id); r != nil {
				if err != nil {
					r.reset(wire.ResetInternalError)
				} else {
					_ = r.st.Close()
				}
			}
		}()
	}
	st, err := s.c.OpenUniStreamSync(ctx)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { st.CancelWrite(uint64(wire.ResetCancelled)) })
	defer stop()
	fs := wire.FetchStream{Version: v}
	buf := wire.FetchHeader{RequestID: id}.Append(nil, v)
	if _, err := st.Write(buf); err != nil {
		return err
	}
	for _, o := range objs {
		buf, err = fs.AppendObjectHeader(buf[:0], wire.FetchObject{
			GroupID: o.loc.Group, ObjectID: o.loc.Object, PublisherPriority: prio,
			PayloadLength: uint64(len(o.payload)),
		})
		if err != nil {
			return err
		}
		if _, err := st.Write(buf); err != nil {
			return err
		}
		if _, err := st.Write(o.payload); err != nil {
			return err
		}
	}
	return st.Close()
}

func (s *Session) onFetchCancel(m *wire.FetchCancel) {
	s.mu.Lock()
	f := s.fetches[m.RequestID]
	s.mu.Unlock()
	if f != nil {
		f.cancel()
	}
}

// FetchRequest describes a FETCH: a standalone one names a track and a
// range, a joining one names a subscription of this session.
type FetchRequest struct {
	// Namespace and Name name the track of a standalone fetch.
	Namespace Namespace
	Name      string
	// Start is the first location of a standalone fetch.
	Start Location
	// End is the location after the last one wanted; End.Object 0 asks for
	// all of End.Group (draft-14 §9.16.1).
	End Location
	// Joining is the subscription a joining fetch completes: the objects
	// before the ones it delivers, from JoiningStart groups before its
	// largest location (or from group JoiningStart with JoiningAbsolute).
	Joining         *RemoteTrack
	JoiningStart    uint64
	JoiningAbsolute bool
}

// FetchResult is the answer to a FETCH: objects in ascending order.
type FetchResult struct {
	s          *Session
	id         uint64
	EndOfTrack bool
	End        Location
	objects    chan Object
	end        chan struct{}
	err        error
	stop       chan struct{} // closed by Cancel: the stream reader gives up
	stopOnce   sync.Once
}

// Fetch sends FETCH and waits for FETCH_OK; the objects then arrive through
// ReadObject.
func (s *Session) Fetch(ctx context.Context, req FetchRequest) (*FetchResult, error) {
	f := &FetchResult{s: s, objects: make(chan Object, 256), end: make(chan struct{}), stop: make(chan struct{})}
	id, p, err := s.sendRequest(wire.KindFetch, func(id uint64) wire.Message {
		f.id = id
		s.mu.Lock()
		s.fetchesOut[id] = f
		s.registeredLocked()
		s.mu.Unlock()
		m := &wire.Fetch{RequestID: id, SubscriberPriority: 128, GroupOrder: wire.GroupOrderAscending}
		if req.Joining != nil {
			m.Type = wire.FetchRelativeJoining
			if req.JoiningAbsolute {
				m.Type = wire.FetchAbsoluteJoining
			}
			m.JoiningRequestID, m.JoiningStart = req.Joining.id, req.JoiningStart
		} else {
			m.Type = wire.FetchStandalone
			m.Namespace, m.TrackName = wire.Namespace(req.Namespace), req.Name
			m.Start, m.End = wire.Location(req.Start), wire.Location(req.End)
		}
		return m
	})
	if err != nil {
		s.mu.Lock()
		if s.fetchesOut[f.id] == f { // registered, then the write failed
			delete(s.fetchesOut, f.id)
		}
		s.mu.Unlock()
		return nil, err
	}
	resp, err := s.await(ctx, id, p)
	if err != nil {
		s.mu.Lock()
		delete(s.fetchesOut, id)
		s.mu.Unlock()
		return nil, fmt.Errorf("fetch: %w", err)
	}
	ok, isOK := resp.(*wire.FetchOK)
	if !isOK {
		return nil, sessionErrorf(wire.SessionProtocolViolation, "%T answers FETCH", resp)
	}
	f.EndOfTrack, f.End = ok.EndOfTrack, Location(ok.End)
	return f, nil
}

func (s *Session) onFetchOK(m *wire.FetchOK) error {
	if !s.respond(m.RequestID, m) {
		if s.lateAnswer(m.RequestID) {
			return s.writeControl(&wire.FetchCancel{RequestID: m.RequestID})
		}
		return sessionErrorf(wire.SessionProtocolViolation, "FETCH_OK for unknown request %d", m.RequestID)
	}
	return nil
}

// ReadObject returns the next fetched object, io.EOF after the last.
func (f *FetchResult) ReadObject(ctx context.Context) (Object, error) {
	select {
	case o := <-f.objects:
		return o, nil
	case <-f.end:
	case <-f.s.ctx.Done():
	case <-ctx.Done():
		return Object{}, ctx.Err()
	}
	select {
	case o := <-f.objects:
		return o, nil
	default:
	}
	select {
	case <-f.end:
		return Object{}, f.err
	default:
		return Object{}, context.Cause(f.s.ctx)
	}
}

// Cancel sends FETCH_CANCEL and stops reading the fetch's objects.
func (f *FetchResult) Cancel() error {
	f.stopOnce.Do(func() { close(f.stop) })
	return f.s.writeControl(&wire.FetchCancel{RequestID: f.id})
}

func (s *Session) readFetchStream(st receiveStream, br *bufio.Reader) {
	h, err := wire.ReadFetchHeader(br, s.version)
	if err != nil {
		s.fail(fmt.Errorf("fetch header: %w", err))
		return
	}
	var f *FetchResult
	s.awaitRegistered(func() bool {
		// Claim the fetch: a second stream for the same request finds
		// nothing and is refused.
		f = s.fetchesOut[h.RequestID]
		delete(s.fetchesOut, h.RequestID)
		return f != nil
	})
	if f == nil {
		st.CancelRead(uint64(wire.ResetCancelled))
		return
	}
	defer func() {
		close(f.end)
		s.poke()
	}()
	fs := wire.FetchStream{Version: s.version}
	for {
		fo, err := fs.ReadObjectHeader(br)
		if err != nil {
			f.err = io.EOF
			if !errors.Is(err, io.EOF) {
				f.err = err
			}
			return
		}
		o := Object{Group: fo.GroupID, Subgroup: fo.SubgroupID, ID: fo.ObjectID, Status: fo.Status}
		if fo.EndOfRange != wire.NotEndOfRange {
			continue
		}
		if fo.PayloadLength > 0 {
			o.Payload = make([]byte, fo.PayloadLength)
			if _, err := io.ReadFull(br, o.Payload); err != nil {
				f.err = err
				return
			}
		}
		select {
		case f.objects <- o:
		case <-f.stop:
			st.CancelRead(uint64(wire.ResetCancelled))
			f.err = context.Canceled
			return
		case <-s.ctx.Done():
			f.err = context.Cause(s.ctx)
			return
		}
	}
}
