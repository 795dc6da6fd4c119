package wire

var goAwayCases = []controlCase{
	{
		name: "GOAWAY", v: Draft14,
		wire: bs(
			0x10,       // type GOAWAY
			0x00, 0x09, // length 9
			0x08, "moqt://b", // New Session URI
		),
		msg: &GoAway{NewSessionURI: "moqt://b"},
	},
	{
		name: "GOAWAY reusing the URI", v: Draft16,
		wire: bs(
			0x10,       // type GOAWAY
			0x00, 0x01, // length 1
			0x00, // empty New Session URI
		),
		msg: &GoAway{},
	},
}
