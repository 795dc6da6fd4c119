package moq

import (
	"fmt"
	"sync"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// maxReorderedRequests bounds the request IDs a draft-16 peer may skip and
// use later. Draft-16 carries SUBSCRIBE_NAMESPACE on its own bidirectional
// stream (§9.25), so a request sent there and one sent next on the control
// stream can arrive in either order although the peer numbered them in
// sequence.
const maxReorderedRequests = 16

// requestIDs enforces the request ID rules (draft-14 §9.1, draft-16 §9.1) on
// what the peer sends and allocates ours: client IDs are even, server IDs
// odd, each new ID is the previous + 2 (INVALID_REQUEST_ID otherwise), and
// an ID at or above the maximum we advertised is TOO_MANY_REQUESTS.
type requestIDs struct {
	mu sync.Mutex

	// ours
	next    uint64 // next ID we use
	peerMax uint64 // the peer's limit: our IDs must stay below it
	sent    int    // requests we sent (moq-rs peers allow 50)

	blockedAt uint64        // peerMax we last sent REQUESTS_BLOCKED for
	raised    chan struct{} // signalled when peerMax grows

	// theirs
	parity   uint64 // the peer's IDs modulo 2
	expect   uint64 // next ID the peer must use
	localMax uint64 // our limit for the peer
	// noLimit stops enforcing localMax: a moq-rs draft-14 peer cannot be
	// sent MAX_REQUEST_ID, so the limit could never grow.
	noLimit bool
	// reorder allows draft-16 peers to skip IDs and use them later
	// (maxReorderedRequests); skipped holds those not yet used.
	reorder bool
	skipped map[uint64]struct{}
	// maxSkipped bounds skipped (maxReorderedRequests unless raised).
	maxSkipped int
}

func newRequestIDs(isClient bool, localMax uint64) *requestIDs {
	r := &requestIDs{localMax: localMax, raised: make(chan struct{}, 1), blockedAt: ^uint64(0)}
	if isClient {
		r.next, r.expect, r.parity = 0, 1, 1
	} else {
		r.next, r.expect, r.parity = 1, 0, 0
	}
	return r
}

// requestsBlockedError reports that the peer's MAX_REQUEST_ID leaves us no ID.
type requestsBlockedError struct{ max uint64 }

func (e requestsBlockedError) Error() string {
	return fmt.Sprintf("moq: peer allows request IDs below %d only", e.max)
}

// allocate returns our next request ID, or requestsBlockedError.
func (r *requestIDs) allocate(limit int) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next >= r.peerMax || (limit > 0 && r.sent >= limit) {
		return 0, requestsBlockedError{max: r.peerMax}
	}
	id := r.next
	r.next += 2
	r.sent++
	return id, nil
}

// setPeerMax applies the peer's MAX_REQUEST_ID setup parameter.
func (r *requestIDs) setPeerMax(m uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.raiseLocked(m)
}

// onMaxRequestID applies a MAX_REQUEST_ID message, whose value must grow
// (draft-14 §9.5, draft-16 §9.5: an equal or smaller one is a
// PROTOCOL_VIOLATION).
func (r *requestIDs) onMaxRequestID(m uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m <= r.peerMax {
		return sessionErrorf(wire.SessionProtocolViolation, "MAX_REQUEST_ID %d does not exceed %d", m, r.peerMax)
	}
	r.raiseLocked(m)
	return nil
}

func (r *requestIDs) raiseLocked(m uint64) {
	if m > r.peerMax {
		r.peerMax = m
		select {
		case r.raised <- struct{}{}:
		default:
		}
	}
}

// markBlocked records that we are blocked at max and reports whether this
// is news (REQUESTS_BLOCKED is sent once per limit).
func (r *requestIDs) markBlocked(max uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.blockedAt == max {
		return false
	}
	r.blockedAt = max
	return true
}

// accept checks a request ID the peer sent: parity, the limit, then the
// sequence.
func (r *requestIDs) accept(id uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id%2 != r.parity {
		return sessionErrorf(wire.SessionInvalidRequestID, "request ID %d has the other endpoint's parity", id)
	}
	if id >= r.localMax && !r.noLimit {
		return sessionErrorf(wire.SessionTooManyRequests, "request ID %d at or above the maximum %d", id, r.localMax)
	}
	switch {
	case id == r.expect:
		r.expect += 2
	case id > r.expect && r.reorder && (id-r.expect)/2 <= uint64(r.maxSkipped-len(r.skipped)):
		if r.skipped == nil {
			r.skipped = make(map[uint64]struct{})
		}
		for s := r.expect; s < id; s += 2 {
			r.skipped[s] = struct{}{}
		}
		r.expect = id + 2
	default:
		if _, ok := r.skipped[id]; ok && id < r.expect {
			delete(r.skipped, id)
			return nil
		}
		return sessionErrorf(wire.SessionInvalidRequestID, "request ID %d, expected %d", id, r.expect)
	}
	return nil
}

// used reports whether the peer has used request ID id.
func (r *requestIDs) used(id uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id%2 != r.parity || id >= r.expect {
		return false
	}
	_, skipped := r.skipped[id]
	return !skipped
}

// unlimited stops enforcing our limit on the peer (see noLimit).
func (r *requestIDs) unlimited() {
	r.mu.Lock()
	r.noLimit = true
	r.mu.Unlock()
}

// allowReorder lets the peer use up to max skipped IDs later: draft-16's
// namespace streams, and draft-18's one stream per request, which the
// peer's QUIC stack may deliver in any order.
func (r *requestIDs) allowReorder(max int) {
	r.mu.Lock()
	r.reorder, r.maxSkipped = true, max
	r.mu.Unlock()
}

// peerNext is the smallest Request ID of the peer's not processed yet: a
// skipped one still on its way, or the next.
func (r *requestIDs) peerNext() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := r.expect
	for id := range r.skipped {
		next = min(next, id)
	}
	return next
}

// advertised is the limit we announce in SETUP.
func (r *requestIDs) advertised() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.localMax
}

// grow raises our limit for the peer when it has used half of it, and
// returns the new limit (0 when unchanged).
func (r *requestIDs) grow(window uint64) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.noLimit || r.localMax-min(r.expect, r.localMax) > window/2 {
		return 0
	}
	r.localMax = r.expect + window
	return r.localMax
}
