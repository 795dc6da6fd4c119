package wire

func ptr[T any](v T) *T { return &v }

// draft14Varint is 0xff00000e as an 8-byte varint: it exceeds 2^30-1.
var draft14Varint = bs(0xc0, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x0e)

var setupCases = []controlCase{
	// draft-16 §9.3 (Figure 5) with §1.4.2's delta-encoded Key-Value-Pairs
	// and §9.3.1's parameter types, byte for byte from the text;
	// Eyevinn/moqtransport v0.9.0 encodes the same bytes.
	{
		name: "draft-16 text: CLIENT_SETUP over raw QUIC", v: Draft16,
		wire: bs(
			0x20,       // Type 0x20
			0x00, 0x17, // Length (16) 23
			0x03,               // Number of Parameters
			0x01, 0x04, "/moq", // delta 1: PATH (odd: length, bytes)
			0x01, 0x40, 0x64, // delta 1: MAX_REQUEST_ID (even: varint 100)
			0x05, 0x0b, "moq-gateway", // delta 5: MOQT_IMPLEMENTATION (0x07)
		),
		msg: &ClientSetup{Params: SetupParams{Path: ptr("/moq"), MaxRequestID: 100, Implementation: "moq-gateway"}},
	},
	{
		name: "draft-16 text: CLIENT_SETUP over WebTransport (no PATH)", v: Draft16,
		wire: bs(
			0x20, 0x00, 0x11, // CLIENT_SETUP, length 17
			0x02,             // Number of Parameters
			0x02, 0x40, 0x64, // delta 2 from 0: MAX_REQUEST_ID 100
			0x05, 0x0b, "moq-gateway", // delta 5: MOQT_IMPLEMENTATION
		),
		msg: &ClientSetup{Params: SetupParams{MaxRequestID: 100, Implementation: "moq-gateway"}},
	},
	{
		name: "draft-16 text: SERVER_SETUP", v: Draft16,
		wire: bs(
			0x21, 0x00, 0x07, // SERVER_SETUP, length 7
			0x02,             // Number of Parameters
			0x02, 0x40, 0x64, // MAX_REQUEST_ID 100
			0x05, 0x01, "x", // MOQT_IMPLEMENTATION "x"
		),
		msg: &ServerSetup{Params: SetupParams{MaxRequestID: 100, Implementation: "x"}},
	},
	{
		name: "CLIENT_SETUP", v: Draft14,
		wire: bs(
			0x20,       // type CLIENT_SETUP
			0x00, 0x1b, // length 27
			0x01,                // 1 supported version
			draft14Varint,       // 0xff00000e
			0x03,                // 3 parameters, absolute types
			0x01, 0x05, "/live", // PATH
			0x02, 0x40, 0x64, // MAX_REQUEST_ID 100
			0x07, 0x05, "moqgw", // MOQT_IMPLEMENTATION (0x07, not the 0x05 of draft-14's text)
		),
		msg: &ClientSetup{
			Versions: []Version{Draft14},
			Params:   SetupParams{Path: ptr("/live"), MaxRequestID: 100, Implementation: "moqgw"},
		},
	},
	{
		name: "SERVER_SETUP", v: Draft14,
		wire: bs(
			0x21,       // type SERVER_SETUP
			0x00, 0x0c, // length 12
			draft14Varint,    // selected version
			0x01,             // 1 parameter
			0x02, 0x40, 0x64, // MAX_REQUEST_ID 100
		),
		msg: &ServerSetup{SelectedVersion: Draft14, Params: SetupParams{MaxRequestID: 100}},
	},
	{
		name: "CLIENT_SETUP with authority, token and unknown parameters", v: Draft14,
		wire: bs(
			0x20,       // type CLIENT_SETUP
			0x00, 0x1d, // length 29
			0x02,                         // 2 supported versions
			draft14Varint,                // 0xff00000e
			0x01,                         // 1 (an RFC version, ignored by this codec)
			0x05,                         // 5 parameters
			0x03, 0x04, 0x03, 0x00, "jw", // AUTHORIZATION_TOKEN: USE_VALUE, type 0, "jw"
			0x04, 0x40, 0x80, // MAX_AUTH_TOKEN_CACHE_SIZE 128
			0x05, 0x03, "a:1", // AUTHORITY "a:1"
			0x3e, 0x07, // unknown even 0x3e = 7
			0x3e, 0x08, // duplicate unknown parameters are allowed
		),
		msg: &ClientSetup{
			Versions: []Version{Draft14, 1},
			Params: SetupParams{
				AuthorizationTokens:   [][]byte{bs(0x03, 0x00, "jw")},
				MaxAuthTokenCacheSize: 128,
				Authority:             ptr("a:1"),
				Unknown:               []KeyValue{{Type: 0x3e, Value: 7}, {Type: 0x3e, Value: 8}},
			},
		},
	},
	{
		name: "CLIENT_SETUP", v: Draft16,
		wire: bs(
			0x20,       // type CLIENT_SETUP
			0x00, 0x12, // length 18
			0x03,                // 3 parameters, no versions (ALPN moqt-16)
			0x01, 0x05, "/live", // delta 1: PATH (0x01)
			0x01, 0x40, 0x64, // delta 1: MAX_REQUEST_ID (0x02) 100
			0x05, 0x05, "moqgw", // delta 5: MOQT_IMPLEMENTATION (0x07)
		),
		msg: &ClientSetup{Params: SetupParams{Path: ptr("/live"), MaxRequestID: 100, Implementation: "moqgw"}},
	},
	{
		name: "CLIENT_SETUP with empty PATH", v: Draft16,
		wire: bs(
			0x20,       // type CLIENT_SETUP
			0x00, 0x03, // length 3
			0x01,       // 1 parameter
			0x01, 0x00, // delta 1: PATH "" (moqt://host has an empty path-abempty)
		),
		msg: &ClientSetup{Params: SetupParams{Path: ptr("")}},
	},
	{
		name: "SERVER_SETUP", v: Draft16,
		wire: bs(
			0x21,       // type SERVER_SETUP
			0x00, 0x07, // length 7
			0x02,             // 2 parameters
			0x02, 0x40, 0x64, // delta 2: MAX_REQUEST_ID 100
			0x1f, 0x01, "x", // delta 0x1f: unknown odd 0x21 = "x"
		),
		msg: &ServerSetup{Params: SetupParams{MaxRequestID: 100, Unknown: []KeyValue{{Type: 0x21, Bytes: []byte("x")}}}},
	},
}
