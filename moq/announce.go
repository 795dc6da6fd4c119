package moq

import (
	"bufio"
	"errors"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// announcement is one PUBLISH_NAMESPACE we sent.
type announcement struct {
	b      *Broadcast
	wireNS Namespace // as announced (with the session's prefix)
	id     uint64
	acked  bool
}

// wireNamespace is what this peer is told a broadcast's namespace is.
func (s *Session) wireNamespace(ns Namespace) Namespace {
	if len(s.cfg.NamespacePrefix) == 0 {
		return ns
	}
	return append(append(Namespace(nil), s.cfg.NamespacePrefix...), ns...)
}

// visible reports whether this peer may see b (SessionConfig.AnnounceFilter).
func (s *Session) visible(b *Broadcast) bool {
	return (s.cfg.AnnounceFilter == nil || s.cfg.AnnounceFilter(b)) && s.mayRead(b.Namespace(), nil) == nil
}

// wantsAnnounce reports whether b is announced to this peer with
// PUBLISH_NAMESPACE: every visible broadcast, or with NoAnnounce those under
// a prefix the peer asked for with a draft-14 SUBSCRIBE_NAMESPACE.
func (s *Session) wantsAnnounce(b *Broadcast) bool {
	if !s.visible(b) {
		return false
	}
	if !s.cfg.NoAnnounce {
		return true
	}
	ns := s.wireNamespace(b.Namespace())
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.nsPrefixes {
		if !p.stream && ns.HasPrefix(p.prefix) {
			return true
		}
	}
	return false
}

// announceLoop sends PUBLISH_NAMESPACE for every live broadcast the peer
// wants (wantsAnnounce) and each new one, and PUBLISH_NAMESPACE_DONE when one
// ends (draft-14 §9.23, §9.26): subscribers built on common libraries wait
// for the announcement before they subscribe.
func (s *Session) announceLoop() {
	w := s.origin.watch()
	defer s.origin.unwatch(w)
	var (
		live    []*Broadcast // in the order they started
		queued  = make(map[*Broadcast]bool)
		pending []*Broadcast // to announce, in order
	)
	for {
		for _, ev := range w.take() {
			if ev.live {
				live = append(live, ev.b)
			} else {
				live = removeBroadcast(live, ev.b)
				pending = removeBroadcast(pending, ev.b)
				delete(queued, ev.b)
				s.unannounce(ev.b)
			}
		}
		for _, b := range live {
			if !queued[b] && s.wantsAnnounce(b) {
				queued[b] = true
				pending = append(pending, b)
			}
		}
		// Announce in order; stop at the first that finds no request ID and
		// retry when the peer raises MAX_REQUEST_ID.
		for len(pending) > 0 {
			if err := s.announce(pending[0]); err != nil {
				var rb requestsBlockedError
				if !errors.As(err, &rb) {
					s.fail(err)
					return
				}
				s.sendRequestsBlocked(rb.max)
				break
			}
			pending = pending[1:]
		}
		select {
		case <-w.signal:
		case <-s.ids.raised:
		case <-s.nsSig:
		case <-s.ctx.Done():
			return
		}
	}
}

func removeBroadcast(bs []*Broadcast, b *Broadcast) []*Broadcast {
	out := bs[:0]
	for _, x := range bs {
		if x != b {
			out = append(out, x)
		}
	}
	return out
}

// sendRequestsBlocked tells the peer we are out of request IDs, once per
// limit, unless it is a moq-rs draft-14 peer (which closes the session on
// REQUESTS_BLOCKED).
func (s *Session) sendRequestsBlocked(max uint64) {
	if !s.ids.markBlocked(max) {
		return
	}
	if s.moqRS {
		s.log.Warn("moq-rs peer: this session has used its requests; namespaces wait for another session",
			"limit", moqRSMaxRequests)
		return
	}
	s.log.Debug("out of request IDs", "peer_max", max)
	if err := s.writeControl(&wire.RequestsBlocked{MaximumRequestID: max}); err != nil {
		s.fail(err)
	}
}

func (s *Session) requestLimit() int {
	if s.moqRS {
		return moqRSMaxRequests
	}
	return 0
}

func (s *Session) announce(b *Broadcast) error {
	select {
	case <-b.Done():
		return nil
	default:
	}
	s.mu.Lock()
	goingAway := s.goingAway
	s.mu.Unlock()
	if goingAway {
		return nil // no new requests after GOAWAY (draft-14 §9.4)
	}
	wireNS := s.wireNamespace(b.Namespace())
	if !encodable(wireNS) {
		// A namespace MoQT cannot carry (a relay prefix made it too long)
		// is skipped; failing would take every other stream down too.
		s.log.Warn("namespace too long for MoQT: not announced", "namespace", wireNS.String(), "fields", len(wireNS))
		return nil
	}
	id, err := s.ids.allocate(s.requestLimit())
	if err != nil {
		return err
	}
	a := &announcement{b: b, wireNS: wireNS, id: id}
	s.mu.Lock()
	s.announces[b.Namespace().key()] = a
	s.announceIDs[id] = a
	s.stats.AnnouncesSent++
	s.mu.Unlock()
	m := &wire.PublishNamespace{RequestID: id, Namespace: wire.Namespace(a.wireNS)}
	if len(s.cfg.AuthorizationToken) > 0 {
		m.Params.AuthorizationTokens = [][]byte{tokenValue(s.cfg.AuthorizationToken)}
	}
	s.log.Debug("announcing", "namespace", a.wireNS.String(), "request", id)
	return s.writeControl(m)
}

func (s *Session) unannounce(b *Broadcast) {
	s.mu.Lock()
	a := s.announces[b.Namespace().key()]
	if a != nil {
		delete(s.announces, b.Namespace().key())
		delete(s.announceIDs, a.id)
	}
	s.mu.Unlock()
	if a == nil {
		return
	}
	done := &wire.PublishNamespaceDone{RequestID: a.id, Namespace: wire.Namespace(a.wireNS), NamespaceForm: s.legacy16.Load()}
	if err := s.writeControl(done); err != nil {
		s.fail(err)
	}
}

// onAnnounceResponse handles the answer to one of our PUBLISH_NAMESPACEs.
// It reports whether id was one.
func (s *Session) onAnnounceResponse(id uint64, refusal *wire.RequestError) bool {
	s.mu.Lock()
	a := s.announceIDs[id]
	if a != nil {
		if refusal == nil {
			a.acked = true
			s.stats.AnnouncesAcked++
		} else {
			delete(s.announceIDs, id)
			delete(s.announces, a.b.Namespace().key())
		}
	}
	s.mu.Unlock()
	if a == nil {
		return false
	}
	if refusal != nil {
		s.log.Warn("peer refused our namespace", "namespace", a.wireNS.String(),
			"code", uint64(refusal.Code), "reason", refusal.Reason)
		s.recordRefusal(&RequestError{Code: refusal.Code, Reason: refusal.Reason})
	}
	return true
}

// onPublishNamespaceCancel drops an announcement the peer no longer wants
// (draft-14 §9.27).
func (s *Session) onPublishNamespaceCancel(m *wire.PublishNamespaceCancel) {
	s.mu.Lock()
	var found *announcement
	for _, a := range s.announces {
		if (s.version != wire.Draft14 && a.id == m.RequestID) ||
			(s.version == wire.Draft14 && a.wireNS.Equal(Namespace(m.Namespace))) {
			found = a
			break
		}
	}
	if found != nil {
		delete(s.announces, found.b.Namespace().key())
		delete(s.announceIDs, found.id)
	}
	s.mu.Unlock()
	if found != nil {
		s.log.Info("peer cancelled our namespace", "namespace", found.wireNS.String(),
			"code", uint64(m.Code), "reason", m.Reason)
	}
}

// nsPrefix is a namespace subscription of the peer.
type nsPrefix struct {
	prefix Namespace
	stream bool // draft-16, on its own stream
}

// onSubscribeNamespace answers SUBSCRIBE_NAMESPACE (draft-14 §9.28,
// draft-16 §9.25). On the control stream (draft-14, and Eyevinn v0.9.0's
// draft-16) the matching broadcasts are announced with PUBLISH_NAMESPACE,
// which every broadcast is anyway unless SessionConfig.NoAnnounce is set.
// On draft-16 the request has its own bidirectional stream st, which
// carries NAMESPACE and NAMESPACE_DONE. A prefix that overlaps one the
// peer already subscribed to is refused with PREFIX_OVERLAP.
func (s *Session) onSubscribeNamespace(m *wire.SubscribeNamespace, st stream) error {
	if m.EmptyPrefix14 && !isMoqLite(s.peerImpl) {
		return sessionErrorf(wire.SessionProtocolViolation, "SUBSCRIBE_NAMESPACE prefix has 0 fields, want 1..32 (draft-14 §9.28)")
	}
	if err := s.acceptRequest(m.RequestID); err != nil {
		return err
	}
	prefix := Namespace(m.Prefix)
	s.mu.Lock()
	overlap := false
	for _, p := range s.nsPrefixes {
		overlap = overlap || prefix.HasPrefix(p.prefix) || p.prefix.HasPrefix(prefix)
	}
	full := len(s.nsPrefixes) >= maxNamespacePrefixes
	if !overlap && !full && st != nil {
		s.nsPrefixes[m.RequestID] = nsPrefix{prefix: prefix, stream: true}
	}
	s.mu.Unlock()
	if full && !overlap {
		if st != nil {
			st.CancelRead(uint64(wire.ResetCancelled))
			st.CancelWrite(uint64(wire.ResetCancelled))
			return nil
		}
		return s.refuseAs(s.answerVersion(m.Draft14Layout), wire.KindSubscribeNamespace, m.RequestID,
			wire.RequestInternalError, "more than %d namespace subscriptions", maxNamespacePrefixes)
	}
	if st == nil {
		v := s.answerVersion(m.Draft14Layout)
		if overlap {
			return s.refuseAs(v, wire.KindSubscribeNamespace, m.RequestID, wire.RequestPrefixOverlap,
				"prefix %s overlaps a namespace subscription", prefix)
		}
		// The answer goes first: PUBLISH_NAMESPACE for the prefix must not
		// reach the peer before it (draft-14 §9.28). Control messages are
		// handled one at a time, so no other prefix arrives in between.
		if err := s.writeControlAs(v, &wire.RequestOK{Kind: wire.KindSubscribeNamespace, RequestID: m.RequestID}); err != nil {
			return err
		}
		s.mu.Lock()
		s.nsPrefixes[m.RequestID] = nsPrefix{prefix: prefix}
		s.mu.Unlock()
		select {
		case s.nsSig <- struct{}{}:
		default:
		}
		return nil
	}
	if overlap {
		b, err := wire.AppendControl(nil, s.version, &wire.RequestError{
			Kind: wire.KindSubscribeNamespace, RequestID: m.RequestID, Code: wire.RequestPrefixOverlap,
			Reason: "prefix overlaps a namespace subscription",
		})
		if err == nil {
			_, _ = st.Write(b)
		}
		st.Close() // "the stream will be immediately closed via FIN"
		st.CancelRead(uint64(wire.ResetCancelled))
		return nil
	}
	s.goSafe(func() { s.serveNamespaceStream(m, st) })
	return nil
}

func (s *Session) onUnsubscribeNamespace(m *wire.UnsubscribeNamespace) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, p := range s.nsPrefixes {
		if !p.stream && p.prefix.Equal(Namespace(m.Prefix)) {
			delete(s.nsPrefixes, id)
		}
	}
}

