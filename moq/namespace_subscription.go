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

// NamespaceEvent is a change in the namespaces a peer publishes under a
// subscribed prefix.
type NamespaceEvent struct {
	Namespace Namespace
	// Active is true when the namespace is published (PUBLISH_NAMESPACE,
	// NAMESPACE) and false when it is withdrawn (PUBLISH_NAMESPACE_DONE,
	// NAMESPACE_DONE).
	Active bool
}

// maxNamespaceEvents bounds the events a NamespaceSubscription holds for a
// reader that does not call Next: past it the subscription ends.
const maxNamespaceEvents = 4096

// ErrNamespaceEventsOverflow ends a NamespaceSubscription whose reader fell
// maxNamespaceEvents events behind.
var ErrNamespaceEventsOverflow = errors.New("moq: namespace subscription: too many unread events")

// NamespaceSubscription is a SUBSCRIBE_NAMESPACE this session made: the
// peer's namespaces under Prefix as they come and go.
type NamespaceSubscription struct {
	s      *Session
	id     uint64
	Prefix Namespace
	st     stream // draft-16: the request's own stream

	mu     sync.Mutex
	events []NamespaceEvent
	active map[string]bool // draft-16: suffixes announced, by key
	err    error
	sig    chan struct{}
	once   sync.Once
	// closeOnce makes Close send its message once.
	closeOnce sync.Once
}

// SubscribeNamespace asks the peer for its namespaces under prefix
// (SUBSCRIBE_NAMESPACE, draft-14 §9.28, draft-16 §9.25) and waits for the
// answer. Draft-14 peers answer on the control stream and then announce
// the matching namespaces with PUBLISH_NAMESPACE; those the peer had
// already announced on this session come first. Draft-16 peers answer on a
// stream of its own that carries NAMESPACE and NAMESPACE_DONE. A refusal is
// a *RequestError.
func (s *Session) SubscribeNamespace(ctx context.Context, prefix Namespace) (*NamespaceSubscription, error) {
	n := &NamespaceSubscription{s: s, Prefix: append(Namespace(nil), prefix...), sig: make(chan struct{}, 1), active: make(map[string]bool)}
	if s.version != wire.Draft14 {
		if err := n.open16(ctx); err != nil {
			return nil, fmt.Errorf("subscribe namespace %s: %w", prefix, err)
		}
		return n, nil
	}
	id, p, err := s.sendRequest(wire.KindSubscribeNamespace, func(id uint64) wire.Message {
		n.id = id
		// Register and replay under one lock, so an announcement arriving
		// meanwhile is neither lost nor seen twice.
		s.mu.Lock()
		for _, a := range s.peerAnn {
			if a.HasPrefix(prefix) {
				n.events = append(n.events, NamespaceEvent{Namespace: a, Active: true})
			}
		}
		s.nsSubs[n] = struct{}{}
		s.mu.Unlock()
		return &wire.SubscribeNamespace{RequestID: id, Prefix: wire.Namespace(prefix), Forward: true}
	})
	if err != nil {
		n.end(err)
		return nil, err
	}
	if _, err := s.await(ctx, id, p); err != nil {
		n.end(err)
		return nil, fmt.Errorf("subscribe namespace %s: %w", prefix, err)
	}
	return n, nil
}

// open16 sends the request on its own stream and reads the answer.
func (n *NamespaceSubscription) open16(ctx context.Context) error {
	s := n.s
	id, _, err := s.newRequest(wire.KindSubscribeNamespace)
	if err != nil {
		return err
	}
	s.dropRequest(id) // the answer comes on the stream
	n.id = id
	st, err := s.c.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	n.st = st
	b, err := wire.AppendControl(nil, s.version, &wire.SubscribeNamespace{
		RequestID: id, Prefix: wire.Namespace(n.Prefix), Options: wire.NamespaceOptionsNamespace, Forward: true,
	})
	if err != nil {
		return err
	}
	if _, err := st.Write(b); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { st.CancelRead(uint64(wire.ResetCancelled)) })
	br := bufio.NewReader(st)
	m, err := wire.ReadControl(br, s.version)
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		st.CancelWrite(uint64(wire.ResetCancelled))
		st.CancelRead(uint64(wire.ResetCancelled))
		return err
	}
	switch m := m.(type) {
	case *wire.RequestOK:
	case *wire.RequestError:
		st.CancelWrite(uint64(wire.ResetCancelled))
		st.CancelRead(uint64(wire.ResetCancelled))
		return &RequestError{Code: m.Code, Reason: m.Reason}
	default:
		s.fail(sessionErrorf(wire.SessionProtocolViolation, "%T answers SUBSCRIBE_NAMESPACE", m))
		return context.Cause(s.ctx)
	}
	s.mu.Lock()
	s.nsSubs[n] = struct{}{}
	s.mu.Unlock()
	s.goSafe(func() { n.read16(br) })
	return nil
}

