package wire

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type keyValuesCase struct {
	name string
	v    Version
	wire []byte
	kvs  []KeyValue
}

var keyValuesCases = []keyValuesCase{
	{
		name: "absolute types", v: Draft14,
		wire: bs(
			0x3e, 0x02, // type 0x3e (even): varint 2
			0x0b, 0x02, 0x3c, 0x01, // type 0x0b (odd): 2 bytes
			0x02, 0x40, 0x64, // type 0x02 (even): varint 100, out of order is fine
		),
		kvs: []KeyValue{
			{Type: 0x3e, Value: 2},
			{Type: 0x0b, Bytes: bs(0x3c, 0x01)},
			{Type: 0x02, Value: 100},
		},
	},
	{
		name: "delta types", v: Draft16,
		wire: bs(
			0x02, 0x40, 0x64, // delta 0x02: type 0x02 = 100
			0x09, 0x02, 0x3c, 0x01, // delta 0x09: type 0x0b, 2 bytes
			0x33, 0x02, // delta 0x33: type 0x3e = 2
			0x00, 0x03, // delta 0: type 0x3e again = 3
		),
		kvs: []KeyValue{
			{Type: 0x02, Value: 100},
			{Type: 0x0b, Bytes: bs(0x3c, 0x01)},
			{Type: 0x3e, Value: 2},
			{Type: 0x3e, Value: 3},
		},
	},
	{
		name: "empty odd value", v: Draft16,
		wire: bs(0x0d, 0x00),
		kvs:  []KeyValue{{Type: 0x0d}},
	},
}

func TestKeyValues(t *testing.T) {
	for _, c := range keyValuesCases {
		t.Run(c.v.String()+"/"+c.name, func(t *testing.T) {
			kvs, err := ParseKeyValues(c.wire, c.v)
			require.NoError(t, err)
			require.Equal(t, c.kvs, kvs)
			b, err := AppendKeyValues(nil, c.v, c.kvs)
			require.NoError(t, err)
			require.Equal(t, c.wire, b)
		})
	}
}

func TestKeyValuesDraft16SortsOnACopy(t *testing.T) {
	kvs := []KeyValue{{Type: 0x3e, Value: 2}, {Type: 0x02, Value: 100}}
	b, err := AppendKeyValues(nil, Draft16, kvs)
	require.NoError(t, err)
	require.Equal(t, bs(0x02, 0x40, 0x64, 0x3c, 0x02), b)
	require.Equal(t, uint64(0x3e), kvs[0].Type, "caller's slice untouched")
}

func TestKeyValuesErrors(t *testing.T) {
	long := bs(0x01, 0x80, 0x01, 0x00, 0x00, strings.Repeat("x", 1<<16))
	for _, c := range []struct {
		name string
		v    Version
		wire []byte
		err  error
	}{
		{"value over 65535 bytes", Draft14, long, ErrTooLarge},
		{"value runs past the block", Draft14, bs(0x01, 0x03, "ab"), nil},
		{"varint value missing", Draft16, bs(0x02), nil},
		{
			"delta overflows 2^64-1", Draft16,
			bs(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x00,
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x00,
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x00,
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x00,
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x00),
			ErrProtocolViolation,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseKeyValues(c.wire, c.v)
			require.Error(t, err)
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
			}
			require.Equal(t, SessionProtocolViolation, SessionCode(err))
		})
	}
	_, err := AppendKeyValues(nil, Draft14, []KeyValue{{Type: 1, Value: 3}})
	require.Error(t, err, "odd type with a varint value")
	_, err = AppendKeyValues(nil, Draft14, []KeyValue{{Type: 1, Bytes: make([]byte, 1<<16)}})
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestToken(t *testing.T) {
	for _, c := range []struct {
		name string
		wire []byte
		tok  Token
	}{
		{"DELETE", bs(0x00, 0x05), Token{AliasType: TokenDelete, Alias: 5}},
		{"REGISTER", bs(0x01, 0x05, 0x00, "jwt"), Token{AliasType: TokenRegister, Alias: 5, Value: []byte("jwt")}},
		{"USE_ALIAS", bs(0x02, 0x05), Token{AliasType: TokenUseAlias, Alias: 5}},
		{"USE_VALUE", bs(0x03, 0x01, "jwt"), Token{AliasType: TokenUseValue, Type: 1, Value: []byte("jwt")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := ParseToken(c.wire)
			require.NoError(t, err)
			require.Equal(t, c.tok, tok)
			b, err := tok.Append(nil)
			require.NoError(t, err)
			require.Equal(t, c.wire, b)
		})
	}
	// Eyevinn v0.9.0 sends the bare token string, which is no Token structure.
	_, err := ParseToken([]byte("secret"))
	require.ErrorIs(t, err, ErrKeyValueFormatting)
	require.Equal(t, SessionKeyValueFormattingError, SessionCode(err))
	_, err = ParseToken(bs(0x00, 0x05, 0x00))
	require.ErrorIs(t, err, ErrKeyValueFormatting, "bytes after a DELETE")
}

func TestMessageParamDefined(t *testing.T) {
	require.True(t, MessageParamDefined(Draft14, paramMaxCacheDuration))
	require.False(t, MessageParamDefined(Draft16, paramMaxCacheDuration))
	require.True(t, MessageParamDefined(Draft16, paramSubscriptionFilter))
	require.False(t, MessageParamDefined(Draft14, paramSubscriptionFilter))
	require.True(t, MessageParamDefined(Draft16, paramAuthorizationToken))
	require.False(t, MessageParamDefined(Draft16, 0x40))
}

func FuzzKeyValues(f *testing.F) {
	for _, c := range keyValuesCases {
		f.Add(c.wire, c.v == Draft16)
	}
	f.Fuzz(func(t *testing.T, data []byte, draft16 bool) {
		v := Draft14
		if draft16 {
			v = Draft16
		}
		kvs, err := ParseKeyValues(data, v)
		if err != nil {
			require.Error(t, validateKeyValues(data, v))
			return
		}
		require.NoError(t, validateKeyValues(data, v))
		b, err := AppendKeyValues(nil, v, kvs)
		require.NoError(t, err)
		kvs2, err := ParseKeyValues(b, v)
		require.NoError(t, err)
		require.Equal(t, kvs, kvs2)
		if tok, err := ParseToken(data); err == nil {
			b, err := tok.Append(nil)
			require.NoError(t, err)
			tok2, err := ParseToken(b)
			require.NoError(t, err)
			require.Equal(t, tok, tok2)
		}
	})
}