// serveNamespaceStream runs a draft-16 SUBSCRIBE_NAMESPACE stream: REQUEST_OK,
// then (when the subscriber asked for NAMESPACE messages) NAMESPACE for each
// live broadcast under the prefix and NAMESPACE_DONE when it ends, until the
// subscriber closes the stream.
func (s *Session) serveNamespaceStream(m *wire.SubscribeNamespace, st stream) {
	defer func() {
		st.CancelWrite(uint64(wire.ResetCancelled))
		st.CancelRead(uint64(wire.ResetCancelled))
		s.mu.Lock()
		delete(s.nsPrefixes, m.RequestID)
		s.mu.Unlock()
	}()
	var wbuf []byte
	write := func(msg wire.Message) bool {
		var err error
		wbuf, err = wire.AppendControl(wbuf[:0], s.version, msg)
		if err == nil {
			_, err = st.Write(wbuf)
		}
		return err == nil
	}
	if !write(&wire.RequestOK{Kind: wire.KindSubscribeNamespace, RequestID: m.RequestID}) {
		return
	}
	closed := make(chan struct{})
	s.goSafe(func() {
		// The subscriber ends the subscription by closing its side.
		var b [1]byte
		for {
			if _, err := st.Read(b[:]); err != nil {
				close(closed)
				return
			}
		}
	})
	wantNamespaces := m.Options == wire.NamespaceOptionsNamespace || m.Options == wire.NamespaceOptionsBoth
	prefix := Namespace(m.Prefix)
	w := s.origin.watch()
	defer s.origin.unwatch(w)
	// sent remembers what NAMESPACE went out, so that its NAMESPACE_DONE
	// does too even if the session may no longer see the broadcast.
	sent := map[*Broadcast]bool{}
	for {
		for _, ev := range w.take() {
			if !wantNamespaces || (ev.live && !s.visible(ev.b)) || (!ev.live && !sent[ev.b]) {
				continue
			}
			ns := s.wireNamespace(ev.b.Namespace())
			if !ns.HasPrefix(prefix) {
				continue
			}
			suffix := wire.Namespace(ns[len(prefix):])
			var msg wire.Message = &wire.NamespaceMessage{Suffix: suffix}
			if ev.live {
				sent[ev.b] = true
			} else {
				msg = &wire.NamespaceDone{Suffix: suffix}
				delete(sent, ev.b)
			}
			if !write(msg) {
				return
			}
		}
		select {
		case <-w.signal:
		case <-closed:
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// acceptBidiStreams serves bidirectional streams after the control stream:
// draft-16 SUBSCRIBE_NAMESPACE streams. Draft-14 has no other bidirectional
// stream, so one is refused.
func (s *Session) acceptBidiStreams() {
	for {
		st, err := s.c.AcceptStream(s.ctx)
		if err != nil {
			return
		}
		if s.version.RequestStreams() {
			s.goSafe(func() { s.serveRequest18(st) })
			continue
		}
		if s.version != wire.Draft16 {
			st.CancelRead(uint64(wire.ResetCancelled))
			st.CancelWrite(uint64(wire.ResetCancelled))
			continue
		}
		s.goSafe(func() {
			m, err := wire.ReadControl(bufio.NewReader(st), s.version)
			if err != nil {
				st.CancelRead(uint64(wire.ResetCancelled))
				st.CancelWrite(uint64(wire.ResetCancelled))
				return
			}
			sn, ok := m.(*wire.SubscribeNamespace)
			if !ok {
				s.fail(sessionErrorf(wire.SessionProtocolViolation, "%T on a request stream", m))
				return
			}
			if err := s.onSubscribeNamespace(sn, st); err != nil {
				s.fail(err)
			}
		})
	}
}

// maxPeerAnnouncements bounds the namespaces a peer may announce to us, and
// maxNamespacePrefixes its namespace subscriptions: both are state the peer
// creates at will.
const (
	maxPeerAnnouncements = 4096
	maxNamespacePrefixes = 64
)

// onPeerPublishNamespace records a namespace the peer publishes (a server
// announcing its broadcasts to our subscriber) and accepts it.
func (s *Session) onPeerPublishNamespace(m *wire.PublishNamespace) error {
	if err := s.acceptRequest(m.RequestID); err != nil {
		return err
	}
	if !s.isClient && !s.cfg.AcceptNamespaces {
		// An origin takes no MoQ publishers; recording what a client
		// announces would only cost memory it controls.
		return s.refuse(wire.KindPublishNamespace, m.RequestID, wire.RequestNotSupported,
			"this endpoint does not accept published namespaces")
	}
	ns := Namespace(m.Namespace)
	s.mu.Lock()
	known := false
	for _, a := range s.peerAnn {
		known = known || a.Equal(ns)
	}
	full := !known && len(s.peerAnn) >= maxPeerAnnouncements
	if !known && !full {
		s.peerAnn = append(s.peerAnn, ns)
	}
	if !full {
		s.peerAnnIDs[m.RequestID] = ns
	}
	s.mu.Unlock()
	if full {
		return s.refuse(wire.KindPublishNamespace, m.RequestID, wire.RequestInternalError,
			"more than %d namespaces announced", maxPeerAnnouncements)
	}
	select {
	case s.peerAnnSig <- struct{}{}:
	default:
	}
	s.onPeerNamespace(ns, true)
	return s.writeControl(&wire.RequestOK{Kind: wire.KindPublishNamespace, RequestID: m.RequestID})
}

func (s *Session) onPeerPublishNamespaceDone(m *wire.PublishNamespaceDone) {
	s.mu.Lock()
	ns := Namespace(m.Namespace)
	if s.version != wire.Draft14 && !m.NamespaceForm {
		ns = s.peerAnnIDs[m.RequestID]
	}
	found := false
	out := s.peerAnn[:0]
	for _, a := range s.peerAnn {
		if a.Equal(ns) && !found {
			found = true
			continue
		}
		out = append(out, a)
	}
	s.peerAnn = out
	for id, a := range s.peerAnnIDs {
		if a.Equal(ns) {
			delete(s.peerAnnIDs, id)
		}
	}
	s.mu.Unlock()
	if found {
		s.onPeerNamespace(ns, false)
	}
}

// encodable reports whether a namespace fits the MoQT tuple limits, with
// room for a track name (draft-14 §2.4.1: 1..32 fields, full name ≤ 4096).
func encodable(ns Namespace) bool {
	if len(ns) == 0 || len(ns) > wire.MaxNamespaceFields {
		return false
	}
	n := 0
	for _, f := range ns {
		n += len(f)
	}
	return n+maxTrackNameLen <= wire.MaxFullTrackNameLength
}

// maxTrackNameLen is the room left for track names ("catalog", "video1").
const maxTrackNameLen = 64