// read16 reads NAMESPACE and NAMESPACE_DONE until the stream ends.
func (n *NamespaceSubscription) read16(br *bufio.Reader) {
	s := n.s
	for {
		m, err := wire.ReadControl(br, s.version)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.EOF
			}
			if s.ctx.Err() != nil {
				err = context.Cause(s.ctx)
			}
			n.end(err)
			return
		}
		var ev NamespaceEvent
		switch m := m.(type) {
		case *wire.NamespaceMessage:
			ev = NamespaceEvent{Namespace: append(append(Namespace(nil), n.Prefix...), m.Suffix...), Active: true}
		case *wire.NamespaceDone:
			ev = NamespaceEvent{Namespace: append(append(Namespace(nil), n.Prefix...), m.Suffix...)}
		default:
			s.fail(sessionErrorf(wire.SessionProtocolViolation, "%T on a SUBSCRIBE_NAMESPACE stream", m))
			n.end(context.Cause(s.ctx))
			return
		}
		key := ev.Namespace[len(n.Prefix):].key()
		n.mu.Lock()
		known := n.active[key]
		if ev.Active {
			n.active[key] = true
		} else {
			delete(n.active, key)
		}
		n.mu.Unlock()
		if !ev.Active && !known {
			// draft-16 §9.25: NAMESPACE_DONE before its NAMESPACE.
			s.fail(sessionErrorf(wire.SessionProtocolViolation, "NAMESPACE_DONE for %s, which was never announced", ev.Namespace))
			n.end(context.Cause(s.ctx))
			return
		}
		n.push(ev)
	}
}

// onPeerNamespace hands a draft-14 announcement (or its withdrawal) to the
// namespace subscriptions it matches.
func (s *Session) onPeerNamespace(ns Namespace, active bool) {
	s.mu.Lock()
	var subs []*NamespaceSubscription
	for n := range s.nsSubs {
		if n.st == nil && ns.HasPrefix(n.Prefix) {
			subs = append(subs, n)
		}
	}
	s.mu.Unlock()
	for _, n := range subs {
		n.push(NamespaceEvent{Namespace: ns, Active: active})
	}
}

func (n *NamespaceSubscription) push(ev NamespaceEvent) {
	n.mu.Lock()
	if n.err != nil {
		n.mu.Unlock()
		return
	}
	if len(n.events) >= maxNamespaceEvents {
		n.mu.Unlock()
		n.end(ErrNamespaceEventsOverflow)
		return
	}
	n.events = append(n.events, ev)
	n.mu.Unlock()
	select {
	case n.sig <- struct{}{}:
	default:
	}
}

// end stops the subscription with err (what Next returns once the queued
// events are read).
func (n *NamespaceSubscription) end(err error) {
	n.once.Do(func() {
		n.mu.Lock()
		n.err = err
		n.mu.Unlock()
		n.s.mu.Lock()
		delete(n.s.nsSubs, n)
		n.s.mu.Unlock()
		select {
		case n.sig <- struct{}{}:
		default:
		}
	})
}

// Next returns the next event. It returns io.EOF after Close or when the
// peer ended the subscription, and the session's error when it ended.
func (n *NamespaceSubscription) Next(ctx context.Context) (NamespaceEvent, error) {
	for {
		n.mu.Lock()
		if len(n.events) > 0 {
			ev := n.events[0]
			n.events = n.events[1:]
			n.mu.Unlock()
			return ev, nil
		}
		err := n.err
		n.mu.Unlock()
		if err != nil {
			return NamespaceEvent{}, err
		}
		select {
		case <-n.sig:
		case <-ctx.Done():
			return NamespaceEvent{}, ctx.Err()
		case <-n.s.ctx.Done():
			n.end(context.Cause(n.s.ctx))
		}
	}
}

// Close ends the subscription: UNSUBSCRIBE_NAMESPACE in draft-14, closing
// the request's stream in draft-16.
func (n *NamespaceSubscription) Close() error {
	first := false
	n.closeOnce.Do(func() { first = true })
	n.end(io.EOF)
	select {
	case <-n.s.ctx.Done():
		return nil // nothing to unsubscribe from
	default:
	}
	if !first {
		return nil
	}
	if n.st != nil {
		err := n.st.Close()
		n.st.CancelRead(uint64(wire.ResetCancelled))
		return err
	}
	return n.s.writeControl(&wire.UnsubscribeNamespace{Prefix: wire.Namespace(n.Prefix)})
}
