package wire

// tokenUseValue is an AUTHORIZATION_TOKEN value: alias type USE_VALUE,
// token type 0, value "tok".
var tokenUseValue = bs(0x03, 0x00, "tok")

var subscribeCases = []controlCase{
	{
		name: "SUBSCRIBE", v: Draft14,
		wire: bs(
			0x03,       // type SUBSCRIBE
			0x00, 0x21, // length 33
			0x02,                             // Request ID 2
			0x02, 0x04, "live", 0x04, "room", // Track Namespace (live, room)
			0x05, "video", // Track Name
			0x80,             // Subscriber Priority 128
			0x01,             // Group Order ascending
			0x01,             // Forward 1
			0x02,             // Filter Type Largest Object
			0x02,             // 2 parameters
			0x02, 0x41, 0xf4, // DELIVERY_TIMEOUT 500 ms
			0x03, 0x05, tokenUseValue, // AUTHORIZATION_TOKEN
		),
		msg: &Subscribe{
			RequestID: 2, Namespace: Namespace{"live", "room"}, TrackName: "video",
			SubscriberPriority: 128, GroupOrder: GroupOrderAscending, Forward: true,
			Filter: Filter{Type: FilterLargestObject},
			Params: Params{DeliveryTimeout: 500, AuthorizationTokens: [][]byte{tokenUseValue}},
		},
	},
	{
		name: "SUBSCRIBE absolute range", v: Draft14,
		wire: bs(
			0x03,       // type SUBSCRIBE
			0x00, 0x0d, // length 13
			0x00,            // Request ID 0
			0x01, 0x01, "a", // Track Namespace (a)
			0x00,             // empty Track Name
			0x00,             // Subscriber Priority 0
			0x00,             // Group Order: publisher's
			0x00,             // Forward 0
			0x04, 0x05, 0x00, // Filter AbsoluteRange, Start Location {5, 0}
			0x09, // End Group 9
			0x00, // no parameters
		),
		msg: &Subscribe{
			Namespace: Namespace{"a"},
			Filter:    Filter{Type: FilterAbsoluteRange, Start: Location{5, 0}, EndGroup: 9},
		},
	},
	{
		name: "SUBSCRIBE", v: Draft16,
		wire: bs(
			0x03,       // type SUBSCRIBE
			0x00, 0x27, // length 39
			0x02,                             // Request ID 2
			0x02, 0x04, "live", 0x04, "room", // Track Namespace
			0x05, "video", // Track Name
			0x06,             // 6 parameters, delta-encoded types
			0x02, 0x41, 0xf4, // +0x02 = DELIVERY_TIMEOUT 500
			0x01, 0x05, tokenUseValue, // +0x01 = AUTHORIZATION_TOKEN
			0x0d, 0x01, // +0x0d = FORWARD 1
			0x10, 0x40, 0x80, // +0x10 = SUBSCRIBER_PRIORITY 128
			0x01, 0x01, 0x02, // +0x01 = SUBSCRIPTION_FILTER (Largest Object)
			0x01, 0x01, // +0x01 = GROUP_ORDER ascending
		),
		msg: &Subscribe{
			RequestID: 2, Namespace: Namespace{"live", "room"}, TrackName: "video",
			SubscriberPriority: 128, GroupOrder: GroupOrderAscending, Forward: true,
			Filter: Filter{Type: FilterLargestObject},
			Params: Params{DeliveryTimeout: 500, AuthorizationTokens: [][]byte{tokenUseValue}},
		},
	},
	{
		name: "SUBSCRIBE with defaults", v: Draft16,
		wire: bs(
			0x03,       // type SUBSCRIBE
			0x00, 0x06, // length 6
			0x00,            // Request ID 0
			0x01, 0x01, "a", // Track Namespace (a)
			0x00, // empty Track Name
			0x00, // no parameters: priority 128, forward 1, publisher's order, unfiltered
		),
		msg: &Subscribe{
			Namespace: Namespace{"a"}, SubscriberPriority: DefaultSubscriberPriority, Forward: true,
		},
		parseOnly: true, // the encoder writes priority and forward explicitly
	},
	{
		name: "SUBSCRIBE with GROUP_ORDER 0 (Eyevinn v0.9.0)", v: Draft16,
		wire: bs(
			0x03,       // type SUBSCRIBE
			0x00, 0x0d, // length 13
			0x00,            // Request ID 0
			0x01, 0x01, "a", // Track Namespace (a)
			0x00,       // empty Track Name
			0x03,       // 3 parameters
			0x10, 0x01, // +0x10 = FORWARD 1
			0x10, 0x40, 0x80, // +0x10 = SUBSCRIBER_PRIORITY 128
			0x02, 0x00, // +0x02 = GROUP_ORDER 0, outside draft-16's 1..2
		),
		msg: &Subscribe{
			Namespace: Namespace{"a"}, SubscriberPriority: DefaultSubscriberPriority, Forward: true,
		},
		parseOnly: true,
	},
	{
		name: "SUBSCRIBE absolute range with unknown parameter", v: Draft16,
		wire: bs(
			0x03,       // type SUBSCRIBE
			0x00, 0x12, // length 18
			0x00,            // Request ID 0
			0x01, 0x01, "a", // Track Namespace (a)
			0x00,       // empty Track Name
			0x04,       // 4 parameters
			0x10, 0x00, // +0x10 = FORWARD 0
			0x10, 0x00, // +0x10 = SUBSCRIBER_PRIORITY 0
			0x01, 0x04, 0x04, 0x05, 0x00, 0x09, // +0x01 = SUBSCRIPTION_FILTER AbsoluteRange {5,0}..9
			0x1f, 0x00, // +0x1f = unknown even 0x40 = 0
		),
		msg: &Subscribe{
			Namespace: Namespace{"a"},
			Filter:    Filter{Type: FilterAbsoluteRange, Start: Location{5, 0}, EndGroup: 9},
			Params:    Params{Unknown: []KeyValue{{Type: 0x40}}},
		},
	},
	{
		name: "SUBSCRIBE_OK", v: Draft14,
		wire: bs(
			0x04,       // type SUBSCRIBE_OK
			0x00, 0x08, // length 8
			0x02,       // Request ID 2
			0x07,       // Track Alias 7
			0x00,       // Expires 0
			0x02,       // Group Order descending
			0x01,       // Content Exists
			0x0a, 0x04, // Largest Location {10, 4}
			0x00, // no parameters
		),
		msg: &SubscribeOK{RequestID: 2, TrackAlias: 7, GroupOrder: GroupOrderDescending, Largest: &Location{10, 4}},
	},
	{
		name: "SUBSCRIBE_OK without content", v: Draft14,
		wire: bs(
			0x04,       // type SUBSCRIBE_OK
			0x00, 0x0a, // length 10
			0x02,       // Request ID 2
			0x07,       // Track Alias 7
			0x47, 0xd0, // Expires 2000 ms
			0x01,             // Group Order ascending
			0x00,             // Content Exists 0
			0x01,             // 1 parameter
			0x04, 0x44, 0x4c, // MAX_CACHE_DURATION 1100 ms
		),
		msg: &SubscribeOK{
			RequestID: 2, TrackAlias: 7, Expires: 2000, GroupOrder: GroupOrderAscending,
			Params: Params{MaxCacheDuration: 1100},
		},
	},
	{
		name: "SUBSCRIBE_OK", v: Draft16,
		wire: bs(
			0x04,       // type SUBSCRIBE_OK
			0x00, 0x09, // length 9
			0x02,                   // Request ID 2
			0x07,                   // Track Alias 7
			0x01,                   // 1 parameter
			0x09, 0x02, 0x0a, 0x04, // +0x09 = LARGEST_OBJECT {10, 4}
			0x22, 0x02, // Track Extensions: +0x22 = DEFAULT_PUBLISHER_GROUP_ORDER descending
		),
		msg: &SubscribeOK{RequestID: 2, TrackAlias: 7, GroupOrder: GroupOrderDescending, Largest: &Location{10, 4}},
	},
	{
		name: "SUBSCRIBE_OK with track extensions", v: Draft16,
		wire: bs(
			0x04,       // type SUBSCRIBE_OK
			0x00, 0x0e, // length 14
			0x02,             // Request ID 2
			0x07,             // Track Alias 7
			0x01,             // 1 parameter
			0x08, 0x47, 0xd0, // +0x08 = EXPIRES 2000 ms
			0x02, 0x41, 0xf4, // Track Extensions: +0x02 = DELIVERY_TIMEOUT 500 ms
			0x02, 0x44, 0x4c, // +0x02 = MAX_CACHE_DURATION 1100 ms
			0x0a, 0x20, // +0x0a = DEFAULT_PUBLISHER_PRIORITY 32, kept opaque
		),
		msg: &SubscribeOK{
			RequestID: 2, TrackAlias: 7, Expires: 2000,
			Params:     Params{DeliveryTimeout: 500, MaxCacheDuration: 1100},
			Extensions: []KeyValue{{Type: ExtensionDefaultPublisherPriority, Value: 32}},
		},
	},
	{
		name: "SUBSCRIBE_OK with GROUP_ORDER parameter (Eyevinn v0.9.0)", v: Draft16,
		wire: bs(
			0x04,       // type SUBSCRIBE_OK
			0x00, 0x09, // length 9
			0x02,                   // Request ID 2
			0x07,                   // Track Alias 7
			0x02,                   // 2 parameters
			0x09, 0x02, 0x0a, 0x04, // +0x09 = LARGEST_OBJECT {10, 4}
			0x19, 0x01, // +0x19 = GROUP_ORDER ascending, a parameter here instead of a track extension
		),
		msg:       &SubscribeOK{RequestID: 2, TrackAlias: 7, GroupOrder: GroupOrderAscending, Largest: &Location{10, 4}},
		parseOnly: true,
	},
	{
		name: "UNSUBSCRIBE", v: Draft14,
		wire: bs(0x0a, 0x00, 0x01, 0x02), // type, length 1, Request ID 2
		msg:  &Unsubscribe{RequestID: 2},
	},
	{
		name: "UNSUBSCRIBE", v: Draft16,
		wire: bs(0x0a, 0x00, 0x01, 0x02),
		msg:  &Unsubscribe{RequestID: 2},
	},
}
