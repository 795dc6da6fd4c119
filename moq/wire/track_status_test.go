package wire

var trackStatusCases = []controlCase{
	{
		name: "TRACK_STATUS", v: Draft14,
		wire: bs(
			0x0d,       // type TRACK_STATUS (SUBSCRIBE layout)
			0x00, 0x0e, // length 14
			0x0c,               // Request ID 12
			0x01, 0x04, "live", // Track Namespace (live)
			0x01, "a", // Track Name
			0x00, // Subscriber Priority 0
			0x00, // Group Order: publisher's
			0x01, // Forward 1
			0x02, // Filter Type Largest Object
			0x00, // no parameters
		),
		msg: &TrackStatus{
			RequestID: 12, Namespace: Namespace{"live"}, TrackName: "a", Forward: true,
			Filter: Filter{Type: FilterLargestObject},
		},
	},
	{
		name: "TRACK_STATUS", v: Draft16,
		wire: bs(
			0x0d,       // type TRACK_STATUS
			0x00, 0x11, // length 17
			0x0c,               // Request ID 12
			0x01, 0x04, "live", // Track Namespace (live)
			0x01, "a", // Track Name
			0x01,                      // 1 parameter
			0x03, 0x05, tokenUseValue, // +0x03 = AUTHORIZATION_TOKEN
		),
		msg: &TrackStatus{
			RequestID: 12, Namespace: Namespace{"live"}, TrackName: "a",
			Params: Params{AuthorizationTokens: [][]byte{tokenUseValue}},
		},
	},
}
