package moq

import (
	"errors"
	"fmt"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// SessionError is how a session ended: the MoQT termination code (draft-14
// §13.1.1), the reason phrase, and whether the peer decided it.
type SessionError struct {
	Code   wire.SessionErrorCode
	Reason string
	Remote bool
}

func (e *SessionError) Error() string {
	side := "local"
	if e.Remote {
		side = "remote"
	}
	return fmt.Sprintf("moq session closed (%s): code 0x%x: %s", side, uint64(e.Code), e.Reason)
}

// Is matches SessionErrors by code, so callers can test
// errors.Is(err, moq.ErrVersionNegotiation).
func (e *SessionError) Is(target error) bool {
	t, ok := target.(*SessionError)
	return ok && t.Code == e.Code
}

// Session errors to test with errors.Is.
var (
	ErrVersionNegotiation = &SessionError{Code: wire.SessionVersionNegotiationFailed}
	ErrProtocolViolation  = &SessionError{Code: wire.SessionProtocolViolation}
	ErrUnauthorized       = &SessionError{Code: wire.SessionUnauthorized}
	ErrGoingAway          = errors.New("moq: session is going away")
)

func sessionErrorf(code wire.SessionErrorCode, format string, args ...any) *SessionError {
	return &SessionError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// RequestError is the peer's refusal of one request (SUBSCRIBE_ERROR,
// FETCH_ERROR, TRACK_STATUS_ERROR, PUBLISH_NAMESPACE_ERROR, REQUEST_ERROR).
type RequestError struct {
	Code   wire.RequestErrorCode
	Reason string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("moq request refused: code 0x%x: %s", uint64(e.Code), e.Reason)
}

// Is matches RequestErrors by code.
func (e *RequestError) Is(target error) bool {
	t, ok := target.(*RequestError)
	return ok && t.Code == e.Code
}

// ErrTrackDoesNotExist is the refusal of a request for an unknown track or
// namespace (TRACK_DOES_NOT_EXIST in draft-14, DOES_NOT_EXIST in draft-16).
var ErrTrackDoesNotExist = &RequestError{Code: wire.RequestDoesNotExist}
