package wire

import (
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// TestSetup18Vectors: SETUP laid out as draft-18 §10.3 and §1.4.3 (and
// draft-21 §9.1, §8.3) give it: type 0x2F00 as vi64 (AF 00), a 16-bit
// length, then delta-typed options to the end.
func TestSetup18Vectors(t *testing.T) {
	path, authority := "/", "example.com"
	client := SetupParams{Path: &path, Authority: &authority, Implementation: "gw/1"}
	// PATH 0x01 (delta 1, length 1, "/"), AUTHORITY 0x05 (delta 4, length
	// 11), MOQT_IMPLEMENTATION 0x07 (delta 2, length 4): 22 bytes.
	vec := unhex(t, "af00 0016 01 01 2f 04 0b 6578616d706c652e636f6d 02 04 67772f31")
	got, err := AppendSetup18(nil, client)
	require.NoError(t, err)
	require.Equal(t, vec, got)
	p, n, err := ParseSetup18(append(vec, 0xee))
	require.NoError(t, err)
	require.Equal(t, len(vec), n, "the message ends at its length")
	require.Equal(t, client, p)

	// Even types carry a bare integer; unknown ones (MAX_FILTER_RANGES 0x06
	// and MAX_REQUEST_UPDATES 0x08 of draft-19) are kept.
	p, _, err = ParseSetup18(unhex(t, "af00 0006 04 00 02 02 02 04"))
	require.NoError(t, err)
	require.Equal(t, SetupParams{Unknown: []KeyValue{{Type: 6, Value: 2}, {Type: 8, Value: 4}}}, p)
	got, err = AppendSetup18(nil, p)
	require.NoError(t, err)
	require.Equal(t, unhex(t, "af00 0004 06 02 02 04"), got)

	p, n, err = ParseSetup18(unhex(t, "af00 0000"))
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.Equal(t, SetupParams{}, p)

	// AUTHORIZATION_TOKEN may repeat (delta 0 the second time); a token is
	// a USE_VALUE (3), type 0, value "ab".
	p, _, err = ParseSetup18(unhex(t, "af00 000a 03 04 03006162 00 02 0300"))
	require.NoError(t, err)
	require.Equal(t, [][]byte{{3, 0, 'a', 'b'}, {3, 0}}, p.AuthorizationTokens)
}

func TestSetup18Errors(t *testing.T) {
	for name, tc := range map[string]struct {
		hex string
		eof bool
	}{
		"not SETUP":               {hex: "20 00"},
		"old CLIENT_SETUP type":   {hex: "4020 0000"},
		"PATH twice":              {hex: "af00 0006 01 01 2f 00 01 2f"},
		"odd length past the end": {hex: "af00 0003 01 05 2f"},
		"truncated type":          {hex: "af", eof: true},
		"truncated length":        {hex: "af00 00", eof: true},
		"truncated body":          {hex: "af00 0005 01 01", eof: true},
		"option cut inside":       {hex: "af00 0001 01"},
	} {
		_, _, err := ParseSetup18(unhex(t, tc.hex))
		if tc.eof {
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, name)
			continue
		}
		require.ErrorIs(t, err, ErrProtocolViolation, name)
	}
	_, err := AppendSetup18(nil, SetupParams{MaxRequestID: 10})
	require.ErrorIs(t, err, ErrProtocolViolation, "no MAX_REQUEST_ID from draft-17 on")
}

func FuzzSetup18(f *testing.F) {
	f.Add(unhex(f, "af00 0016 01 01 2f 04 0b 6578616d706c652e636f6d 02 04 67772f31"))
	f.Add(unhex(f, "af00 0006 04 00 02 02 02 04"))
	f.Add(unhex(f, "af00 0000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n, err := ParseSetup18(b)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatalf("took %d of %d bytes", n, len(b))
		}
		enc, err := AppendSetup18(nil, p)
		if err != nil {
			t.Fatalf("re-encoding what parsed: %v", err)
		}
		q, m, err := ParseSetup18(enc)
		if err != nil || m != len(enc) {
			t.Fatalf("re-parse: %v", err)
		}
		// Options arrive in type order (deltas), so they go out as they
		// came; an explicit zero MAX_AUTH_TOKEN_CACHE_SIZE is the default
		// and is not written again.
		p.MaxAuthTokenCacheSize, q.MaxAuthTokenCacheSize = 0, 0
		require.Equal(t, p, q)
	})
}
