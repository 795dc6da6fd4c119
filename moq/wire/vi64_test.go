package wire

import (
	"encoding/hex"
	"io"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVI64Vectors: the examples of draft-18 §1.4.1 (Table 4), the same in
// draft-21 §8.1, and the shortest encodings of values at each length's
// bounds.
func TestVI64Vectors(t *testing.T) {
	for _, tc := range []struct {
		hex     string
		v       uint64
		minimal bool
	}{
		{"25", 37, true},
		{"8025", 37, false},
		{"bbbd", 15293, true},
		{"ed7f3e7d", 226442877, true},
		{"faa1a0e403d8", 2893212287960, true},
		{"fc8998abc66bc0", 151288809941952, true},
		{"fefa318fa8e3ca11", 70423237261249041, true},
		{"ffffffffffffffffff", math.MaxUint64, true},
		// Constants of the later drafts, shortest form.
		{"af00", 0x2f00, true},           // SETUP
		{"f0132b3e28", 0x132b3e28, true}, // PADDING stream type
		{"7f", 127, true},
		{"8080", 128, true},
		{"bfff", 16383, true},
		{"c04000", 16384, true},
		{"feffffffffffffff", 1<<56 - 1, true},
		{"ff0100000000000000", 1 << 56, true},
	} {
		b, err := hex.DecodeString(tc.hex)
		require.NoError(t, err)
		v, n, err := ParseVI64(b)
		require.NoError(t, err, tc.hex)
		require.Equal(t, tc.v, v, tc.hex)
		require.Equal(t, len(b), n, tc.hex)
		if tc.minimal {
			require.Equal(t, tc.hex, hex.EncodeToString(AppendVI64(nil, tc.v)))
			require.Equal(t, len(b), VI64Len(tc.v))
		}
		_, _, err = ParseVI64(b[:len(b)-1])
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, "truncated %s", tc.hex)
	}
}

func FuzzVI64(f *testing.F) {
	for _, s := range []string{"25", "8025", "bbbd", "ffffffffffffffffff", "fe", ""} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := ParseVI64(b)
		if err != nil {
			return
		}
		if n < 1 || n > MaxVI64Len || n > len(b) {
			t.Fatalf("took %d bytes of %d", n, len(b))
		}
		enc := AppendVI64(nil, v)
		if len(enc) > n {
			t.Fatalf("shortest encoding of %d is %d bytes, longer than the %d read", v, len(enc), n)
		}
		back, m, err := ParseVI64(enc)
		if err != nil || back != v || m != len(enc) {
			t.Fatalf("round trip of %d: %d, %d, %v", v, back, m, err)
		}
	})
}
