package gateway

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/config"
)

func TestOpenWildcards(t *testing.T) {
	rules := []config.StreamRule{
		{Path: "*"},
		{Path: "live/*", Key: "k"},
		{Path: "studio/*", User: "u", Pass: "p"},
		{Path: "srt/*", Passphrase: "0123456789"},
		{Path: "live/cam1"},
	}
	require.Equal(t, []string{"*", "srt/*"}, openWildcards(rules))
}
