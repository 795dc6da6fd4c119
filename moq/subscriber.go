package moq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// Object is one object received on a subscription or fetch.
type Object struct {
	Group, Subgroup, ID uint64
	// Status is Normal for objects with a payload; End of Group / End of
	// Track / Does Not Exist markers have none.
	Status wire.ObjectStatus
	// Extensions is the raw extension header block, if any.
	Extensions []byte
	Payload    []byte
	// Datagram says the object arrived in an OBJECT_DATAGRAM.
	Datagram bool
}

// SubscribeOptions shape a subscription. The zero value subscribes with the
// Largest Object filter (the publisher decides where a joiner starts; this
// package's publisher starts at the newest group's first object).
type SubscribeOptions struct {
	Filter   wire.FilterType // default FilterLargestObject
	Start    Location        // AbsoluteStart / AbsoluteRange
	EndGroup uint64          // AbsoluteRange: last group
	Priority uint8           // subscriber priority; default 128
	// Buffer is how many received objects may wait for ReadObject before
	// the stream readers stop reading (QUIC flow control then slows the
	// publisher); default 1024.
	Buffer int
	// Join makes a Largest Object subscription start at its current
	// group's first object whatever the publisher does: when the first
	// object (within joinDelay) comes from after the group's start — the
	// text's start after the largest object (draft-14 §5.1.2), which
	// moq-dev's relay follows — a joining FETCH (§9.16.3) brings the group
	// up to the Largest Location, and ReadObject returns it first, then the
	// subscription's objects after that location. Publishers that start at
	// the group's start (this package's, moq-rs relays) are not sent a
	// FETCH, which some draft-16 peers cannot parse. A peer that refuses or
	// does not answer the FETCH within joinWait leaves the subscription as
	// it is.
	Join bool
}

const (
	// joinDelay is how long a Join subscription waits for its first object
	// before it asks for the current group with a FETCH.
	joinDelay = 300 * time.Millisecond
	// joinWait bounds the joining FETCH of a Join subscription: its answer,
	// and each object of it.
	joinWait = 2 * time.Second
)

// pendingRequest awaits the response to one of our requests.
type pendingRequest struct {
	kind wire.RequestKind
	ch   chan wire.Message // buffered 1
}

func (s *Session) newRequest(kind wire.RequestKind) (uint64, *pendingRequest, error) {
	select {
	case <-s.ready:
	case <-s.ctx.Done():
		return 0, nil, context.Cause(s.ctx)
	}
	s.mu.Lock()
	goingAway := s.goingAway
	s.mu.Unlock()
	if goingAway {
		return 0, nil, ErrGoingAway
	}
	id, err := s.ids.allocate(s.requestLimit())
	if err != nil {
		var rb requestsBlockedError
		if errors.As(err, &rb) {
			s.sendRequestsBlocked(rb.max)
		}
		return 0, nil, err
	}
	p := &pendingRequest{kind: kind, ch: make(chan wire.Message, 1)}
	s.mu.Lock()
	s.pending[id] = p
	s.mu.Unlock()
	return id, p, nil
}

// sendRequest allocates a request ID and writes the control message build
// makes for it, under one lock: a peer takes request IDs that arrive out of
// order for a protocol violation (draft-14 §9.1), so concurrent callers
// must not interleave allocation and writing. On a write error the request
// is forgotten.
func (s *Session) sendRequest(kind wire.RequestKind, build func(id uint64) wire.Message) (uint64, *pendingRequest, error) {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	id, p, err := s.newRequest(kind)
	if err != nil {
		return 0, nil, err
	}
	if err := s.writeControl(build(id)); err != nil {
		s.dropRequest(id)
		return 0, nil, err
	}
	return id, p, nil
}

// dropRequest forgets a request whose caller gave up; a late answer to it
// is then cleaned up (UNSUBSCRIBE, FETCH_CANCEL) instead of being taken for
// a protocol violation.
func (s *Session) dropRequest(id uint64) {
	s.mu.Lock()
	if _, ok := s.pending[id]; ok {
		s.abandoned[id] = true
	}
	delete(s.pending, id)
	s.mu.Unlock()
	s.poke()
}

