package ingest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAuthOpen(t *testing.T) {
	a := NewAuth(nil)
	require.True(t, a.Open())
	require.NoError(t, a.CheckPublish("live/x", Credentials{}))
	require.Equal(t, PolicyReplace, a.Policy("live/x"))
}

func TestAuthRules(t *testing.T) {
	a := NewAuth([]PathRule{
		{Path: "live/cam1", Pass: "k1"},
		{Path: "live/*", User: "ops", Pass: "k2", Policy: PolicyReject},
		{Path: "live/open"},
		{Path: "*", Pass: "any", Passphrase: "0123456789"},
	})
	require.False(t, a.Open())

	cases := []struct {
		path string
		c    Credentials
		ok   bool
	}{
		{"live/cam1", Credentials{Pass: "k1"}, true},
		{"live/cam1", Credentials{User: "whoever", Pass: "k1"}, true},
		{"live/cam1", Credentials{Pass: "k2"}, false},
		{"live/cam2", Credentials{User: "ops", Pass: "k2"}, true},
		{"live/cam2", Credentials{User: "dev", Pass: "k2"}, false},
		{"live/cam2", Credentials{Pass: "k2"}, false},
		{"live/open", Credentials{}, true},
		{"other/x", Credentials{Pass: "any"}, true},
		{"other/x", Credentials{Pass: ""}, false},
	}
	for _, tc := range cases {
		err := a.CheckPublish(tc.path, tc.c)
		if tc.ok {
			require.NoError(t, err, "%s %+v", tc.path, tc.c)
		} else {
			require.ErrorIs(t, err, ErrAuth, "%s %+v", tc.path, tc.c)
		}
	}
	require.Equal(t, PolicyReject, a.Policy("live/cam9"))
	require.Equal(t, PolicyReplace, a.Policy("live/cam1"))
	require.Equal(t, "0123456789", a.Passphrase("x/y"))
	require.Empty(t, a.Passphrase("live/cam1"))
}

func TestAuthClosedWithoutMatchingRule(t *testing.T) {
	a := NewAuth([]PathRule{{Path: "live/cam1"}})
	require.NoError(t, a.CheckPublish("live/cam1", Credentials{}))
	require.ErrorIs(t, a.CheckPublish("live/cam2", Credentials{}), ErrAuth)
	require.EqualError(t, ErrAuth, "authentication failed")
}
