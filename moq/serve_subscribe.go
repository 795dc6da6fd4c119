package moq

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// resolveTrack finds the track a request names, creating it through the
// broadcast's provider when needed. The namespace is first mapped back from
// what this peer was announced (SessionConfig.NamespacePrefix).
func (s *Session) resolveTrack(ns wire.Namespace, name string) *Track {
	local := Namespace(ns)
	if p := s.cfg.NamespacePrefix; len(p) > 0 {
		if !local.HasPrefix(p) {
			return nil
		}
		local = local[len(p):]
	}
	bc, rest := s.origin.Lookup(local)
	if bc == nil {
		return nil
	}
	if s.cfg.AnnounceFilter != nil && !s.cfg.AnnounceFilter(bc) {
		return nil
	}
	return bc.Track(rest, name)
}

// acceptRequest applies the request ID rules to a new request from the peer
// and grows its allowance.
func (s *Session) acceptRequest(id uint64) error {
	if err := s.ids.accept(id); err != nil {
		return err
	}
	s.maybeGrowRequests(false)
	return nil
}

func (s *Session) refuse(kind wire.RequestKind, id uint64, code wire.RequestErrorCode, format string, args ...any) error {
	return s.refuseAs(s.version, kind, id, code, format, args...)
}

// maxSubscriptionsPerTrack14 bounds a draft-14 session's subscriptions to
// one track.
const maxSubscriptionsPerTrack14 = 4

// subscriptionsTo counts the session's subscriptions to t.
func (s *Session) subscriptionsTo(t *Track) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sub := range s.subs {
		if sub.track == t {
			n++
		}
	}
	return n
}

func (s *Session) refuseAs(v wire.Version, kind wire.RequestKind, id uint64, code wire.RequestErrorCode, format string, args ...any) error {
	return s.writeControlAs(v, &wire.RequestError{Kind: kind, RequestID: id, Code: code, Reason: fmt.Sprintf(format, args...)})
}

// onSubscribe serves SUBSCRIBE (draft-14 §9.7, draft-16 §9.9): all four
// filter types, a publisher-chosen track alias, SUBSCRIBE_OK with the
// largest location written before any object, or SUBSCRIBE_ERROR at once
// for an unknown track.
func (s *Session) onSubscribe(m *wire.Subscribe) error {
	if err := s.acceptRequest(m.RequestID); err != nil {
		return err
	}
	s.mu.Lock()
	goingAway := s.goingAway
	s.mu.Unlock()
	if goingAway {
		return s.refuse(wire.KindSubscribe, m.RequestID, wire.RequestInternalError, "session is going away")
	}
	if s.full() {
		return s.refuse(wire.KindSubscribe, m.RequestID, wire.RequestInternalError,
			"more than %d subscriptions", s.cfg.MaxSubscriptions)
	}
	t, err := s.readTrack(m.Namespace, m.TrackName, m.Params.AuthorizationTokens)
	if err != nil {
		return s.refuseRead(s.version, wire.KindSubscribe, m.RequestID, Namespace(m.Namespace), err)
	}
	if t == nil {
		s.log.Debug("subscribe to unknown track", "namespace", Namespace(m.Namespace).String(), "track", m.TrackName)
		return s.refuse(wire.KindSubscribe, m.RequestID, wire.RequestDoesNotExist,
			"no track %q in namespace %s", m.TrackName, Namespace(m.Namespace))
	}
	oneEach := s.version == wire.Draft16 || s.version == wire.Draft18
	if n := s.subscriptionsTo(t); n > 0 && (oneEach || n >= maxSubscriptionsPerTrack14) {
		// Drafts 16 and 18 §5.1: at most one subscription per track and
		// role. Draft-14 and draft-19 (#1775) set no bound; one keeps a
		// session from multiplying what it pulls by subscribing to one
		// track again and again.
		code := wire.RequestDuplicateSubscription
		if !oneEach {
			code = wire.RequestInternalError
		}
		return s.refuse(wire.KindSubscribe, m.RequestID, code,
			"%d subscriptions to track %q of %s already", n, m.TrackName, Namespace(m.Namespace))
	}
	mode, loc, end, hasEnd := startCurrentGroup, Location{}, uint64(0), false
	switch m.Filter.Type {
	case wire.FilterNextGroupStart:
		mode = startNextGroup
	case wire.FilterLargestObject, wire.FilterNone:
		if s.cfg.StrictLargestObject || isMoqLite(s.peerImpl) {
			mode = startAfterLargest
		}
	case wire.FilterAbsoluteStart:
		mode, loc = startAbsolute, Location(m.Filter.Start)
	case wire.FilterAbsoluteRange:
		mode, loc, end, hasEnd = startAbsolute, Location(m.Filter.Start), m.Filter.EndGroup, true
		if end < loc.Group {
			return s.refuse(wire.KindSubscribe, m.RequestID, wire.RequestInvalidRange,
				"end group %d before start group %d", end, loc.Group)
		}
		if !t.rangeAvailable(loc, end) {
			return s.refuse(wire.KindSubscribe, m.RequestID, wire.RequestInvalidRange,
				"groups %d to %d have been published and are no longer cached", loc.Group, end)
		}
	default:
		return sessionErrorf(wire.SessionProtocolViolation, "filter type %d", m.Filter.Type)
	}
	r := t.newReader(mode, loc, end, hasEnd)
	if r == nil {
		return s.refuse(wire.KindSubscribe, m.RequestID, wire.RequestDoesNotExist, "track %q has ended", m.TrackName)
	}
	s.mu.Lock()
	alias := s.nextAlias
	s.nextAlias++
	ctx, cancel := context.WithCancel(s.ctx)
	sub := &subscription{
		s: s, id: m.RequestID, alias: alias, track: t, r: r,
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		datagram: t.opts.Delivery == DeliveryDatagram,
		joinable: m.Filter.Type == wire.FilterLargestObject || m.Filter.Type == wire.FilterNone,
	}
	sub.forward.Store(m.Forward)
	s.subs[m.RequestID] = sub
	s.mu.Unlock()

	ok := &wire.SubscribeOK{RequestID: m.RequestID, TrackAlias: alias, GroupOrder: wire.GroupOrderAscending}
	if r.hasLargest {
		ok.Largest = &wire.Location{Group: r.largest.Group, Object: r.largest.Object}
	}
	if err := s.writeControl(ok); err != nil {
		r.close()
		cancel()
		return err
	}
	s.log.Debug("subscribed", "namespace", t.bc.ns.String(), "track", t.name, "request", m.RequestID, "alias", alias, "filter", uint64(m.Filter.Type))
	s.goSafe(sub.run)
	return nil
}

