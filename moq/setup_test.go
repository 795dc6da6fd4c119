package moq

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// CLIENT_SETUP over raw QUIC carries the URI's path and query (PATH), its
// authority (AUTHORITY), our request limit, implementation and token.
func TestClientSetupParams(t *testing.T) {
	for _, v := range drafts {
		t.Run(v.String(), func(t *testing.T) {
			got := make(chan *wire.ClientSetup, 1)
			addr := rawServer(t, v.ALPN(), func(p *rawPeer) {
				cs, _ := p.read().(*wire.ClientSetup)
				got <- cs
				p.send(&wire.ServerSetup{SelectedVersion: v, Params: wire.SetupParams{Implementation: "raw"}})
				p.closed()
			})
			s := dialTestWith(t, "moqt://"+addr+"/live/x?jwt=abc", DialOptions{
				Versions: []wire.Version{v},
				Session:  SessionConfig{RequestWindow: 77, Implementation: "gw/1", AuthorizationToken: []byte("tok")},
			})
			require.Equal(t, "raw", s.PeerImplementation())
			cs := <-got
			require.NotNil(t, cs)
			require.Equal(t, "/live/x?jwt=abc", *cs.Params.Path)
			require.Equal(t, addr, *cs.Params.Authority)
			require.Equal(t, uint64(77), cs.Params.MaxRequestID)
			require.Equal(t, "gw/1", cs.Params.Implementation)
			require.Len(t, cs.Params.AuthorizationTokens, 1)
			tok, err := wire.ParseToken(cs.Params.AuthorizationTokens[0])
			require.NoError(t, err)
			require.Equal(t, []byte("tok"), tok.Value)
			if v == wire.Draft14 {
				require.Equal(t, []wire.Version{wire.Draft14}, cs.Versions)
			}
		})
	}
}

// PATH and AUTHORITY are raw QUIC parameters: over WebTransport they end
// the session.
func TestSetupParamsOverWebTransport(t *testing.T) {
	uri := "/x"
	cases := []struct {
		name   string
		params wire.SetupParams
		want   wire.SessionErrorCode
	}{
		{"path", wire.SetupParams{Path: &uri}, wire.SessionInvalidPath},
		{"authority", wire.SetupParams{Authority: &uri}, wire.SessionInvalidAuthority},
	}
	for _, tc := range cases {
		for _, v := range drafts {
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				_, addr := testServer(t, NewOrigin(), SessionConfig{})
				p := newRawPeer(t, dialRawConn(t, addr, true, v.ALPN(), nil), v)
				cs := &wire.ClientSetup{Params: tc.params}
				if v == wire.Draft14 {
					cs.Versions = []wire.Version{wire.Draft14}
				}
				p.send(cs)
				code, _ := p.closed()
				require.Equal(t, tc.want, code)
			})
		}
	}
}

// A client closes the session when SERVER_SETUP carries PATH or AUTHORITY,
// which only a client sends (draft-16 §9.3.1.1-2).
func TestServerSetupWithClientParams(t *testing.T) {
	for _, v := range drafts {
		for _, tc := range []struct {
			name   string
			params wire.SetupParams
			code   wire.SessionErrorCode
		}{
			{"PATH", wire.SetupParams{Path: ptr("/x")}, wire.SessionInvalidPath},
			{"AUTHORITY", wire.SetupParams{Authority: ptr("h:1")}, wire.SessionInvalidAuthority},
		} {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				closed := make(chan wire.SessionErrorCode, 1)
				addr := rawServer(t, v.ALPN(), func(p *rawPeer) {
					p.read()
					p.send(&wire.ServerSetup{SelectedVersion: v, Params: tc.params})
					code, _ := p.closed()
					closed <- code
				})
				_, err := Dial(testCtx(t), "moqt://"+addr, DialOptions{
					Versions: []wire.Version{v}, TLSConfig: insecureTLS(), Logger: testLogger(),
				})
				require.ErrorIs(t, err, &SessionError{Code: tc.code})
				require.Equal(t, tc.code, <-closed)
			})
		}
	}
}

// A server refuses a malformed PATH (draft-16 §9.3.1.1: path-abempty
// ["?" query]) and, in draft-16, a CLIENT_SETUP token that deletes or uses
// an alias, which cannot exist yet (§9.3.1.3).
func TestClientSetupRefused(t *testing.T) {
	useAlias, err := wire.Token{AliasType: wire.TokenUseAlias, Alias: 1}.Append(nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		v      wire.Version
		params wire.SetupParams
		code   wire.SessionErrorCode
	}{
		{"malformed PATH draft-14", wire.Draft14, wire.SetupParams{Path: ptr("live")}, wire.SessionMalformedPath},
		{"malformed PATH draft-16", wire.Draft16, wire.SetupParams{Path: ptr("live")}, wire.SessionMalformedPath},
		{"USE_ALIAS token draft-16", wire.Draft16, wire.SetupParams{Path: ptr(""), AuthorizationTokens: [][]byte{useAlias}}, wire.SessionProtocolViolation},
		{"unparsable token draft-16", wire.Draft16, wire.SetupParams{Path: ptr(""), AuthorizationTokens: [][]byte{{0x09}}}, wire.SessionMalformedAuthToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := testServer(t, NewOrigin(), SessionConfig{})
			p := newRawPeer(t, dialRawConn(t, addr, false, tc.v.ALPN(), nil), tc.v)
			cs := &wire.ClientSetup{Params: tc.params}
			if tc.v == wire.Draft14 {
				cs.Versions = []wire.Version{wire.Draft14}
			}
			p.send(cs)
			code, _ := p.closed()
			require.Equal(t, tc.code, code)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// moq-rs's draft-14 releases name no implementation; their SETUP (MAX_REQUEST_ID
// 100, and PATH from a client, nothing else) switches the moq-rs quirks on,
// on both sides. Another value, or another parameter, does not.
func TestMoqRS14SetupFingerprint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params wire.SetupParams
		moqRS  bool
	}{
		{"moq-rs", wire.SetupParams{MaxRequestID: 100}, true},
		{"named", wire.SetupParams{MaxRequestID: 100, Implementation: "other"}, false},
		{"another limit", wire.SetupParams{MaxRequestID: 1000}, false},
	} {
		t.Run("client/"+tc.name, func(t *testing.T) {
			addr := rawServer(t, wire.Draft14.ALPN(), func(p *rawPeer) {
				p.read()
				p.send(&wire.ServerSetup{SelectedVersion: wire.Draft14, Params: tc.params})
				p.closed()
			})
			s := dialTestWith(t, "moqt://"+addr, DialOptions{Versions: []wire.Version{wire.Draft14}})
			require.Equal(t, tc.moqRS, s.moqRS)
		})
		t.Run("server/"+tc.name, func(t *testing.T) {
			srv, addr := testServer(t, NewOrigin(), SessionConfig{})
			p := newRawPeer(t, dialRawConn(t, addr, false, wire.Draft14.ALPN(), nil), wire.Draft14)
			params := tc.params
			params.Path = ptr("")
			p.setup(params)
			require.Eventually(t, func() bool { return len(srv.Sessions()) == 1 }, rawTimeout, time.Millisecond)
			ss := srv.Sessions()[0]
			<-ss.ready // set up
			require.Equal(t, tc.moqRS, ss.moqRS)
		})
	}
}
