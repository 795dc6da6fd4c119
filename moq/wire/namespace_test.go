package wire

var namespaceCases = []controlCase{
	{
		name: "PUBLISH_NAMESPACE", v: Draft14,
		wire: bs(
			0x06,       // type PUBLISH_NAMESPACE
			0x00, 0x08, // length 8
			0x00,               // Request ID 0
			0x01, 0x04, "live", // Track Namespace (live)
			0x00, // no parameters
		),
		msg: &PublishNamespace{Namespace: Namespace{"live"}},
	},
	{
		name: "PUBLISH_NAMESPACE", v: Draft16,
		wire: bs(
			0x06,       // type PUBLISH_NAMESPACE
			0x00, 0x0f, // length 15
			0x00,               // Request ID 0
			0x01, 0x04, "live", // Track Namespace (live)
			0x01,                      // 1 parameter
			0x03, 0x05, tokenUseValue, // +0x03 = AUTHORIZATION_TOKEN
		),
		msg: &PublishNamespace{Namespace: Namespace{"live"}, Params: Params{AuthorizationTokens: [][]byte{tokenUseValue}}},
	},
	{
		name: "PUBLISH_NAMESPACE_DONE", v: Draft14,
		wire: bs(
			0x09,       // type PUBLISH_NAMESPACE_DONE
			0x00, 0x06, // length 6
			0x01, 0x04, "live", // Track Namespace (live)
		),
		msg: &PublishNamespaceDone{Namespace: Namespace{"live"}},
	},
	{
		name: "PUBLISH_NAMESPACE_DONE", v: Draft16,
		wire: bs(0x09, 0x00, 0x01, 0x04), // type, length 1, Request ID 4
		msg:  &PublishNamespaceDone{RequestID: 4},
	},
	{
		name: "PUBLISH_NAMESPACE_CANCEL", v: Draft14,
		wire: bs(
			0x0c,       // type PUBLISH_NAMESPACE_CANCEL
			0x00, 0x08, // length 8
			0x01, 0x04, "live", // Track Namespace (live)
			0x04, // Error Code UNINTERESTED (draft-14 value)
			0x00, // empty Reason Phrase
		),
		msg: &PublishNamespaceCancel{Namespace: Namespace{"live"}, Code: RequestUninterested},
	},
	{
		name: "PUBLISH_NAMESPACE_CANCEL", v: Draft16,
		wire: bs(
			0x0c,       // type PUBLISH_NAMESPACE_CANCEL
			0x00, 0x04, // length 4
			0x04,      // Request ID 4
			0x20,      // Error Code UNINTERESTED (draft-16 value)
			0x01, "x", // Reason Phrase
		),
		msg: &PublishNamespaceCancel{RequestID: 4, Code: RequestUninterested, Reason: "x"},
	},
	{
		name: "SUBSCRIBE_NAMESPACE", v: Draft14,
		wire: bs(
			0x11,       // type SUBSCRIBE_NAMESPACE
			0x00, 0x08, // length 8
			0x0e,               // Request ID 14
			0x01, 0x04, "live", // Track Namespace Prefix (live)
			0x00, // no parameters
		),
		msg: &SubscribeNamespace{
			RequestID: 14, Prefix: Namespace{"live"}, Options: NamespaceOptionsBoth, Forward: true,
		},
	},
	{
		// Out of the text (draft-14 §9.28 wants 1..32 fields), as moq-dev's
		// relay sends it; the session decides whether to accept it.
		name: "SUBSCRIBE_NAMESPACE without prefix fields (moq-lite-rs)", v: Draft14,
		wire: bs(
			0x11,       // type SUBSCRIBE_NAMESPACE
			0x00, 0x03, // length 3
			0x00, // Request ID 0
			0x00, // Track Namespace Prefix with no fields
			0x00, // no parameters
		),
		msg: &SubscribeNamespace{Prefix: Namespace{}, Options: NamespaceOptionsBoth, Forward: true, EmptyPrefix14: true},
	},
	{
		name: "SUBSCRIBE_NAMESPACE", v: Draft16,
		wire: bs(
			0x11,       // type SUBSCRIBE_NAMESPACE
			0x00, 0x06, // length 6
			0x0e,       // Request ID 14
			0x00,       // Track Namespace Prefix with no fields: everything
			0x01,       // Subscribe Options: NAMESPACE
			0x01,       // 1 parameter
			0x10, 0x01, // +0x10 = FORWARD 1
		),
		msg: &SubscribeNamespace{RequestID: 14, Prefix: Namespace{}, Options: NamespaceOptionsNamespace, Forward: true},
	},
	{
		name: "UNSUBSCRIBE_NAMESPACE", v: Draft14,
		wire: bs(
			0x14,       // type UNSUBSCRIBE_NAMESPACE
			0x00, 0x06, // length 6
			0x01, 0x04, "live", // Track Namespace Prefix (live)
		),
		msg: &UnsubscribeNamespace{Prefix: Namespace{"live"}},
	},
	{
		name: "NAMESPACE", v: Draft16,
		wire: bs(
			0x08,       // type NAMESPACE
			0x00, 0x06, // length 6
			0x01, 0x04, "room", // Track Namespace Suffix (room)
		),
		msg: &NamespaceMessage{Suffix: Namespace{"room"}},
	},
	{
		name: "NAMESPACE_DONE", v: Draft16,
		wire: bs(
			0x0e,       // type NAMESPACE_DONE
			0x00, 0x06, // length 6
			0x01, 0x04, "room", // Track Namespace Suffix (room)
		),
		msg: &NamespaceDone{Suffix: Namespace{"room"}},
	},
}

// Draft-16 messages as Eyevinn v0.9.0 sends them: in the draft-14 layout.
var namespaceCasesEyevinn16 = []controlCase{
	{
		name: "PUBLISH_NAMESPACE_DONE with a namespace (Eyevinn v0.9.0)", v: Draft16,
		wire: bs(
			0x09,       // type PUBLISH_NAMESPACE_DONE
			0x00, 0x06, // length 6
			0x01, 0x04, "live", // Track Namespace instead of a Request ID
		),
		msg: &PublishNamespaceDone{Namespace: Namespace{"live"}, NamespaceForm: true},
	},
	{
		name: "PUBLISH_NAMESPACE_CANCEL with a namespace (Eyevinn v0.9.0)", v: Draft16,
		wire: bs(
			0x0c,       // type PUBLISH_NAMESPACE_CANCEL
			0x00, 0x0a, // length 10
			0x01, 0x05, "live2", // Track Namespace instead of a Request ID
			0x04,      // Error Code, written as is (Eyevinn passes the application's value)
			0x01, "x", // Reason Phrase
		),
		msg: &PublishNamespaceCancel{Namespace: Namespace{"live2"}, Code: 0x4, Reason: "x", NamespaceForm: true},
	},
	{
		name: "SUBSCRIBE_NAMESPACE in the draft-14 layout (Eyevinn v0.9.0)", v: Draft16,
		wire: bs(
			0x11,       // type SUBSCRIBE_NAMESPACE
			0x00, 0x08, // length 8
			0x08,               // Request ID 8
			0x01, 0x04, "live", // Track Namespace Prefix
			0x00, // no parameters; no Subscribe Options field
		),
		msg: &SubscribeNamespace{
			RequestID: 8, Prefix: Namespace{"live"}, Options: NamespaceOptionsBoth, Forward: true,
			Draft14Layout: true,
		},
		parseOnly: true,
	},
}