// onUnsubscribe stops a subscription: its open stream is reset and no
// PUBLISH_DONE follows (draft-14 §9.13: the subscriber already knows).
func (s *Session) onUnsubscribe(m *wire.Unsubscribe) error {
	s.mu.Lock()
	sub := s.subs[m.RequestID]
	delete(s.subs, m.RequestID) // gone for joining FETCHes and updates at once
	s.mu.Unlock()
	if sub != nil {
		sub.unsubscribed.Store(true)
		sub.cancel()
	}
	return nil
}

// onRequestUpdate changes a subscription: SUBSCRIBE_UPDATE (draft-14
// §9.10) may only narrow it (a later start, an earlier end group; a later
// end is a PROTOCOL_VIOLATION) and has no answer; REQUEST_UPDATE
// (draft-16 §9.11) may also move the end group later and is answered with
// REQUEST_OK carrying the largest location. Objects already sent are not
// sent again: an earlier start is a matter for FETCH. Forward applies at
// once; the subscriber priority is recorded nowhere (see doc.go).
func (s *Session) onRequestUpdate(m *wire.RequestUpdate) error {
	if err := s.acceptRequest(m.RequestID); err != nil {
		return err
	}
	if !s.ids.used(m.ExistingRequestID) {
		return sessionErrorf(wire.SessionProtocolViolation, "update of request %d, which the peer never made", m.ExistingRequestID)
	}
	d14 := s.version == wire.Draft14 || m.Draft14Layout
	s.mu.Lock()
	sub := s.subs[m.ExistingRequestID]
	s.mu.Unlock()
	if sub == nil {
		if d14 {
			return nil // the subscription has just ended (or was a FETCH)
		}
		return s.refuse(wire.KindRequestUpdate, m.RequestID, wire.RequestDoesNotExist,
			"no subscription %d", m.ExistingRequestID)
	}
	if f := m.Filter; f != nil {
		_, end, hasEnd := sub.r.bounds()
		newEnd, newHasEnd := f.EndGroup, f.Type == wire.FilterAbsoluteRange
		if newHasEnd && newEnd < f.Start.Group {
			return sessionErrorf(wire.SessionProtocolViolation, "update end group %d before its start group %d", newEnd, f.Start.Group)
		}
		if d14 && hasEnd && (!newHasEnd || newEnd > end) {
			return sessionErrorf(wire.SessionProtocolViolation, "SUBSCRIBE_UPDATE moves the end of subscription %d later", m.ExistingRequestID)
		}
		// An earlier start is ignored, not a violation as draft-14 has it:
		// Eyevinn v0.9.0 sends {0, 0} when its caller changes only forward
		// or priority, and draft-16 allows it anyway.
		sub.r.setStart(Location(f.Start))
		if newHasEnd != hasEnd || newEnd != end {
			sub.r.setEnd(newEnd, newHasEnd)
		}
	}
	if m.Forward != nil {
		sub.forward.Store(*m.Forward)
	}
	if d14 {
		return nil // draft-14 SUBSCRIBE_UPDATE has no answer
	}
	ok := &wire.RequestOK{Kind: wire.KindRequestUpdate, RequestID: m.RequestID}
	if l, has := sub.track.Largest(); has {
		ok.Largest = &wire.Location{Group: l.Group, Object: l.Object}
	}
	return s.writeControl(ok)
}