// lateAnswer reports whether id is a request we gave up on, forgetting it.
func (s *Session) lateAnswer(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.abandoned[id] {
		return false
	}
	delete(s.abandoned, id)
	return true
}

// await waits for the response to request id.
func (s *Session) await(ctx context.Context, id uint64, p *pendingRequest) (wire.Message, error) {
	select {
	case m := <-p.ch:
		if re, ok := m.(*wire.RequestError); ok {
			return nil, &RequestError{Code: re.Code, Reason: re.Reason}
		}
		return m, nil
	case <-ctx.Done():
		s.dropRequest(id)
		return nil, ctx.Err()
	case <-s.ctx.Done():
		return nil, context.Cause(s.ctx)
	}
}

// respond delivers a response to a pending request; it reports whether one
// was waiting.
func (s *Session) respond(id uint64, m wire.Message) bool {
	s.mu.Lock()
	p := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if p == nil {
		return false
	}
	s.poke()
	p.ch <- m
	return true
}

func (s *Session) onRequestOK(m *wire.RequestOK) error {
	if s.onAnnounceResponse(m.RequestID, nil) {
		return nil
	}
	if !s.respond(m.RequestID, m) && !s.lateAnswer(m.RequestID) {
		s.log.Debug("REQUEST_OK for no pending request", "request", m.RequestID)
	}
	return nil
}

func (s *Session) onRequestError(m *wire.RequestError) error {
	if s.onAnnounceResponse(m.RequestID, m) {
		return nil
	}
	s.mu.Lock()
	t := s.remote[m.RequestID]
	s.mu.Unlock()
	if !s.respond(m.RequestID, m) && t == nil && !s.lateAnswer(m.RequestID) {
		s.log.Debug("error for no pending request", "request", m.RequestID, "code", uint64(m.Code), "reason", m.Reason)
	}
	if t != nil {
		t.finish(&RequestError{Code: m.Code, Reason: m.Reason})
	}
	return nil
}

// recordRefusal keeps the last refusal of one of our requests for status.
func (s *Session) recordRefusal(err *RequestError) {
	s.mu.Lock()
	s.lastRefusal = err
	s.mu.Unlock()
	select {
	case s.refusedCh <- struct{}{}:
	default:
	}
}

// LastRefusal is the last refusal of a namespace this session announced.
func (s *Session) LastRefusal() *RequestError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastRefusal
}

// RemoteTrack is a subscription this session made to a peer's track.
type RemoteTrack struct {
	s         *Session
	id        uint64
	Namespace Namespace
	Name      string
	alias     uint64
	// Largest is the largest location the publisher reported in
	// SUBSCRIBE_OK (nil when it had no content).
	Largest *Location

	objects chan Object
	// A Join subscription's state, which belongs to ReadObject's caller:
	// joinPending until its first object decides whether to FETCH; held is
	// that object, delivered after the fetch; join is the joining FETCH
	// until it is read out; joinedTo is the location it covers once it gave
	// an object, and subscription objects up to there are then skipped.
	joinPending bool
	held        *Object
	join        *FetchResult
	joinedTo    *Location

	mu         sync.Mutex
	aliased    bool // SUBSCRIBE_OK seen (guarded by the session's mu)
	readers    int  // stream readers running
	streams    uint64
	doneCount  uint64
	doneErr    error
	gotDone    bool
	closedOnce sync.Once
	end        chan struct{}
}

