package wire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVersion(t *testing.T) {
	require.Equal(t, "draft-14", Draft14.String())
	require.Equal(t, "draft-16", Draft16.String())
	require.Equal(t, "0xff00000f", Version(0xff00000f).String())
	require.Equal(t, "moq-00", Draft14.ALPN())
	require.Equal(t, "moqt-16", Draft16.ALPN())
	require.Empty(t, Version(1).ALPN())
	for _, v := range []Version{Draft14, Draft16} {
		got, ok := VersionForALPN(v.ALPN())
		require.True(t, ok)
		require.Equal(t, v, got)
	}
	_, ok := VersionForALPN("moqt-15")
	require.False(t, ok)
}