// onTrackStatus answers TRACK_STATUS from the track cache (draft-14 §9.20,
// draft-16 §9.19).
func (s *Session) onTrackStatus(m *wire.TrackStatus) error {
	if err := s.acceptRequest(m.RequestID); err != nil {
		return err
	}
	v := s.answerVersion(m.Draft14Layout)
	t, err := s.readTrack(m.Namespace, m.TrackName, m.Params.AuthorizationTokens)
	if err != nil {
		return s.refuseRead(v, wire.KindTrackStatus, m.RequestID, Namespace(m.Namespace), err)
	}
	if t == nil {
		return s.refuseAs(v, wire.KindTrackStatus, m.RequestID, wire.RequestDoesNotExist,
			"no track %q in namespace %s", m.TrackName, Namespace(m.Namespace))
	}
	ok := &wire.RequestOK{Kind: wire.KindTrackStatus, RequestID: m.RequestID, GroupOrder: wire.GroupOrderAscending}
	if l, has := t.Largest(); has {
		ok.Largest = &wire.Location{Group: l.Group, Object: l.Object}
	}
	return s.writeControlAs(v, ok)
}

// subscription serves one SUBSCRIBE: one goroutine reads the track through
// its cursor and writes groups as subgroup streams (or objects as
// datagrams). It never makes the track's writer wait: a subscriber that
// falls behind loses whole groups (see MaxLagGroups).
type subscription struct {
	s     *Session
	id    uint64
	alias uint64
	track *Track
	r     *trackReader

	ctx          context.Context
	cancel       context.CancelFunc
	done         chan struct{}
	forward      atomic.Bool
	unsubscribed atomic.Bool
	datagram     bool

	// joinable marks a Largest Object subscription, the only kind a
	// joining FETCH may name (draft-14 §9.16.2).
	joinable bool

	stopOnce   sync.Once
	stopCode   wire.PublishDoneCode
	stopReason string

	streams uint64 // streams opened, for PUBLISH_DONE
}

// stop ends the subscription with PUBLISH_DONE(code).
func (sub *subscription) stop(code wire.PublishDoneCode, reason string) {
	sub.stopOnce.Do(func() {
		sub.stopCode, sub.stopReason = code, reason
	})
	sub.cancel()
}

// urgency maps a MoQT priority (0..255, lower first) onto QUIC's 0..7.
func urgency(p uint8) int8 { return int8(p / 32) }

func (sub *subscription) run() {
	defer close(sub.done)
	defer func() {
		sub.r.close()
		sub.forget()
		sub.s.poke()
	}()
	// A write blocked by flow control (a subscriber that stopped reading)
	// must not hold up the end: reset the open stream at once.
	stop := context.AfterFunc(sub.ctx, func() { sub.r.cancelStream(wire.ResetCancelled) })
	defer stop()
	w := subWriter{sub: sub}
	code, reason := sub.loop(&w)
	w.reset(wire.ResetCancelled)
	// Gone before PUBLISH_DONE goes out: an update the peer sends once it
	// has read PUBLISH_DONE must find no subscription.
	sub.forget()
	if sub.unsubscribed.Load() || sub.s.ctx.Err() != nil {
		return
	}
	if err := sub.s.writeControl(&wire.PublishDone{
		RequestID: sub.id, StatusCode: code, StreamCount: sub.streams, Reason: reason,
	}); err != nil {
		sub.s.fail(err)
	}
}

