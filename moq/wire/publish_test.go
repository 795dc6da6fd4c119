package wire

var publishCases = []controlCase{
	{
		name: "PUBLISH", v: Draft14,
		wire: bs(
			0x1d,       // type PUBLISH (16-bit length despite draft-14's "Length (i)" figure)
			0x00, 0x0e, // length 14
			0x06,               // Request ID 6
			0x01, 0x04, "live", // Track Namespace (live)
			0x01, "a", // Track Name
			0x03, // Track Alias 3
			0x01, // Group Order ascending
			0x00, // Content Exists 0
			0x01, // Forward 1
			0x00, // no parameters
		),
		msg: &Publish{
			RequestID: 6, Namespace: Namespace{"live"}, TrackName: "a", TrackAlias: 3,
			GroupOrder: GroupOrderAscending, Forward: true,
		},
	},
	{
		name: "PUBLISH", v: Draft16,
		wire: bs(
			0x1d,       // type PUBLISH
			0x00, 0x13, // length 19
			0x06,               // Request ID 6
			0x01, 0x04, "live", // Track Namespace (live)
			0x01, "a", // Track Name
			0x03,                   // Track Alias 3
			0x02,                   // 2 parameters
			0x09, 0x02, 0x01, 0x02, // +0x09 = LARGEST_OBJECT {1, 2}
			0x07, 0x01, // +0x07 = FORWARD 1
			0x22, 0x01, // Track Extensions: +0x22 = DEFAULT_PUBLISHER_GROUP_ORDER ascending
		),
		msg: &Publish{
			RequestID: 6, Namespace: Namespace{"live"}, TrackName: "a", TrackAlias: 3,
			GroupOrder: GroupOrderAscending, Largest: &Location{1, 2}, Forward: true,
		},
	},
	{
		name: "PUBLISH_OK", v: Draft14,
		wire: bs(
			0x1e,       // type PUBLISH_OK
			0x00, 0x06, // length 6
			0x06, // Request ID 6
			0x01, // Forward 1
			0x0a, // Subscriber Priority 10
			0x01, // Group Order ascending
			0x01, // Filter Type Next Group Start
			0x00, // no parameters
		),
		msg: &PublishOK{
			RequestID: 6, Forward: true, SubscriberPriority: 10, GroupOrder: GroupOrderAscending,
			Filter: Filter{Type: FilterNextGroupStart},
		},
	},
	{
		name: "PUBLISH_OK without parameter count (Eyevinn v0.9.0)", v: Draft14,
		wire: bs(0x1e, 0x00, 0x05, 0x06, 0x01, 0x0a, 0x01, 0x01), // as above, count missing
		msg: &PublishOK{
			RequestID: 6, Forward: true, SubscriberPriority: 10, GroupOrder: GroupOrderAscending,
			Filter: Filter{Type: FilterNextGroupStart},
		},
		parseOnly: true,
	},
	{
		name: "PUBLISH_OK", v: Draft16,
		wire: bs(
			0x1e,       // type PUBLISH_OK
			0x00, 0x06, // length 6
			0x06,       // Request ID 6
			0x02,       // 2 parameters
			0x10, 0x01, // +0x10 = FORWARD 1
			0x10, 0x0a, // +0x10 = SUBSCRIBER_PRIORITY 10
		),
		msg: &PublishOK{RequestID: 6, Forward: true, SubscriberPriority: 10},
	},
	{
		name: "PUBLISH_DONE", v: Draft14,
		wire: bs(
			0x0b,       // type PUBLISH_DONE
			0x00, 0x07, // length 7
			0x02,        // Request ID 2
			0x02,        // Status Code TRACK_ENDED
			0x03,        // Stream Count 3
			0x03, "bye", // Reason Phrase
		),
		msg: &PublishDone{RequestID: 2, StatusCode: DoneTrackEnded, StreamCount: 3, Reason: "bye"},
	},
	{
		name: "PUBLISH_DONE malformed track", v: Draft14,
		wire: bs(0x0b, 0x00, 0x04, 0x02, 0x07, 0x00, 0x00), // MALFORMED_TRACK is 0x7 in draft-14
		msg:  &PublishDone{RequestID: 2, StatusCode: DoneMalformedTrack},
	},
	{
		name: "PUBLISH_DONE malformed track", v: Draft16,
		wire: bs(
			0x0b,       // type PUBLISH_DONE
			0x00, 0x0b, // length 11
			0x02,                                           // Request ID 2
			0x12,                                           // Status Code MALFORMED_TRACK (0x12 in draft-16)
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // Stream Count 2^62-1: unknown
			0x00, // empty Reason Phrase
		),
		msg: &PublishDone{RequestID: 2, StatusCode: DoneMalformedTrack, StreamCount: StreamCountUnknown},
	},
}
