package wire

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// Draft-18 vectors, derived field by field from the draft-18 text (§10
// figures, §10.2 parameter encodings, §5.1.2 Subscription Filter); where
// docs/moqt-drafts-17-22.md or openmoq/moq5 give the same case, the bytes
// match theirs. Requests carry a Request ID, responses do not (§10.1).
var control18Cases = []controlCase{
	{
		name: "SUBSCRIBE largest object",
		v:    Draft18,
		// Type 0x03, Length 0x15, Request ID 0, Namespace (live), Track
		// Name video, 3 parameters: FORWARD (0x10) uint8 1, delta 0x10 to
		// SUBSCRIBER_PRIORITY (0x20) uint8 128, delta 1 to
		// SUBSCRIPTION_FILTER (0x21) length 1, Filter Type 2.
		wire: bs(0x03, 0x00, 0x15, 0x00, 0x01, 0x04, "live", 0x05, "video",
			0x03, 0x10, 0x01, 0x10, 0x80, 0x01, 0x01, 0x02),
		msg: &Subscribe{
			Namespace: Namespace{"live"}, TrackName: "video", SubscriberPriority: 128, Forward: true,
			Filter: Filter{Type: FilterLargestObject},
		},
	},
	{
		name: "SUBSCRIBE absolute range, descending, token",
		v:    Draft18,
		// Request ID 200 is 0x80 0xC8 in vi64. AUTHORIZATION_TOKEN (0x03)
		// length 3: USE_VALUE, type 0, "k"; FORWARD 0; priority 7; filter
		// AbsoluteRange start {300, 1} end group delta 2 (group 302);
		// GROUP_ORDER 2.
		wire: bs(0x03, 0x00, 0x1a, 0x80, 0xc8, 0x01, 0x01, "a", 0x01, "t",
			0x05, 0x03, 0x03, 0x03, 0x00, "k", 0x0d, 0x00, 0x10, 0x07,
			0x01, 0x05, 0x04, 0x81, 0x2c, 0x01, 0x02, 0x01, 0x02),
		msg: &Subscribe{
			RequestID: 200, Namespace: Namespace{"a"}, TrackName: "t", SubscriberPriority: 7,
			GroupOrder: GroupOrderDescending,
			Filter:     Filter{Type: FilterAbsoluteRange, Start: Location{300, 1}, EndGroup: 302},
			Params:     Params{AuthorizationTokens: [][]byte{{0x03, 0x00, 'k'}}},
		},
	},
	{
		name: "SUBSCRIBE_OK alias 1 largest {5,2}",
		v:    Draft18,
		wire: bs(0x04, 0x00, 0x05, 0x01, 0x01, 0x09, 0x05, 0x02),
		msg:  &SubscribeOK{TrackAlias: 1, Largest: &Location{5, 2}},
	},
	{
		name: "SUBSCRIBE_OK with track properties",
		v:    Draft18,
		// No parameters; Track Properties: DEFAULT_PUBLISHER_GROUP_ORDER
		// (0x22) 1, as a delta from 0.
		wire: bs(0x04, 0x00, 0x04, 0x02, 0x00, 0x22, 0x01),
		msg:  &SubscribeOK{TrackAlias: 2, GroupOrder: GroupOrderAscending},
	},
	{
		name: "REQUEST_OK empty",
		v:    Draft18,
		wire: bs(0x07, 0x00, 0x01, 0x00),
		msg:  &RequestOK{},
	},
	{
		name: "REQUEST_ERROR does not exist",
		v:    Draft18,
		wire: bs(0x05, 0x00, 0x07, 0x10, 0x00, 0x04, "nope"),
		msg:  &RequestError{Code: RequestDoesNotExist, Reason: "nope"},
	},
	{
		name: "PUBLISH_DONE track ended, 3 streams",
		v:    Draft18,
		wire: bs(0x0b, 0x00, 0x03, 0x02, 0x03, 0x00),
		msg:  &PublishDone{StatusCode: DoneTrackEnded, StreamCount: 3},
	},
	{
		name: "PUBLISH_DONE too far behind is 0x5 in draft-18",
		v:    Draft18,
		wire: bs(0x0b, 0x00, 0x03, 0x05, 0x00, 0x00),
		msg:  &PublishDone{StatusCode: DoneTooFarBehind},
	},
	{
		name: "GOAWAY on the control stream",
		v:    Draft18,
		// Empty URI, Timeout 1000 ms (0x83 0xE8), Request ID 0.
		wire: bs(0x10, 0x00, 0x04, 0x00, 0x83, 0xe8, 0x00),
		msg:  &GoAway{Timeout: 1000, RequestID: new(uint64(0))},
	},
	{
		name: "PUBLISH_NAMESPACE",
		v:    Draft18,
		wire: bs(0x06, 0x00, 0x08, 0x02, 0x01, 0x04, "live", 0x00),
		msg:  &PublishNamespace{RequestID: 2, Namespace: Namespace{"live"}},
	},
	{
		name: "SUBSCRIBE_NAMESPACE is 0x50",
		v:    Draft18,
		wire: bs(0x50, 0x00, 0x08, 0x04, 0x01, 0x04, "live", 0x00),
		msg:  &SubscribeNamespace{RequestID: 4, Prefix: Namespace{"live"}, Options: NamespaceOptionsNamespace, Forward: true},
	},
	{
		name: "SUBSCRIBE_NAMESPACE empty prefix",
		v:    Draft18,
		wire: bs(0x50, 0x00, 0x03, 0x00, 0x00, 0x00),
		msg:  &SubscribeNamespace{Prefix: Namespace{}, Options: NamespaceOptionsNamespace, Forward: true},
	},
	{
		name: "NAMESPACE",
		v:    Draft18,
		wire: bs(0x08, 0x00, 0x06, 0x01, 0x04, "cam1"),
		msg:  &NamespaceMessage{Suffix: Namespace{"cam1"}},
	},
	{
		name: "NAMESPACE_DONE",
		v:    Draft18,
		wire: bs(0x0e, 0x00, 0x06, 0x01, 0x04, "cam1"),
		msg:  &NamespaceDone{Suffix: Namespace{"cam1"}},
	},
	{
		name: "TRACK_STATUS",
		v:    Draft18,
		// Only AUTHORIZATION_TOKEN may appear here (§10.2); none is sent.
		wire: bs(0x0d, 0x00, 0x07, 0x02, 0x01, 0x01, "a", 0x01, "t", 0x00),
		msg:  &TrackStatus{RequestID: 2, Namespace: Namespace{"a"}, TrackName: "t", SubscriberPriority: 128, Forward: true},
	},
}

