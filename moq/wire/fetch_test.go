package wire

var fetchCases = []controlCase{
	{
		name: "FETCH standalone", v: Draft14,
		wire: bs(
			0x16,       // type FETCH
			0x00, 0x11, // length 17
			0x08,               // Request ID 8
			0x01,               // Subscriber Priority 1
			0x00,               // Group Order: publisher's
			0x01,               // Fetch Type standalone
			0x01, 0x04, "live", // Track Namespace (live)
			0x01, "a", // Track Name
			0x01, 0x00, // Start Location {1, 0}
			0x03, 0x00, // End Location {3, 0}: whole groups 1..2
			0x00, // no parameters
		),
		msg: &Fetch{
			RequestID: 8, SubscriberPriority: 1, Type: FetchStandalone,
			Namespace: Namespace{"live"}, TrackName: "a", Start: Location{1, 0}, End: Location{3, 0},
		},
	},
	{
		name: "FETCH relative joining", v: Draft14,
		wire: bs(
			0x16,       // type FETCH
			0x00, 0x07, // length 7
			0x0a, // Request ID 10
			0x01, // Subscriber Priority 1
			0x02, // Group Order descending
			0x02, // Fetch Type relative joining
			0x02, // Joining Request ID 2
			0x03, // Joining Start: 3 groups back
			0x00, // no parameters
		),
		msg: &Fetch{
			RequestID: 10, SubscriberPriority: 1, GroupOrder: GroupOrderDescending,
			Type: FetchRelativeJoining, JoiningRequestID: 2, JoiningStart: 3,
		},
	},
	{
		name: "FETCH standalone", v: Draft16,
		wire: bs(
			0x16,       // type FETCH
			0x00, 0x11, // length 17
			0x08,               // Request ID 8
			0x01,               // Fetch Type standalone
			0x01, 0x04, "live", // Track Namespace (live)
			0x01, "a", // Track Name
			0x01, 0x00, // Start Location {1, 0}
			0x03, 0x00, // End Location {3, 0}
			0x01,       // 1 parameter
			0x20, 0x01, // +0x20 = SUBSCRIBER_PRIORITY 1
		),
		msg: &Fetch{
			RequestID: 8, SubscriberPriority: 1, Type: FetchStandalone,
			Namespace: Namespace{"live"}, TrackName: "a", Start: Location{1, 0}, End: Location{3, 0},
		},
	},
	{
		name: "FETCH absolute joining", v: Draft16,
		wire: bs(
			0x16,       // type FETCH
			0x00, 0x09, // length 9
			0x0a,       // Request ID 10
			0x03,       // Fetch Type absolute joining
			0x02,       // Joining Request ID 2
			0x05,       // Joining Start: group 5
			0x02,       // 2 parameters
			0x20, 0x01, // +0x20 = SUBSCRIBER_PRIORITY 1
			0x02, 0x02, // +0x02 = GROUP_ORDER descending
		),
		msg: &Fetch{
			RequestID: 10, SubscriberPriority: 1, GroupOrder: GroupOrderDescending,
			Type: FetchAbsoluteJoining, JoiningRequestID: 2, JoiningStart: 5,
		},
	},
	{
		name: "FETCH_OK", v: Draft14,
		wire: bs(
			0x18,       // type FETCH_OK
			0x00, 0x06, // length 6
			0x08,       // Request ID 8
			0x01,       // Group Order ascending
			0x00,       // End Of Track 0
			0x03, 0x05, // End Location {3, 5}
			0x00, // no parameters
		),
		msg: &FetchOK{RequestID: 8, GroupOrder: GroupOrderAscending, End: Location{3, 5}},
	},
	{
		name: "FETCH_OK", v: Draft16,
		wire: bs(
			0x18,       // type FETCH_OK
			0x00, 0x08, // length 8
			0x08,       // Request ID 8
			0x01,       // End Of Track 1
			0x03, 0x05, // End Location {3, 5}
			0x00,             // no parameters
			0x02, 0x43, 0xe8, // Track Extensions: +0x02 = DELIVERY_TIMEOUT 1000 ms
		),
		msg: &FetchOK{RequestID: 8, EndOfTrack: true, End: Location{3, 5}, Params: Params{DeliveryTimeout: 1000}},
	},
	{
		name: "FETCH_CANCEL", v: Draft14,
		wire: bs(0x17, 0x00, 0x01, 0x08), // type, length 1, Request ID 8
		msg:  &FetchCancel{RequestID: 8},
	},
	{
		name: "FETCH_CANCEL", v: Draft16,
		wire: bs(0x17, 0x00, 0x01, 0x08),
		msg:  &FetchCancel{RequestID: 8},
	},
}