// Subscribe subscribes to a track of the peer and waits for SUBSCRIBE_OK.
// A refusal is a *RequestError (errors.Is(err, ErrTrackDoesNotExist) for an
// unknown track).
func (s *Session) Subscribe(ctx context.Context, ns Namespace, name string, opts SubscribeOptions) (*RemoteTrack, error) {
	if opts.Filter == 0 {
		opts.Filter = wire.FilterLargestObject
	}
	if opts.Priority == 0 {
		opts.Priority = 128
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 1024
	}
	t := &RemoteTrack{
		s: s, Namespace: ns, Name: name,
		objects: make(chan Object, opts.Buffer), end: make(chan struct{}),
	}
	id, p, err := s.sendRequest(wire.KindSubscribe, func(id uint64) wire.Message {
		t.id = id
		s.mu.Lock()
		s.remote[id] = t
		s.mu.Unlock()
		return &wire.Subscribe{
			RequestID: id, Namespace: wire.Namespace(ns), TrackName: name,
			SubscriberPriority: opts.Priority, GroupOrder: wire.GroupOrderAscending, Forward: true,
			Filter: wire.Filter{Type: opts.Filter, Start: wire.Location(opts.Start), EndGroup: opts.EndGroup},
		}
	})
	if err != nil {
		s.mu.Lock()
		if s.remote[t.id] == t { // registered, then the write failed
			delete(s.remote, t.id)
		}
		s.mu.Unlock()
		return nil, err
	}
	resp, err := s.await(ctx, id, p)
	if err != nil {
		s.mu.Lock()
		delete(s.remote, id)
		s.mu.Unlock()
		return nil, fmt.Errorf("subscribe %s/%s: %w", ns, name, err)
	}
	ok, isOK := resp.(*wire.SubscribeOK)
	if !isOK {
		return nil, sessionErrorf(wire.SessionProtocolViolation, "%T answers SUBSCRIBE", resp)
	}
	if ok.Largest != nil {
		t.Largest = &Location{Group: ok.Largest.Group, Object: ok.Largest.Object}
	}
	t.joinPending = opts.Join && t.Largest != nil && opts.Filter == wire.FilterLargestObject
	return t, nil
}

// startJoin waits up to joinDelay for a Join subscription's first object
// and sends the joining FETCH when the subscription does not start at the
// current group's first object.
func (t *RemoteTrack) startJoin(ctx context.Context) error {
	t.joinPending = false
	dctx, cancel := context.WithTimeout(ctx, joinDelay)
	o, err := t.readSubscribed(dctx)
	cancel()
	switch {
	case err == nil:
		t.held = &o
		if !(Location{Group: t.Largest.Group}).Less(Location{Group: o.Group, Object: o.ID}) {
			return nil // the publisher starts at the group's start
		}
	case ctx.Err() != nil:
		return ctx.Err()
	case !errors.Is(err, context.DeadlineExceeded):
		return nil // ended: ReadObject reports it
	}
	fctx, cancel := context.WithTimeout(ctx, joinWait)
	f, err := t.s.Fetch(fctx, FetchRequest{Joining: t})
	cancel()
	if err != nil {
		t.s.log.Debug("joining fetch refused: the subscription starts where the publisher puts it", "track", t.Name, "err", err)
		return nil
	}
	t.join = f
	return nil
}

func (s *Session) onSubscribeOK(m *wire.SubscribeOK) error {
	s.mu.Lock()
	t := s.remote[m.RequestID]
	if t != nil {
		if t.aliased {
			s.mu.Unlock()
			return sessionErrorf(wire.SessionProtocolViolation, "second SUBSCRIBE_OK for request %d", m.RequestID)
		}
		if other := s.aliases[m.TrackAlias]; other != nil && other != t {
			s.mu.Unlock()
			return sessionErrorf(wire.SessionDuplicateTrackAlias, "track alias %d is in use", m.TrackAlias)
		}
		t.alias, t.aliased = m.TrackAlias, true
		s.aliases[m.TrackAlias] = t
		s.registeredLocked()
	}
	s.mu.Unlock()
	if !s.respond(m.RequestID, m) {
		if s.lateAnswer(m.RequestID) {
			// The caller gave up before the answer came: end the
			// subscription it no longer wants.
			return s.writeControl(&wire.Unsubscribe{RequestID: m.RequestID})
		}
		return sessionErrorf(wire.SessionProtocolViolation, "SUBSCRIBE_OK for unknown request %d", m.RequestID)
	}
	return nil
}

