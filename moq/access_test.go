package moq

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// TestReadAccess: a server's Authorize sees the tokens of CLIENT_SETUP
// and of the WebTransport URL's jwt query; what its ReadAccess refuses is
// neither announced nor served (UNAUTHORIZED, or EXPIRED_AUTH_TOKEN), and
// a request's own token counts too.
func TestReadAccess(t *testing.T) {
	paid := Namespace{"paid", "x"}
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			origin := NewOrigin()
			for _, ns := range []Namespace{paid, cam1} { // paid first: announced first if at all
				b, err := origin.Publish(ns, nil)
				require.NoError(t, err)
				_, err = b.CreateTrack("video", TrackOptions{})
				require.NoError(t, err)
			}
			var mu sync.Mutex
			var seen []Credentials
			_, addr := testServer(t, origin, SessionConfig{Authorize: func(c Credentials) (ReadAccess, error) {
				mu.Lock()
				seen = append(seen, c)
				mu.Unlock()
				return func(ns Namespace, tokens []string) error {
					all := append(tokens, c.Tokens...)
					switch {
					case !ns.HasPrefix(Namespace{"paid"}), slices.Contains(all, "letmein"):
						return nil
					case slices.Contains(all, "old"):
						return fmt.Errorf("%w: since yesterday", ErrTokenExpired)
					}
					return errors.New("no token")
				}, nil
			}})
			ctx := testCtx(t)
			dial := func(url, token string) *Session {
				return dialTestWith(t, url, DialOptions{Versions: []wire.Version{tc.version}, Session: SessionConfig{AuthorizationToken: []byte(token)}})
			}
			refusal := func(s *Session) wire.RequestErrorCode {
				_, err := s.Subscribe(ctx, paid, "video", SubscribeOptions{})
				re, ok := errors.AsType[*RequestError](err)
				require.True(t, ok, "%v", err)
				return re.Code
			}

			anon := dial(tc.url(addr), "")
			require.NoError(t, anon.WaitAnnounced(ctx, cam1))
			require.NotContains(t, anon.Announced(), paid, "not announced to whom may not read it")
			require.Equal(t, wire.RequestUnauthorized, refusal(anon))
			_, err := anon.Subscribe(ctx, cam1, "video", SubscribeOptions{})
			require.NoError(t, err, "an open path")

			require.Equal(t, wire.RequestExpiredAuthToken, refusal(dial(tc.url(addr), "old")))

			member := dial(tc.url(addr), "letmein")
			require.NoError(t, member.WaitAnnounced(ctx, paid))
			_, err = member.Subscribe(ctx, paid, "video", SubscribeOptions{})
			require.NoError(t, err)

			if tc.url(addr)[:5] == "https" {
				viaURL := dial(tc.url(addr)+"?jwt=letmein", "")
				require.NoError(t, viaURL.WaitAnnounced(ctx, paid))
				mu.Lock()
				last := seen[len(seen)-1]
				mu.Unlock()
				require.Equal(t, "/moq?jwt=letmein", last.Path)
				require.Equal(t, []string{"letmein"}, last.Tokens)

				inPath := dial(tc.url(addr)+"/letmein", "") // Cloudflare's /PATH/TOKEN
				require.NoError(t, inPath.WaitAnnounced(ctx, paid))
				mu.Lock()
				last = seen[len(seen)-1]
				mu.Unlock()
				require.Equal(t, []string{"letmein"}, last.Tokens)
			}
			mu.Lock()
			defer mu.Unlock()
			require.Contains(t, seen[2].Tokens, "letmein", "CLIENT_SETUP's AUTHORIZATION_TOKEN")
		})
	}
}
