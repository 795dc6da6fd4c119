package moq

import (
	"fmt"
	"sync"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// requestIDs enforces the draft-14 §9.1 request ID rules on what the peer
// sends and allocates ours: client IDs are even, server IDs odd, each new
// ID is the previous + 2, and an ID at or above the advertised maximum is
// TOO_MANY_REQUESTS.
type requestIDs struct {
	mu sync.Mutex

	// ours
	next    uint64 // next ID we use
	peerMax uint64 // the peer's limit: our IDs must stay below it
	sent    int    // requests we sent (moq-rs peers allow 50)

	blockedAt uint64        // peerMax we last sent REQUESTS_BLOCKED for
	raised    chan struct{} // signalled when peerMax grows

	// theirs
	expect   uint64 // next ID the peer must use
	localMax uint64 // our limit for the peer
}

func newRequestIDs(isClient bool, localMax uint64) *requestIDs {
	r := &requestIDs{localMax: localMax, raised: make(chan struct{}, 1), blockedAt: ^uint64(0)}
	if isClient {
		r.next, r.expect = 0, 1
	} else {
		r.next, r.expect = 1, 0
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

// setPeerMax applies the peer's MAX_REQUEST_ID (setup parameter or
// message), which may only grow (draft-14 §9.5).
func (r *requestIDs) setPeerMax(m uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m < r.peerMax {
		return sessionErrorf(wire.SessionProtocolViolation, "MAX_REQUEST_ID decreased from %d to %d", r.peerMax, m)
	}
	if m > r.peerMax {
		r.peerMax = m
		select {
		case r.raised <- struct{}{}:
		default:
		}
	}
	return nil
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

// accept checks a request ID the peer sent.
func (r *requestIDs) accept(id uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id != r.expect {
		return sessionErrorf(wire.SessionInvalidRequestID, "request ID %d, expected %d", id, r.expect)
	}
	if id >= r.localMax {
		return sessionErrorf(wire.SessionTooManyRequests, "request ID %d at or above the maximum %d", id, r.localMax)
	}
	r.expect += 2
	return nil
}

// grow raises our limit for the peer when it has used half of it, and
// returns the new limit (0 when unchanged).
func (r *requestIDs) grow(window uint64) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.localMax-r.expect > window/2 {
		return 0
	}
	r.localMax = r.expect + window
	return r.localMax
}