// forget removes sub from its session's subscriptions.
func (sub *subscription) forget() {
	sub.s.mu.Lock()
	defer sub.s.mu.Unlock()
	if sub.s.subs[sub.id] == sub {
		delete(sub.s.subs, sub.id)
	}
}

// loop delivers until the subscription ends and returns the PUBLISH_DONE
// status.
func (sub *subscription) loop(w *subWriter) (wire.PublishDoneCode, string) {
	stopped := func() (wire.PublishDoneCode, string) {
		w.reset(wire.ResetCancelled)
		sub.stopOnce.Do(func() {
			sub.stopCode, sub.stopReason = wire.DoneSubscriptionEnded, "unsubscribed"
		})
		return sub.stopCode, sub.stopReason
	}
	// After the peer's GOAWAY the group in flight is finished and no new
	// one is started, so the session empties at group boundaries (a relay
	// resubscribes on the session that replaces this one).
	// A group that stops growing (a catalog's, a stream in its publisher's
	// grace period) would never end: after goAwayQuiet without an object
	// it is finished as it stands.
	goaway := sub.s.goawayCh
	var inFlight *group
	var quiet <-chan time.Time
	const goingAway = "going away"
	for {
		if sub.ctx.Err() != nil {
			return stopped()
		}
		ev := sub.r.next()
		switch ev.kind {
		case evWait:
			if goaway == nil && inFlight != nil {
				quiet = time.After(goAwayQuiet)
			}
			select {
			case <-sub.r.notify:
			case <-sub.ctx.Done():
				return stopped()
			case <-goaway:
				if inFlight == nil {
					return wire.DoneGoingAway, goingAway
				}
				goaway = nil // finish the group first
			case <-quiet:
				w.finish(inFlight)
				return wire.DoneGoingAway, goingAway
			}
		case evObject:
			if ev.group != inFlight && sub.s.peerSentGoAway() {
				return wire.DoneGoingAway, goingAway
			}
			inFlight = ev.group
			if ev.skipped > 0 {
				w.reset(wire.ResetDeliveryTimeout)
				sub.s.countDrop(uint64(ev.skipped))
			}
			if !sub.forward.Load() {
				continue
			}
			if err := w.writeObject(ev); err != nil {
				if sub.ctx.Err() != nil {
					continue // the next step reports the end
				}
				// The peer stopped this stream (STOP_SENDING) or it was reset
				// for lagging: drop the rest of the group.
				w.reset(wire.ResetCancelled)
				sub.r.skipGroup(ev.group)
			}
		case evGroupEnd:
			w.finish(ev.group)
			inFlight = nil
			if sub.s.peerSentGoAway() {
				return wire.DoneGoingAway, goingAway
			}
		case evEnd:
			if ev.trackEnded {
				w.endOfTrack(ev.group)
				return wire.DoneTrackEnded, "track ended"
			}
			w.finish(ev.group)
			return wire.DoneSubscriptionEnded, "subscription range complete"
		}
	}
}

// goAwayQuiet is how long, after the peer's GOAWAY, a group in flight may
// go without a new object before it is finished as it stands.
const goAwayQuiet = 500 * time.Millisecond

func (s *Session) countDrop(n uint64) {
	s.counters.groupsDropped.Add(n)
	s.log.Info("subscriber too slow: dropped whole groups", "groups", n)
}

// subWriter writes one subscription's groups: one subgroup stream per group
// (subgroup 0, END_OF_GROUP stream type, FIN at group end) or datagrams.
type subWriter struct {
	sub   *subscription
	st    sendStream
	g     *group // group of st
	sg    wire.SubgroupStream
	lastO uint64
	buf   []byte
}

func (w *subWriter) header(g *group) wire.SubgroupHeader {
	return wire.SubgroupHeader{
		TrackAlias:        w.sub.alias,
		GroupID:           g.id,
		SubgroupIDMode:    wire.SubgroupIDZero,
		PublisherPriority: w.sub.track.opts.Priority,
		EndOfGroup:        true,
	}
}