// Messages a draft-18 peer sends that the gateway only parses (to refuse
// or act on); the encoder does not write them.
var control18ParseCases = []controlCase{
	{
		name: "FETCH standalone {0,0}..{3,0}",
		v:    Draft18,
		wire: bs(0x16, 0x00, 0x13, 0x02, 0x01, 0x01, 0x04, "live", 0x05, "video", 0x00, 0x00, 0x03, 0x00, 0x00),
		msg: &Fetch{
			RequestID: 2, Type: FetchStandalone, Namespace: Namespace{"live"}, TrackName: "video",
			End: Location{3, 0}, SubscriberPriority: 128,
		},
	},
	{
		name: "FETCH relative joining",
		v:    Draft18,
		wire: bs(0x16, 0x00, 0x05, 0x04, 0x02, 0x02, 0x00, 0x00),
		msg:  &Fetch{RequestID: 4, Type: FetchRelativeJoining, JoiningRequestID: 2, SubscriberPriority: 128},
	},
	{
		name: "PUBLISH",
		v:    Draft18,
		wire: bs(0x1d, 0x00, 0x0a, 0x02, 0x01, 0x01, "a", 0x01, "t", 0x05, 0x01, 0x10, 0x01),
		msg:  &Publish{RequestID: 2, Namespace: Namespace{"a"}, TrackName: "t", TrackAlias: 5, Forward: true},
	},
	{
		name: "REQUEST_UPDATE forward 0",
		v:    Draft18,
		wire: bs(0x02, 0x00, 0x04, 0x06, 0x01, 0x10, 0x00),
		msg:  &RequestUpdate{RequestID: 6, Forward: new(false)},
	},
	{
		name: "SUBSCRIBE_TRACKS",
		v:    Draft18,
		wire: bs(0x51, 0x00, 0x03, 0x02, 0x00, 0x00),
		msg:  &SubscribeNamespace{RequestID: 2, Prefix: Namespace{}, Options: NamespaceOptionsPublish, Forward: true},
	},
	{
		name: "REQUEST_ERROR redirect",
		v:    Draft18,
		wire: bs(0x05, 0x00, 0x06, 0x34, 0x01, 0x00, 0x00, 0x00, 0x00),
		msg:  &RequestError{Code: requestRedirect18, RetryInterval: 1},
	},
}

