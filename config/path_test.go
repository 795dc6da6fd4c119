package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCleanPath(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"/live/cam1", "live/cam1", true},
		{"live//cam1/", "live/cam1", true},
		{"cam1", "cam1", true},
		{"/", "", false},
		{"", "", false},
		{"/live/../x", "", false},
		{"/live/./x", "", false},
		{"/live/ca\x00m", "", false},
		{"/" + strings.Repeat("a/", 33), "", false},
		{"/" + strings.Repeat("a", MaxPathLen+1), "", false},
	}
	for _, tc := range cases {
		got, err := CleanPath(tc.in)
		if !tc.ok {
			require.ErrorIs(t, err, ErrBadPath, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got)
	}
}

func TestNamespace(t *testing.T) {
	require.Equal(t, []string{"live", "cam1"}, PathNamespace("live/cam1"))
	require.Equal(t, []string{"cam1"}, PathNamespace("cam1"))
}

func FuzzCleanPath(f *testing.F) {
	f.Add("/live/cam1")
	f.Add("a//b/../c")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := CleanPath(in)
		if err != nil {
			return
		}
		again, err := CleanPath(p)
		require.NoError(t, err)
		require.Equal(t, p, again, "Clean is idempotent")
		ns := PathNamespace(p)
		require.LessOrEqual(t, len(ns), MaxPathSegments)
		for _, f := range ns {
			require.NotEmpty(t, f)
		}
	})
}
