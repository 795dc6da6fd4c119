package moq

import (
	"testing"

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