func (s *Session) onPublishDone(m *wire.PublishDone) {
	s.mu.Lock()
	t := s.remote[m.RequestID]
	s.mu.Unlock()
	if t == nil {
		return
	}
	err := io.EOF
	if m.StatusCode != wire.DoneTrackEnded && m.StatusCode != wire.DoneSubscriptionEnded {
		err = &PublishDoneError{Code: m.StatusCode, Reason: m.Reason}
	}
	t.mu.Lock()
	t.gotDone, t.doneCount, t.doneErr = true, m.StreamCount, err
	t.mu.Unlock()
	t.maybeEnd()
	// Streams counted in PUBLISH_DONE may still be on their way; do not
	// wait for them forever.
	time.AfterFunc(2*time.Second, func() { t.finish(err) })
}

// PublishDoneError is a PUBLISH_DONE other than TRACK_ENDED or
// SUBSCRIPTION_ENDED.
type PublishDoneError struct {
	Code   wire.PublishDoneCode
	Reason string
}

func (e *PublishDoneError) Error() string {
	return fmt.Sprintf("moq publish done: code 0x%x: %s", uint64(e.Code), e.Reason)
}

// maybeEnd ends the track once PUBLISH_DONE arrived and every stream it
// counts has been read.
func (t *RemoteTrack) maybeEnd() {
	t.mu.Lock()
	done := t.gotDone && t.readers == 0 && t.streams >= t.doneCount
	err := t.doneErr
	t.mu.Unlock()
	if done {
		t.finish(err)
	}
}

func (t *RemoteTrack) finish(err error) {
	t.closedOnce.Do(func() {
		t.mu.Lock()
		if t.doneErr == nil {
			t.doneErr = err
		}
		t.mu.Unlock()
		close(t.end)
		s := t.s
		s.mu.Lock()
		if s.remote[t.id] == t {
			delete(s.remote, t.id)
		}
		if s.aliases[t.alias] == t {
			delete(s.aliases, t.alias)
		}
		s.mu.Unlock()
		s.poke()
	})
}

// ReadObject returns the next object in arrival order (after a Join
// subscription's fetched objects). After PUBLISH_DONE it drains what
// arrived and then returns io.EOF (track or range ended) or a
// *PublishDoneError. It is not safe for concurrent use.
func (t *RemoteTrack) ReadObject(ctx context.Context) (Object, error) {
	if t.joinPending {
		if err := t.startJoin(ctx); err != nil {
			return Object{}, err
		}
	}
	if t.join != nil {
		if o, ok := t.readJoin(ctx); ok {
			return o, nil
		}
		if ctx.Err() != nil {
			return Object{}, ctx.Err()
		}
	}
	for {
		var o Object
		var err error
		if t.held != nil {
			o, t.held = *t.held, nil
		} else {
			o, err = t.readSubscribed(ctx)
		}
		if err != nil || t.joinedTo == nil || t.joinedTo.Less(Location{Group: o.Group, Object: o.ID}) {
			return o, err
		}
		// The fetch delivered it: a publisher that starts Largest Object
		// subscriptions at the group's start sends it twice.
	}
}

// readJoin returns the next object of the joining FETCH; once it has none
// (its end, its failure, or joinWait without an object) it is dropped.
func (t *RemoteTrack) readJoin(ctx context.Context) (Object, bool) {
	jctx, cancel := context.WithTimeout(ctx, joinWait)
	defer cancel()
	o, err := t.join.ReadObject(jctx)
	if err == nil {
		if o.Status == wire.StatusNormal || len(o.Payload) > 0 {
			t.joinedTo = t.Largest
		}
		return o, true
	}
	if !errors.Is(err, io.EOF) {
		t.s.log.Debug("joining fetch ended early", "track", t.Name, "err", err)
		if ctx.Err() == nil {
			_ = t.join.Cancel()
		}
	}
	t.join = nil
	return Object{}, false
}