var control18ErrorCases = []struct {
	name string
	wire []byte
}{
	{"unknown parameter", bs(0x07, 0x00, 0x03, 0x01, 0x0c, 0x00)},
	{"parameter repeated", bs(0x03, 0x00, 0x0b, 0x00, 0x01, 0x01, "a", 0x01, "t", 0x02, 0x10, 0x01, 0x00, 0x01)},
	{"forward 2", bs(0x03, 0x00, 0x09, 0x00, 0x01, 0x01, "a", 0x01, "t", 0x01, 0x10, 0x02)},
	{"filter type 5", bs(0x03, 0x00, 0x0a, 0x00, 0x01, 0x01, "a", 0x01, "t", 0x01, 0x21, 0x01, 0x05)},
	{"UNSUBSCRIBE is gone", bs(0x0a, 0x00, 0x01, 0x00)},
	{"MAX_REQUEST_ID is gone", bs(0x15, 0x00, 0x01, 0x00)},
	{"second SETUP", bs(0xaf, 0x00, 0x00, 0x00)},
	{"trailing byte", bs(0x07, 0x00, 0x02, 0x00, 0x00)},
	{"short body", bs(0x07, 0x00, 0x05, 0x00)},
}

func TestControl18(t *testing.T) {
	for _, c := range control18Cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := AppendControl(nil, Draft18, c.msg)
			require.NoError(t, err)
			require.Equal(t, c.wire, b, "encode")
			m, err := ReadControl(bytes.NewReader(c.wire), Draft18)
			require.NoError(t, err)
			require.Equal(t, c.msg, m, "parse")
		})
	}
	for _, c := range control18ParseCases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ReadControl(bytes.NewReader(c.wire), Draft18)
			require.NoError(t, err)
			require.Equal(t, c.msg, m)
		})
	}
	for _, c := range control18ErrorCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadControl(bytes.NewReader(c.wire), Draft18)
			require.Error(t, err)
			require.Equal(t, SessionProtocolViolation, SessionCode(err), "%v", err)
		})
	}
}

func TestControl18RefusesOlderMessages(t *testing.T) {
	for _, m := range []Message{&Unsubscribe{}, &MaxRequestID{}, &ClientSetup{}, &FetchCancel{}} {
		_, err := AppendControl(nil, Draft18, m)
		require.Error(t, err, "%T", m)
	}
}

func TestSubgroup18(t *testing.T) {
	// draft-18 §11.6: Type 0x14 (explicit subgroup ID), alias 2, group 0,
	// subgroup 0, priority 0.
	h := SubgroupHeader{TrackAlias: 2, SubgroupIDMode: SubgroupIDExplicit}
	require.Equal(t, bs(0x14, 0x02, 0x00, 0x00, 0x00), h.Append(nil, Draft18))
	// FIRST_OBJECT (0x40) with END_OF_GROUP and DEFAULT_PRIORITY: 0x78, a
	// single vi64 byte where a QUIC varint needs two; group 200 is 0x80 0xC8.
	h = SubgroupHeader{TrackAlias: 1, GroupID: 200, EndOfGroup: true, DefaultPriority: true, FirstObject: true}
	s := &SubgroupStream{Version: Draft18, Header: h}
	b := h.Append(nil, Draft18)
	b, err := s.AppendObjectHeader(b, ObjectHeader{ObjectID: 0, PayloadLength: 2})
	require.NoError(t, err)
	b = append(b, "ab"...)
	b, err = s.AppendObjectHeader(b, ObjectHeader{ObjectID: 1, PayloadLength: 2})
	require.NoError(t, err)
	b = append(b, "cd"...)
	want := bs(0x78, 0x01, 0x80, 0xc8, 0x00, 0x02, "ab", 0x00, 0x02, "cd")
	require.Equal(t, want, b)

	h2, _, objects, err := readSubgroup(bytes.NewReader(b), Draft18)
	require.NoError(t, err)
	require.Equal(t, h, h2)
	require.Len(t, objects, 2)
	require.True(t, IsSubgroupType(0x7d, Draft18))
	require.False(t, IsSubgroupType(0x7e, Draft18), "subgroup ID mode 0b11")
	require.False(t, IsSubgroupType(0x50, Draft16), "FIRST_OBJECT is draft-18")
}

