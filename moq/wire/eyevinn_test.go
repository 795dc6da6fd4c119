package wire

// Draft-16 messages that Eyevinn v0.9.0 writes in their draft-14 layout,
// captured from its encoder; parseControl reads them through
// parseDraft14Layout.
var eyevinn16Cases = []controlCase{
	{
		name: "SUBSCRIBE_UPDATE layout for REQUEST_UPDATE (Eyevinn v0.9.0)", v: Draft16,
		wire: bs(
			0x02,       // type REQUEST_UPDATE
			0x00, 0x08, // length 8
			0x02,       // Request ID 2
			0x00,       // Subscription Request ID 0
			0x06, 0x00, // Start Location {6, 0}
			0x0a, // End Group plus one: 10
			0x09, // Subscriber Priority 9
			0x01, // Forward 1
			0x00, // no parameters
		),
		msg: &RequestUpdate{
			RequestID: 2, SubscriberPriority: ptr[uint8](9), Forward: ptr(true),
			Filter:        &Filter{Type: FilterAbsoluteRange, Start: Location{6, 0}, EndGroup: 9},
			Draft14Layout: true,
		},
		parseOnly: true,
	},
	{
		name: "TRACK_STATUS in the draft-14 layout (Eyevinn v0.9.0)", v: Draft16,
		wire: bs(
			0x0d,       // type TRACK_STATUS
			0x00, 0x12, // length 18
			0x04,               // Request ID 4
			0x01, 0x04, "live", // Track Namespace
			0x05, "video", // Track Name
			0x00, 0x00, 0x00, // Subscriber Priority, Group Order, Forward (dropped: not in draft-16)
			0x02, // Filter Type (dropped)
			0x00, // no parameters
		),
		msg:       &TrackStatus{RequestID: 4, Namespace: Namespace{"live"}, TrackName: "video", Draft14Layout: true},
		parseOnly: true,
	},
	{
		name: "FETCH in the draft-14 layout (Eyevinn v0.9.0)", v: Draft16,
		wire: bs(
			0x16,       // type FETCH
			0x00, 0x15, // length 21
			0x06,       // Request ID 6
			0x00, 0x00, // Subscriber Priority 0, Group Order 0
			0x01,               // Fetch Type standalone
			0x01, 0x04, "live", // Track Namespace
			0x05, "video", // Track Name
			0x01, 0x00, 0x02, 0x00, // Start {1, 0}, End {2, 0}
			0x00, // no parameters
		),
		msg: &Fetch{
			RequestID: 6, Type: FetchStandalone, Namespace: Namespace{"live"}, TrackName: "video",
			Start: Location{1, 0}, End: Location{2, 0}, Draft14Layout: true,
		},
		parseOnly: true,
	},
	{
		name: "PUBLISH_OK in the draft-14 layout without parameter count (Eyevinn v0.9.0)", v: Draft16,
		wire: bs(0x1e, 0x00, 0x05, 0x06, 0x01, 0x0a, 0x01, 0x01),
		msg: &PublishOK{
			RequestID: 6, Forward: true, SubscriberPriority: 10, GroupOrder: GroupOrderAscending,
			Filter: Filter{Type: FilterNextGroupStart}, Draft14Layout: true,
		},
		parseOnly: true,
	},
}
