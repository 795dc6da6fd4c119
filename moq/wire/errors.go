package wire

import (
	"errors"
	"io"
)

// ProtocolError is a wire format violation together with the session
// termination code the peer's behaviour calls for. Errors returned by the
// parsers wrap one of the sentinels below (or io.ErrUnexpectedEOF); use
// errors.As to get the code, or SessionCode.
type ProtocolError struct {
	Code   SessionErrorCode
	Reason string
}

// Error returns the reason, prefixed with "moqt: ".
func (e *ProtocolError) Error() string { return "moqt: " + e.Reason }

// Sentinel errors. Each is a *ProtocolError, so errors.Is selects the kind of
// failure and errors.As yields the termination code.
var (
	// ErrProtocolViolation is a field value the draft forbids (a Forward
	// byte of 2, an unknown filter type, a reserved subgroup ID mode, ...).
	ErrProtocolViolation = &ProtocolError{SessionProtocolViolation, "protocol violation"}
	// ErrTrailingBytes is a control message payload longer than its fields
	// (draft-14/16 §9: the length must match the payload).
	ErrTrailingBytes = &ProtocolError{SessionProtocolViolation, "trailing bytes after message fields"}
	// ErrTooLarge is a length beyond a limit of the draft or of this package.
	ErrTooLarge = &ProtocolError{SessionProtocolViolation, "length exceeds limit"}
	// ErrUnknownType is an unknown control message, stream or datagram type;
	// the draft requires closing the session (draft-14/16 §9, §10).
	ErrUnknownType = &ProtocolError{SessionProtocolViolation, "unknown message, stream or datagram type"}
	// ErrKeyValueFormatting is a known parameter or extension whose value
	// does not have the serialization its type defines (§1.4.2).
	ErrKeyValueFormatting = &ProtocolError{SessionKeyValueFormattingError, "key-value pair formatting"}
)

// SessionCode returns the session termination code for an error returned by
// this package: the code of a *ProtocolError, PROTOCOL_VIOLATION for a
// truncated message (the length did not match the payload) and
// INTERNAL_ERROR for anything else, e.g. an I/O error. It returns
// SessionNoError for nil.
func SessionCode(err error) SessionErrorCode {
	if err == nil {
		return SessionNoError
	}
	if pe, ok := errors.AsType[*ProtocolError](err); ok {
		return pe.Code
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return SessionProtocolViolation
	}
	return SessionInternalError
}

// SessionErrorCode is a session termination error code (draft-14 §13.1.1,
// draft-16 §13.4.1; identical in both drafts).
type SessionErrorCode uint64

// Session termination error codes.
const (
	SessionNoError                  SessionErrorCode = 0x0
	SessionInternalError            SessionErrorCode = 0x1
	SessionUnauthorized             SessionErrorCode = 0x2
	SessionProtocolViolation        SessionErrorCode = 0x3
	SessionInvalidRequestID         SessionErrorCode = 0x4
	SessionDuplicateTrackAlias      SessionErrorCode = 0x5
	SessionKeyValueFormattingError  SessionErrorCode = 0x6
	SessionTooManyRequests          SessionErrorCode = 0x7
	SessionInvalidPath              SessionErrorCode = 0x8
	SessionMalformedPath            SessionErrorCode = 0x9
	SessionGoawayTimeout            SessionErrorCode = 0x10
	SessionControlMessageTimeout    SessionErrorCode = 0x11
	SessionDataStreamTimeout        SessionErrorCode = 0x12
	SessionAuthTokenCacheOverflow   SessionErrorCode = 0x13
	SessionDuplicateAuthTokenAlias  SessionErrorCode = 0x14
	SessionVersionNegotiationFailed SessionErrorCode = 0x15
	SessionMalformedAuthToken       SessionErrorCode = 0x16
	SessionUnknownAuthTokenAlias    SessionErrorCode = 0x17
	SessionExpiredAuthToken         SessionErrorCode = 0x18
	SessionInvalidAuthority         SessionErrorCode = 0x19
	SessionMalformedAuthority       SessionErrorCode = 0x1a
)

// RequestErrorCode is the reason a request failed, carried by RequestError
// and PublishNamespaceCancel. The constants have the draft-16 REQUEST_ERROR
// values (draft-16 §13.4.2), which the draft-16 codec writes as they are.
// Draft-14 numbered the codes of each error message separately (draft-14
// §13.1.2–§13.1.7, where e.g. 0x4 is TRACK_DOES_NOT_EXIST in SUBSCRIBE_ERROR
// and UNINTERESTED in PUBLISH_ERROR), so the draft-14 codec translates the
// codes registered for the message's Kind and passes any other value through
// unchanged.
type RequestErrorCode uint64