func (t *RemoteTrack) readSubscribed(ctx context.Context) (Object, error) {
	select {
	case o := <-t.objects:
		return o, nil
	default:
	}
	select {
	case o := <-t.objects:
		return o, nil
	case <-t.end:
	case <-t.s.ctx.Done():
	case <-ctx.Done():
		return Object{}, ctx.Err()
	}
	// Ended: what arrived first, then why it ended. The track's own end
	// wins over the session's (a client closes itself after GOAWAY once
	// its subscriptions are done).
	select {
	case o := <-t.objects:
		return o, nil
	default:
	}
	select {
	case <-t.end:
		t.mu.Lock()
		defer t.mu.Unlock()
		return Object{}, t.doneErr
	default:
		return Object{}, context.Cause(t.s.ctx)
	}
}

// Close unsubscribes.
func (t *RemoteTrack) Close() error {
	s := t.s
	s.mu.Lock()
	_, live := s.remote[t.id]
	delete(s.remote, t.id)
	if s.aliases[t.alias] == t {
		delete(s.aliases, t.alias)
	}
	s.mu.Unlock()
	t.finish(io.EOF)
	if !live {
		return nil
	}
	select {
	case <-s.ctx.Done():
		return nil // the session has ended: nothing to unsubscribe from
	default:
		return s.writeControl(&wire.Unsubscribe{RequestID: t.id})
	}
}

func (t *RemoteTrack) push(o Object) {
	select {
	case t.objects <- o:
	case <-t.end:
	case <-t.s.ctx.Done():
	}
}

// TrackStatus asks the peer for a track's status and returns its largest
// location (nil when it has no content yet).
func (s *Session) TrackStatus(ctx context.Context, ns Namespace, name string) (*Location, error) {
	id, p, err := s.sendRequest(wire.KindTrackStatus, func(id uint64) wire.Message {
		return &wire.TrackStatus{
			RequestID: id, Namespace: wire.Namespace(ns), TrackName: name,
			SubscriberPriority: 128, Forward: true, Filter: wire.Filter{Type: wire.FilterLargestObject},
		}
	})
	if err != nil {
		return nil, err
	}
	resp, err := s.await(ctx, id, p)
	if err != nil {
		return nil, fmt.Errorf("track status %s/%s: %w", ns, name, err)
	}
	ok, isOK := resp.(*wire.RequestOK)
	if !isOK {
		return nil, sessionErrorf(wire.SessionProtocolViolation, "%T answers TRACK_STATUS", resp)
	}
	if ok.Largest == nil {
		return nil, nil
	}
	return &Location{Group: ok.Largest.Group, Object: ok.Largest.Object}, nil
}

// Announced returns the namespaces the peer has announced and not withdrawn.
func (s *Session) Announced() []Namespace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Namespace(nil), s.peerAnn...)
}

// WaitAnnounced waits until the peer announces ns (or a prefix of it).
func (s *Session) WaitAnnounced(ctx context.Context, ns Namespace) error {
	for {
		for _, a := range s.Announced() {
			if ns.HasPrefix(a) {
				return nil
			}
		}
		select {
		case <-s.peerAnnSig:
		case <-ctx.Done():
			return fmt.Errorf("namespace %s not announced: %w", ns, ctx.Err())
		case <-s.ctx.Done():
			return context.Cause(s.ctx)
		}
	}
}

// acceptUniStreams reads subgroup and fetch streams from the peer.
func (s *Session) acceptUniStreams() {
	for {
		st, err := s.c.AcceptUniStream(s.ctx)
		if err != nil {
			return
		}
		s.goSafe(func() { s.readUniStream(st) })
	}
}

func (s *Session) readUniStream(st receiveStream) {
	br := bufio.NewReaderSize(st, 16<<10)
	typ, err := wire.ReadStreamType(br, s.version)
	if err != nil {
		return
	}
	switch {
	case s.version.RequestStreams() && typ == wire.StreamTypePadding:
		st.CancelRead(uint64(wire.ResetCancelled)) // padding (draft-18 §11.5): discarded
	case wire.IsSubgroupType(typ, s.version):
		s.readSubgroup(st, br, typ)
	case typ == wire.StreamTypeFetchHeader:
		s.readFetchStream(st, br)
	default:
		s.fail(sessionErrorf(wire.SessionProtocolViolation, "unknown stream type 0x%x", typ))
	}
}

