package wire

var requestIDCases = []controlCase{
	{
		name: "MAX_REQUEST_ID", v: Draft14,
		wire: bs(
			0x15,       // type MAX_REQUEST_ID
			0x00, 0x02, // length 2
			0x40, 0xc8, // Request ID 200 (maximum 199)
		),
		msg: &MaxRequestID{RequestID: 200},
	},
	{
		name: "MAX_REQUEST_ID", v: Draft16,
		wire: bs(0x15, 0x00, 0x01, 0x0a), // type, length 1, Max Request ID 10
		msg:  &MaxRequestID{RequestID: 10},
	},
	{
		name: "REQUESTS_BLOCKED", v: Draft14,
		wire: bs(0x1a, 0x00, 0x01, 0x0a), // type, length 1, Maximum Request ID 10
		msg:  &RequestsBlocked{MaximumRequestID: 10},
	},
	{
		name: "REQUESTS_BLOCKED", v: Draft16,
		wire: bs(0x1a, 0x00, 0x01, 0x0a),
		msg:  &RequestsBlocked{MaximumRequestID: 10},
	},
}