// Request error codes.
const (
	RequestInternalError      RequestErrorCode = 0x0
	RequestUnauthorized       RequestErrorCode = 0x1
	RequestTimeout            RequestErrorCode = 0x2
	RequestNotSupported       RequestErrorCode = 0x3
	RequestMalformedAuthToken RequestErrorCode = 0x4
	RequestExpiredAuthToken   RequestErrorCode = 0x5
	// RequestDoesNotExist is draft-16 DOES_NOT_EXIST: draft-14
	// TRACK_DOES_NOT_EXIST (SUBSCRIBE, FETCH, TRACK_STATUS) and
	// NAMESPACE_PREFIX_UNKNOWN (SUBSCRIBE_NAMESPACE).
	RequestDoesNotExist            RequestErrorCode = 0x10
	RequestInvalidRange            RequestErrorCode = 0x11
	RequestMalformedTrack          RequestErrorCode = 0x12
	RequestDuplicateSubscription   RequestErrorCode = 0x19 // draft-16 only
	RequestUninterested            RequestErrorCode = 0x20
	RequestPrefixOverlap           RequestErrorCode = 0x30
	RequestInvalidJoiningRequestID RequestErrorCode = 0x32
	// RequestNoObjects is draft-14 FETCH_ERROR NO_OBJECTS, removed in
	// draft-16 (an empty FETCH response stream replaces it); it keeps its
	// draft-14 value, which draft-16 does not assign.
	RequestNoObjects RequestErrorCode = 0x6
	// RequestUnknownStatusInRange is draft-14 FETCH_ERROR
	// UNKNOWN_STATUS_IN_RANGE; draft-16 signals it with the
	// UNKNOWN_OBJECT_STATUS stream reset code instead.
	RequestUnknownStatusInRange RequestErrorCode = 0x8
)

// codeMap pairs a draft-14 wire value with its semantic code.
type codeMap []struct {
	wire uint64
	code uint64
}

func (m codeMap) toWire(c uint64) uint64 {
	for _, p := range m {
		if p.code == c {
			return p.wire
		}
	}
	return c
}

func (m codeMap) fromWire(w uint64) uint64 {
	for _, p := range m {
		if p.wire == w {
			return p.code
		}
	}
	return w
}

// Draft-14 request error registries (draft-14 §13.1.2, §13.1.4–§13.1.7).
var (
	request14Common    = codeMap{{0x0, 0x0}, {0x1, 0x1}, {0x2, 0x2}, {0x3, 0x3}}
	request14Subscribe = append(request14Common[:len(request14Common):len(request14Common)], codeMap{
		{0x4, uint64(RequestDoesNotExist)},
		{0x5, uint64(RequestInvalidRange)},
		{0x10, uint64(RequestMalformedAuthToken)},
		{0x12, uint64(RequestExpiredAuthToken)},
	}...)
	request14Fetch = append(request14Subscribe[:len(request14Subscribe):len(request14Subscribe)], codeMap{
		{0x6, uint64(RequestNoObjects)},
		{0x7, uint64(RequestInvalidJoiningRequestID)},
		{0x8, uint64(RequestUnknownStatusInRange)},
		{0x9, uint64(RequestMalformedTrack)},
	}...)
	request14Publish = append(request14Common[:len(request14Common):len(request14Common)], codeMap{
		{0x4, uint64(RequestUninterested)},
	}...)
	request14PublishNamespace = append(request14Publish[:len(request14Publish):len(request14Publish)], codeMap{
		{0x10, uint64(RequestMalformedAuthToken)},
		{0x12, uint64(RequestExpiredAuthToken)},
	}...)
	request14SubscribeNamespace = append(request14Common[:len(request14Common):len(request14Common)], codeMap{
		{0x4, uint64(RequestDoesNotExist)},
		{0x5, uint64(RequestPrefixOverlap)},
		{0x10, uint64(RequestMalformedAuthToken)},
		{0x12, uint64(RequestExpiredAuthToken)},
	}...)
)

func request14Codes(k RequestKind) codeMap {
	switch k {
	case KindSubscribe, KindTrackStatus:
		return request14Subscribe
	case KindFetch:
		return request14Fetch
	case KindPublish:
		return request14Publish
	case KindPublishNamespace:
		return request14PublishNamespace
	case KindSubscribeNamespace:
		return request14SubscribeNamespace
	}
	return nil
}

// PublishDoneCode is the status code of PUBLISH_DONE. The constants have the
// draft-16 values (draft-16 §13.4.3); the draft-14 codec translates
// MALFORMED_TRACK, which draft-14 numbered 0x7 (draft-14 §13.1.3).
type PublishDoneCode uint64

// PUBLISH_DONE status codes.
const (
	DoneInternalError     PublishDoneCode = 0x0
	DoneUnauthorized      PublishDoneCode = 0x1
	DoneTrackEnded        PublishDoneCode = 0x2
	DoneSubscriptionEnded PublishDoneCode = 0x3
	DoneGoingAway         PublishDoneCode = 0x4
	DoneExpired           PublishDoneCode = 0x5
	DoneTooFarBehind      PublishDoneCode = 0x6
	DoneUpdateFailed      PublishDoneCode = 0x8 // draft-16 only
	DoneMalformedTrack    PublishDoneCode = 0x12
)

var publishDone14 = codeMap{{0x7, uint64(DoneMalformedTrack)}}

// ResetCode is an application error code for RESET_STREAM /
// RESET_STREAM_AT on data streams (draft-14 §13.1.8, draft-16 §13.4.4). The
// two drafts agree on the values they share; the stream layer uses them
// directly, no codec is involved.
type ResetCode uint64

// Data stream reset codes.
const (
	ResetInternalError       ResetCode = 0x0
	ResetCancelled           ResetCode = 0x1
	ResetDeliveryTimeout     ResetCode = 0x2
	ResetSessionClosed       ResetCode = 0x3
	ResetUnknownObjectStatus ResetCode = 0x4  // draft-16 only
	ResetMalformedTrack      ResetCode = 0x12 // draft-16 only
)