// aliasWait bounds how long a subgroup stream waits for the SUBSCRIBE_OK
// that names its alias (data may overtake the control stream, draft-14
// §9.8).
const aliasWait = 2 * time.Second

func (s *Session) trackByAlias(alias uint64) *RemoteTrack {
	var t *RemoteTrack
	s.awaitRegistered(func() bool {
		t = s.aliases[alias]
		return t != nil
	})
	return t
}

// awaitRegistered waits up to aliasWait until found, called under s.mu, reports
// true; it re-checks whenever the session registers a subscription or
// fetch (see registeredLocked).
func (s *Session) awaitRegistered(found func() bool) {
	timer := time.NewTimer(aliasWait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ok := found()
		ch := s.registered
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// registeredLocked wakes the stream readers waiting in awaitRegistered.
func (s *Session) registeredLocked() {
	close(s.registered)
	s.registered = make(chan struct{})
}

func (s *Session) readSubgroup(st receiveStream, br *bufio.Reader, typ uint64) {
	h, err := wire.ReadSubgroupHeader(br, s.version, typ)
	if err != nil {
		s.fail(fmt.Errorf("subgroup header: %w", err))
		return
	}
	t := s.trackByAlias(h.TrackAlias)
	if t == nil {
		st.CancelRead(uint64(wire.ResetCancelled))
		return
	}
	t.mu.Lock()
	t.readers++
	t.streams++
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.readers--
		t.mu.Unlock()
		t.maybeEnd()
	}()
	sg := wire.SubgroupStream{Version: s.version, Header: h}
	var last uint64
	for {
		oh, err := sg.ReadObjectHeader(br)
		if err != nil {
			if errors.Is(err, io.EOF) && h.EndOfGroup {
				// A FIN on an END_OF_GROUP stream ends the group
				// (draft-14 §10.4.2): tell the reader, which may be
				// reassembling groups that travel on parallel streams.
				t.push(Object{Group: h.GroupID, Subgroup: sg.Header.SubgroupID, ID: last + 1, Status: wire.StatusEndOfGroup})
			}
			if !errors.Is(err, io.EOF) && s.ctx.Err() == nil {
				if wire.SessionCode(err) == wire.SessionProtocolViolation || wire.SessionCode(err) == wire.SessionKeyValueFormattingError {
					s.fail(fmt.Errorf("subgroup stream: %w", err))
				}
			}
			return
		}
		o := Object{Group: h.GroupID, Subgroup: sg.Header.SubgroupID, ID: oh.ObjectID, Status: oh.Status}
		if len(oh.Extensions) > 0 {
			o.Extensions = append([]byte(nil), oh.Extensions...)
		}
		if oh.PayloadLength > 0 {
			o.Payload = make([]byte, oh.PayloadLength)
			if _, err := io.ReadFull(br, o.Payload); err != nil {
				return
			}
		}
		s.counters.objectsRecvd.Add(1)
		last = oh.ObjectID
		t.push(o)
	}
}

// readDatagrams receives OBJECT_DATAGRAMs for our subscriptions.
func (s *Session) readDatagrams() {
	for {
		b, err := s.c.ReceiveDatagram(s.ctx)
		if err != nil {
			return
		}
		if s.version.RequestStreams() && wire.IsPaddingDatagram(b) {
			continue // draft-18 §11.5: discarded
		}
		var d wire.Datagram
		if perr := d.Parse(b, s.version); perr != nil {
			s.fail(fmt.Errorf("datagram: %w", perr))
			return
		}
		s.counters.objectsRecvd.Add(1)
		s.mu.Lock()
		t := s.aliases[d.TrackAlias]
		s.mu.Unlock()
		if t == nil {
			continue // late or unknown: datagrams are unreliable anyway
		}
		t.push(Object{Group: d.GroupID, ID: d.ObjectID, Status: d.Status, Extensions: d.Extensions, Payload: d.Payload, Datagram: true})
	}
}
