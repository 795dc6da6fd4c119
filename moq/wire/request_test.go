package wire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

var requestCases = []controlCase{
	{
		name: "PUBLISH_NAMESPACE_OK", v: Draft14,
		wire: bs(0x07, 0x00, 0x01, 0x04), // type, length 1, Request ID 4
		msg:  &RequestOK{Kind: KindPublishNamespace, RequestID: 4},
	},
	{
		name: "SUBSCRIBE_NAMESPACE_OK", v: Draft14,
		wire: bs(0x12, 0x00, 0x01, 0x04), // type, length 1, Request ID 4
		msg:  &RequestOK{Kind: KindSubscribeNamespace, RequestID: 4},
	},
	{
		name: "TRACK_STATUS_OK", v: Draft14,
		wire: bs(
			0x0e,       // type TRACK_STATUS_OK
			0x00, 0x08, // length 8
			0x0c,       // Request ID 12
			0x00,       // Track Alias 0
			0x00,       // Expires 0
			0x01,       // Group Order ascending
			0x01,       // Content Exists
			0x05, 0x07, // Largest Location {5, 7}
			0x00, // no parameters
		),
		msg: &RequestOK{Kind: KindTrackStatus, RequestID: 12, GroupOrder: GroupOrderAscending, Largest: &Location{5, 7}},
	},
	{
		name: "REQUEST_OK", v: Draft16,
		wire: bs(
			0x07,       // type REQUEST_OK
			0x00, 0x02, // length 2
			0x04, // Request ID 4
			0x00, // no parameters
		),
		msg: &RequestOK{RequestID: 4},
	},
	{
		name: "REQUEST_OK without parameter count (Eyevinn v0.9.0)", v: Draft16,
		wire:      bs(0x07, 0x00, 0x01, 0x04), // type, length 1, Request ID 4
		msg:       &RequestOK{RequestID: 4},
		parseOnly: true,
	},
	{
		name: "REQUEST_OK to TRACK_STATUS", v: Draft16,
		wire: bs(
			0x07,       // type REQUEST_OK
			0x00, 0x09, // length 9
			0x0c,             // Request ID 12
			0x02,             // 2 parameters
			0x08, 0x47, 0xd0, // +0x08 = EXPIRES 2000 ms
			0x01, 0x02, 0x05, 0x07, // +0x01 = LARGEST_OBJECT {5, 7}
		),
		msg: &RequestOK{RequestID: 12, Expires: 2000, Largest: &Location{5, 7}},
	},
	{
		name: "SUBSCRIBE_ERROR", v: Draft14,
		wire: bs(
			0x05,       // type SUBSCRIBE_ERROR
			0x00, 0x05, // length 5
			0x02,       // Request ID 2
			0x04,       // Error Code TRACK_DOES_NOT_EXIST (draft-14 value)
			0x02, "no", // Reason Phrase
		),
		msg: &RequestError{Kind: KindSubscribe, RequestID: 2, Code: RequestDoesNotExist, Reason: "no"},
	},
	{
		name: "PUBLISH_ERROR", v: Draft14,
		wire: bs(0x1f, 0x00, 0x03, 0x06, 0x04, 0x00), // Request ID 6, UNINTERESTED (0x4), no reason
		msg:  &RequestError{Kind: KindPublish, RequestID: 6, Code: RequestUninterested},
	},
	{
		name: "FETCH_ERROR", v: Draft14,
		wire: bs(0x19, 0x00, 0x03, 0x08, 0x06, 0x00), // Request ID 8, NO_OBJECTS (0x6)
		msg:  &RequestError{Kind: KindFetch, RequestID: 8, Code: RequestNoObjects},
	},
	{
		name: "TRACK_STATUS_ERROR", v: Draft14,
		wire: bs(0x0f, 0x00, 0x03, 0x0c, 0x10, 0x00), // Request ID 12, MALFORMED_AUTH_TOKEN (0x10)
		msg:  &RequestError{Kind: KindTrackStatus, RequestID: 12, Code: RequestMalformedAuthToken},
	},
	{
		name: "PUBLISH_NAMESPACE_ERROR", v: Draft14,
		wire: bs(0x08, 0x00, 0x03, 0x04, 0x01, 0x00), // Request ID 4, UNAUTHORIZED
		msg:  &RequestError{Kind: KindPublishNamespace, RequestID: 4, Code: RequestUnauthorized},
	},
	{
		name: "SUBSCRIBE_NAMESPACE_ERROR", v: Draft14,
		wire: bs(0x13, 0x00, 0x03, 0x0e, 0x05, 0x00), // Request ID 14, NAMESPACE_PREFIX_OVERLAP (0x5)
		msg:  &RequestError{Kind: KindSubscribeNamespace, RequestID: 14, Code: RequestPrefixOverlap},
	},
	{
		name: "SUBSCRIBE_ERROR with an unregistered code", v: Draft14,
		wire: bs(0x05, 0x00, 0x04, 0x02, 0x40, 0x99, 0x00), // Request ID 2, code 0x99 passes through
		msg:  &RequestError{Kind: KindSubscribe, RequestID: 2, Code: 0x99},
	},
	{
		name: "REQUEST_ERROR", v: Draft16,
		wire: bs(
			0x05,       // type REQUEST_ERROR
			0x00, 0x07, // length 7
			0x02,       // Request ID 2
			0x10,       // Error Code DOES_NOT_EXIST
			0x43, 0xe9, // Retry Interval 1001: retry after 1000 ms
			0x02, "no", // Reason Phrase
		),
		msg: &RequestError{RequestID: 2, Code: RequestDoesNotExist, RetryInterval: 1001, Reason: "no"},
	},
	{
		name: "SUBSCRIBE_UPDATE", v: Draft14,
		wire: bs(
			0x02,       // type SUBSCRIBE_UPDATE
			0x00, 0x08, // length 8
			0x04,       // Request ID 4
			0x02,       // Subscription Request ID 2
			0x0c, 0x00, // Start Location {12, 0}
			0x00, // End Group 0: open-ended
			0x40, // Subscriber Priority 64
			0x00, // Forward 0
			0x00, // no parameters
		),
		msg: &RequestUpdate{
			RequestID: 4, ExistingRequestID: 2, SubscriberPriority: ptr[uint8](64), Forward: ptr(false),
			Filter: &Filter{Type: FilterAbsoluteStart, Start: Location{12, 0}},
		},
	},
	{
		name: "SUBSCRIBE_UPDATE with end group", v: Draft14,
		wire: bs(
			0x02,       // type SUBSCRIBE_UPDATE
			0x00, 0x08, // length 8
			0x04,       // Request ID 4
			0x02,       // Subscription Request ID 2
			0x0c, 0x03, // Start Location {12, 3}
			0x0f, // End Group 15: the last group is 14
			0x80, // Subscriber Priority 128
			0x01, // Forward 1
			0x00, // no parameters
		),
		msg: &RequestUpdate{
			RequestID: 4, ExistingRequestID: 2, SubscriberPriority: ptr[uint8](128), Forward: ptr(true),
			Filter: &Filter{Type: FilterAbsoluteRange, Start: Location{12, 3}, EndGroup: 14},
		},
	},
	{
		name: "REQUEST_UPDATE", v: Draft16,
		wire: bs(
			0x02,       // type REQUEST_UPDATE
			0x00, 0x05, // length 5
			0x04,       // Request ID 4
			0x02,       // Existing Request ID 2
			0x01,       // 1 parameter
			0x10, 0x00, // +0x10 = FORWARD 0; everything else unchanged
		),
		msg: &RequestUpdate{RequestID: 4, ExistingRequestID: 2, Forward: ptr(false)},
	},
	{
		name: "REQUEST_UPDATE with filter and priority", v: Draft16,
		wire: bs(
			0x02,       // type REQUEST_UPDATE
			0x00, 0x0e, // length 14
			0x04,             // Request ID 4
			0x02,             // Existing Request ID 2
			0x03,             // 3 parameters
			0x20, 0x40, 0x80, // +0x20 = SUBSCRIBER_PRIORITY 128
			0x01, 0x04, 0x04, 0x0c, 0x03, 0x0e, // +0x01 = SUBSCRIPTION_FILTER AbsoluteRange {12,3}..14
			0x11, 0x00, // +0x11 = NEW_GROUP_REQUEST 0
		),
		msg: &RequestUpdate{
			RequestID: 4, ExistingRequestID: 2, SubscriberPriority: ptr[uint8](128),
			Filter: &Filter{Type: FilterAbsoluteRange, Start: Location{12, 3}, EndGroup: 14},
			Params: Params{NewGroupRequest: ptr[uint64](0)},
		},
	},
}

