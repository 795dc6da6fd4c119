package wire

import (
	"io"
	"math/bits"
)

// The integer encoding of draft-18 and later (draft-18 §1.4.1, draft-21
// §8.1), which replaces the QUIC varint: the number of leading 1 bits of the
// first byte says how many bytes follow it (0 to 8), the bits after the
// first 0 and the bytes that follow hold the value, big-endian; 0xFF is
// followed by all 64 bits. Encodings need not be minimal.

// MaxVI64Len is the longest encoding: 0xFF and eight bytes.
const MaxVI64Len = 9

// VI64Len is the length of v's shortest encoding.
func VI64Len(v uint64) int {
	for n := 1; n <= 8; n++ {
		if v < 1<<(7*n) {
			return n
		}
	}
	return MaxVI64Len
}

// AppendVI64 appends v's shortest encoding to b.
func AppendVI64(b []byte, v uint64) []byte {
	n := VI64Len(v)
	if n == MaxVI64Len {
		b = append(b, 0xff)
		for s := 56; s >= 0; s -= 8 {
			b = append(b, byte(v>>s))
		}
		return b
	}
	// n-1 leading ones, a zero, then the value's high bits.
	prefix := byte(0xff << (9 - n))
	b = append(b, prefix|byte(v>>(8*(n-1))))
	for s := 8 * (n - 2); s >= 0; s -= 8 {
		b = append(b, byte(v>>s))
	}
	return b
}

// vi64Len is the length of the encoding whose first byte is first.
func vi64Len(first byte) int {
	ones := bits.LeadingZeros8(^first)
	if ones == 8 {
		return MaxVI64Len
	}
	return ones + 1
}

// ParseVI64 reads one integer from the start of b and returns it with the
// bytes it took; io.ErrUnexpectedEOF when b ends inside it.
func ParseVI64(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	ones := bits.LeadingZeros8(^b[0])
	n := vi64Len(b[0])
	if len(b) < n {
		return 0, 0, io.ErrUnexpectedEOF
	}
	var v uint64
	if ones < 8 {
		v = uint64(b[0] & (0xff >> n))
	}
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n, nil
}