// open starts the stream of group g with object first; a draft-18 header
// says when that is the group's first object (FIRST_OBJECT, §11.4.2).
func (w *subWriter) open(g *group, first uint64) error {
	sub := w.sub
	st, err := sub.s.c.OpenUniStreamSync(sub.ctx)
	if err != nil {
		return err
	}
	st.SetPriority(urgency(sub.track.opts.Priority))
	w.st, w.g = st, g
	w.sg = wire.SubgroupStream{Version: sub.s.version, Header: w.header(g)}
	w.sg.Header.FirstObject = first == 0
	sub.streams++
	sub.s.counters.streamsOpened.Add(1)
	sub.r.setCancel(func(code wire.ResetCode) { st.CancelWrite(uint64(code)) })
	w.buf = w.sg.Header.Append(w.buf[:0], sub.s.version)
	_, err = st.Write(w.buf)
	return err
}

func (w *subWriter) writeObject(ev readEvent) error {
	if w.sub.datagram {
		return w.writeDatagram(ev)
	}
	if w.st == nil || w.g != ev.group {
		w.finish(w.g)
		if err := w.open(ev.group, ev.object); err != nil {
			return err
		}
	}
	return w.writeOnStream(ev)
}

func (w *subWriter) writeOnStream(ev readEvent) error {
	var err error
	w.buf, err = w.sg.AppendObjectHeader(w.buf[:0], wire.ObjectHeader{ObjectID: ev.object, PayloadLength: uint64(len(ev.payload))})
	if err != nil {
		return err
	}
	if _, err := w.st.Write(w.buf); err != nil {
		return err
	}
	if _, err := w.st.Write(ev.payload); err != nil {
		return err
	}
	w.lastO = ev.object
	w.sub.s.countSent(len(ev.payload))
	return nil
}

// writeDatagram sends one object as an OBJECT_DATAGRAM. An object too large
// for a datagram goes on a subgroup stream in draft-16, which lets a track
// mix both; draft-14 forbids mixing, so there it is counted as lost.
func (w *subWriter) writeDatagram(ev readEvent) error {
	sub := w.sub
	d := wire.Datagram{
		TrackAlias:        sub.alias,
		GroupID:           ev.group.id,
		ObjectID:          ev.object,
		PublisherPriority: sub.track.opts.Priority,
		Payload:           ev.payload,
	}
	b, err := d.Append(w.buf[:0], sub.s.version)
	if err != nil {
		return err
	}
	w.buf = b
	if err := sub.ctx.Err(); err != nil {
		return err // stopped: SendDatagram may block on a full queue
	}
	err = sub.s.c.SendDatagram(b)
	if _, tooLarge := errors.AsType[*quic.DatagramTooLargeError](err); !tooLarge {
		if err == nil {
			sub.s.countSent(len(ev.payload))
		}
		return err
	}
	if sub.s.version != wire.Draft14 {
		if w.st == nil || w.g != ev.group {
			w.finish(w.g)
			if err := w.open(ev.group, ev.object); err != nil {
				return err
			}
		}
		return w.writeOnStream(ev)
	}
	sub.s.counters.datagramsLost.Add(1)
	sub.s.log.Warn("object too large for a datagram on a draft-14 session: not delivered",
		"track", sub.track.name, "group", ev.group.id, "object", ev.object, "size", len(ev.payload))
	return nil
}

// finish closes the stream of g with FIN (g ended normally).
func (w *subWriter) finish(g *group) {
	if w.st == nil || w.g != g {
		return
	}
	w.sub.r.setCancel(nil)
	w.st.Close()
	w.st, w.g = nil, nil
}

// endOfTrack writes the End of Track status (draft-14 §10.2.1.1) after the
// last object of g on its open stream, then FIN.
func (w *subWriter) endOfTrack(g *group) {
	if w.st != nil && w.g == g && g != nil {
		b, err := w.sg.AppendObjectHeader(w.buf[:0], wire.ObjectHeader{ObjectID: w.lastO + 1, Status: wire.StatusEndOfTrack})
		if err == nil {
			_, _ = w.st.Write(b) // best effort: PUBLISH_DONE follows anyway
		}
	}
	w.finish(w.g)
}

// reset abandons the open stream, if any.
func (w *subWriter) reset(code wire.ResetCode) {
	if w.st == nil {
		return
	}
	w.sub.r.setCancel(nil)
	w.st.CancelWrite(uint64(code))
	w.st, w.g = nil, nil
}

func (s *Session) countSent(n int) {
	s.counters.objectsSent.Add(1)
	s.counters.bytesSent.Add(uint64(n))
}
