package srt

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
)

func TestParseStreamID(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		want  streamID
		isErr error
	}{
		{name: "access control", in: "#!::r=live/cam1,m=publish", want: streamID{Path: "live/cam1"}},
		{
			name: "access control with user and secret", in: "#!::u=alice,r=live/cam1,s=hunter2,m=publish",
			want: streamID{Path: "live/cam1", Creds: ingest.Credentials{User: "alice", Pass: "hunter2"}},
		},
		{name: "access control without mode publishes", in: "#!::r=live/cam1", want: streamID{Path: "live/cam1"}},
		{name: "access control ignores h and unknown keys", in: "#!::r=live/cam1,h=example.com,x-app=1,t=stream", want: streamID{Path: "live/cam1"}},
		{name: "access control secret with equals sign", in: "#!::r=a,s=x=y", want: streamID{Path: "a", Creds: ingest.Credentials{Pass: "x=y"}}},
		{name: "access control path cleaned", in: "#!::r=/live//cam1/", want: streamID{Path: "live/cam1"}},
		{name: "mediamtx", in: "publish:live/cam1", want: streamID{Path: "live/cam1"}},
		{
			name: "mediamtx with credentials", in: "publish:live/cam1:alice:hunter2",
			want: streamID{Path: "live/cam1", Creds: ingest.Credentials{User: "alice", Pass: "hunter2"}},
		},
		{name: "bare", in: "live/cam1", want: streamID{Path: "live/cam1"}},
		{name: "bare with key", in: "live/cam1?key=abc", want: streamID{Path: "live/cam1", Creds: ingest.Credentials{Pass: "abc"}}},
		{
			name: "bare with user and pass", in: "live/cam1?user=alice&pass=hunter2",
			want: streamID{Path: "live/cam1", Creds: ingest.Credentials{User: "alice", Pass: "hunter2"}},
		},

		{name: "empty", in: "", isErr: ErrBadStreamID},
		{name: "too long", in: strings.Repeat("a", MaxStreamIDLen+1), isErr: ErrBadStreamID},
		{name: "access control request", in: "#!::r=live/cam1,m=request", isErr: ErrNotPublish},
		{name: "access control bidirectional", in: "#!::r=live/cam1,m=bidirectional", isErr: ErrNotPublish},
		{name: "access control play", in: "#!::r=live/cam1,m=play", isErr: ErrNotPublish},
		{name: "access control without resource", in: "#!::m=publish", isErr: ErrBadStreamID},
		{name: "access control empty resource", in: "#!::r=,m=publish", isErr: ErrBadStreamID},
		{name: "access control key without value", in: "#!::r=live/cam1,m", isErr: ErrBadStreamID},
		{name: "access control empty key", in: "#!::=x,r=live/cam1", isErr: ErrBadStreamID},
		{name: "access control trailing comma", in: "#!::r=live/cam1,", isErr: ErrBadStreamID},
		{name: "access control repeated key", in: "#!::r=a,r=b", isErr: ErrBadStreamID},
		{name: "access control file type", in: "#!::r=a,t=file", isErr: ErrBadStreamID},
		{name: "access control nested syntax", in: "#!:{r=a}", isErr: ErrBadStreamID},
		{name: "access control dot-dot path", in: "#!::r=live/../etc", isErr: ErrBadStreamID},
		{name: "mediamtx read", in: "read:live/cam1", isErr: ErrNotPublish},
		{name: "mediamtx unknown action", in: "push:live/cam1", isErr: ErrBadStreamID},
		{name: "mediamtx three parts", in: "publish:live/cam1:alice", isErr: ErrBadStreamID},
		{name: "mediamtx empty path", in: "publish:", isErr: ErrBadStreamID},
		{name: "bare slash only", in: "/", isErr: ErrBadStreamID},
		{name: "bare control character", in: "live/\x01cam", isErr: ErrBadStreamID},
		{name: "bare bad query", in: "live/cam1?key=%zz", isErr: ErrBadStreamID},
		{name: "bare pass and key", in: "live/cam1?pass=a&key=b", isErr: ErrBadStreamID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStreamID(tc.in)
			if tc.isErr != nil {
				require.ErrorIs(t, err, tc.isErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzParseStreamID(f *testing.F) {
	for _, s := range []string{
		"#!::r=live/cam1,m=publish", "#!::u=a,s=b,r=x/y", "publish:live/cam1:u:p",
		"read:x", "live/cam1?key=k", "", "#!::", "a:b:c:d:e", "live/%2e%2e",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseStreamID(s)
		if err != nil {
			return
		}
		// A parsed path is clean, so it maps onto a MoQ namespace as is.
		clean, cerr := config.CleanPath(id.Path)
		require.NoError(t, cerr)
		require.Equal(t, clean, id.Path)
		require.LessOrEqual(t, len(s), MaxStreamIDLen)
	})
}