func TestDatagram18(t *testing.T) {
	// Alias 1, group 300 (0x81 0x2C), object 0, priority omitted.
	d := Datagram{TrackAlias: 1, GroupID: 300, DefaultPriority: true, Payload: []byte("hi")}
	b, err := d.Append(nil, Draft18)
	require.NoError(t, err)
	require.Equal(t, bs(0x08, 0x01, 0x81, 0x2c, 0x00, "hi"), b)
	var got Datagram
	require.NoError(t, got.Parse(b, Draft18))
	require.Equal(t, d, got)
}

func FuzzControl18(f *testing.F) {
	for _, c := range control18Cases {
		f.Add(c.wire)
	}
	for _, c := range control18ParseCases {
		f.Add(c.wire)
	}
	for _, c := range control18ErrorCases {
		f.Add(c.wire)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadControl(bytes.NewReader(data), Draft18)
		if err != nil {
			return
		}
		switch m.(type) {
		case *Publish, *RequestUpdate:
			return // parsed only: the gateway refuses or applies them, never sends them
		}
		if sn, ok := m.(*SubscribeNamespace); ok && sn.Options == NamespaceOptionsPublish {
			return // SUBSCRIBE_TRACKS, parsed to be refused
		}
		if re, ok := m.(*RequestError); ok && re.Code == requestRedirect18 {
			return // the redirect target is not kept
		}
		b, err := AppendControl(nil, Draft18, m)
		require.NoError(t, err)
		m2, err := ReadControl(bytes.NewReader(b), Draft18)
		require.NoError(t, err)
		require.Equal(t, m, m2)
	})
}

func TestFetchStream18(t *testing.T) {
	// docs/moqt-drafts-17-22.md §2.11 (the draft-21 example, which
	// draft-18's delta coding shares): FETCH_HEADER for request 2; the first
	// object (flags 0x1C: group, object and priority present, subgroup 0)
	// group 3, object 0, priority 128, "ab"; the next (flags 0x00) object 1,
	// "cd". Then group 5 object 0: a Group ID Delta of 1 (5 = 3 + 1 + 1) and
	// an absolute Object ID; then object 3 of group 5: an Object ID Delta of 3.
	objs := []FetchObject{
		{GroupID: 3, ObjectID: 0, PublisherPriority: 128, PayloadLength: 2},
		{GroupID: 3, ObjectID: 1, PublisherPriority: 128, PayloadLength: 2},
		{GroupID: 5, ObjectID: 0, PublisherPriority: 128, PayloadLength: 2},
		{GroupID: 5, ObjectID: 3, PublisherPriority: 128, PayloadLength: 2},
	}
	payloads := []string{"ab", "cd", "ef", "gh"}
	b := FetchHeader{RequestID: 2}.Append(nil, Draft18)
	s := FetchStream{Version: Draft18}
	for i, o := range objs {
		var err error
		b, err = s.AppendObjectHeader(b, o)
		require.NoError(t, err)
		b = append(b, payloads[i]...)
	}
	want := bs(0x05, 0x02,
		0x1c, 0x03, 0x00, 0x80, 0x02, "ab",
		0x00, 0x02, "cd",
		0x0c, 0x01, 0x00, 0x02, "ef",
		0x04, 0x03, 0x02, "gh")
	require.Equal(t, want, b)

	r := bytes.NewReader(b)
	typ, err := ReadStreamType(r, Draft18)
	require.NoError(t, err)
	require.Equal(t, uint64(StreamTypeFetchHeader), typ)
	h, err := ReadFetchHeader(r, Draft18)
	require.NoError(t, err)
	require.Equal(t, uint64(2), h.RequestID)
	rs := FetchStream{Version: Draft18}
	for i, o := range objs {
		got, err := rs.ReadObjectHeader(r)
		require.NoError(t, err)
		require.Equal(t, o, got)
		p := make([]byte, got.PayloadLength)
		_, err = r.Read(p)
		require.NoError(t, err)
		require.Equal(t, payloads[i], string(p))
	}
}