// TestRequestErrorCodes14 checks the draft-14 registries: the same semantic
// code goes out with each message's own value.
func TestRequestErrorCodes14(t *testing.T) {
	for _, c := range []struct {
		kind RequestKind
		code RequestErrorCode
		wire uint64
	}{
		{KindSubscribe, RequestDoesNotExist, 0x4},
		{KindSubscribe, RequestInvalidRange, 0x5},
		{KindSubscribe, RequestMalformedAuthToken, 0x10},
		{KindSubscribe, RequestExpiredAuthToken, 0x12},
		{KindTrackStatus, RequestDoesNotExist, 0x4},
		{KindFetch, RequestInvalidJoiningRequestID, 0x7},
		{KindFetch, RequestUnknownStatusInRange, 0x8},
		{KindFetch, RequestMalformedTrack, 0x9},
		{KindPublish, RequestUninterested, 0x4},
		{KindPublishNamespace, RequestUninterested, 0x4},
		{KindPublishNamespace, RequestExpiredAuthToken, 0x12},
		{KindSubscribeNamespace, RequestDoesNotExist, 0x4},
		{KindSubscribeNamespace, RequestPrefixOverlap, 0x5},
		{KindSubscribeNamespace, RequestTimeout, 0x2},
	} {
		m := request14Codes(c.kind)
		require.Equal(t, c.wire, m.toWire(uint64(c.code)), "%v %v", c.kind, c.code)
		require.Equal(t, uint64(c.code), m.fromWire(c.wire), "%v %v", c.kind, c.code)
	}
	require.Equal(t, uint64(0x7), publishDone14.toWire(uint64(DoneMalformedTrack)))
	require.Equal(t, uint64(DoneTrackEnded), publishDone14.fromWire(0x2))
}