func TestFetchOK18(t *testing.T) {
	// §10.13: End Of Track 0, End Location {3,7}, no parameters, no
	// properties.
	b, err := AppendControl(nil, Draft18, &FetchOK{End: Location{3, 7}})
	require.NoError(t, err)
	require.Equal(t, bs(0x18, 0x00, 0x04, 0x00, 0x03, 0x07, 0x00), b)
	m, err := ReadControl(bytes.NewReader(b), Draft18)
	require.NoError(t, err)
	require.Equal(t, &FetchOK{End: Location{3, 7}}, m)
}

func TestGoAway19(t *testing.T) {
	// Draft-19 removed GOAWAY's Request ID again (#1623): empty URI,
	// Timeout 1000 ms. A Request ID set on the message is not written, and
	// a draft-19 GOAWAY that carries one has a trailing byte.
	want := bs(0x10, 0x00, 0x03, 0x00, 0x83, 0xe8)
	b, err := AppendControl(nil, Draft19, &GoAway{Timeout: 1000, RequestID: new(uint64(3))})
	require.NoError(t, err)
	require.Equal(t, want, b)
	m, err := ReadControl(bytes.NewReader(want), Draft19)
	require.NoError(t, err)
	require.Equal(t, &GoAway{Timeout: 1000}, m)
	_, err = ReadControl(bytes.NewReader(bs(0x10, 0x00, 0x04, 0x00, 0x83, 0xe8, 0x00)), Draft19)
	require.Error(t, err)
	// Everything else is draft-18's layout.
	for _, c := range control18Cases {
		if _, ok := c.msg.(*GoAway); ok {
			continue
		}
		b, err := AppendControl(nil, Draft19, c.msg)
		require.NoError(t, err, c.name)
		require.Equal(t, c.wire, b, c.name)
	}
}

func FuzzControl19(f *testing.F) {
	for _, c := range control18Cases {
		f.Add(c.wire)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadControl(bytes.NewReader(data), Draft19)
		if err != nil {
			return
		}
		switch m.(type) {
		case *Publish, *RequestUpdate:
			return
		}
		if sn, ok := m.(*SubscribeNamespace); ok && sn.Options == NamespaceOptionsPublish {
			return
		}
		if re, ok := m.(*RequestError); ok && re.Code == requestRedirect18 {
			return
		}
		b, err := AppendControl(nil, Draft19, m)
		require.NoError(t, err)
		m2, err := ReadControl(bytes.NewReader(b), Draft19)
		require.NoError(t, err)
		require.Equal(t, m, m2)
	})
}

func TestPadding18(t *testing.T) {
	// §11.5: 0x132B3E28 opens a padding stream, 0x132B3E29 a padding
	// datagram, both 5-byte vi64s.
	r := bytes.NewReader(bs(0xf0, 0x13, 0x2b, 0x3e, 0x28, 0x00, 0x00))
	typ, err := ReadStreamType(r, Draft18)
	require.NoError(t, err)
	require.Equal(t, uint64(StreamTypePadding), typ)
	require.True(t, IsPaddingDatagram(bs(0xf0, 0x13, 0x2b, 0x3e, 0x29, 0x00)))
	require.False(t, IsPaddingDatagram(bs(0x08, 0x01, 0x00, 0x00)))
}
