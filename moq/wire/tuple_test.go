package wire

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNamespace(t *testing.T) {
	ns := Namespace{"example.net", "team2"}
	require.Equal(t, 16, ns.Len())
	require.True(t, ns.HasPrefix(Namespace{"example.net"}))
	require.True(t, ns.HasPrefix(Namespace{}))
	require.False(t, ns.HasPrefix(Namespace{"example"}))
	require.False(t, ns.HasPrefix(Namespace{"example.net", "team2", "x"}))
	require.Equal(t, "example.net/team2", ns.String())
}

func TestNamespaceEncoding(t *testing.T) {
	e := encoder{}
	e.namespace(Namespace{"live", ""}, Draft14, trackNamespace)
	e.trackName("v", Namespace{"live", ""})
	require.NoError(t, e.err)
	// draft-14 allows an empty field; draft-16 does not (§2.4.1)
	require.Equal(t, bs(0x02, 0x04, "live", 0x00, 0x01, "v"), e.b)

	d := decoder{b: e.b}
	ns := d.namespace(Draft14, trackNamespace)
	require.Equal(t, Namespace{"live", ""}, ns)
	require.Equal(t, "v", d.trackName(ns))
	require.NoError(t, d.finish())

	d = decoder{b: e.b}
	d.namespace(Draft16, trackNamespace)
	require.ErrorIs(t, d.finish(), ErrProtocolViolation)

	e = encoder{}
	e.trackName(strings.Repeat("x", 4093), Namespace{"abcd"})
	require.ErrorIs(t, e.err, ErrTooLarge)
}

func FuzzNamespace(f *testing.F) {
	f.Add(bs(0x02, 0x04, "live", 0x00, 0x01, "v"), false)
	f.Add(bs(0x01, 0x04, "live", 0x05, "video"), true)
	f.Add(bs(0x00, 0x00), true)
	f.Fuzz(func(t *testing.T, data []byte, draft16 bool) {
		v, rule := Draft14, trackNamespace
		if draft16 {
			v, rule = Draft16, namespacePart16
		}
		d := decoder{b: data}
		ns := d.namespace(v, rule)
		name := d.trackName(ns)
		if d.err != nil {
			return
		}
		require.LessOrEqual(t, len(ns), MaxNamespaceFields)
		require.LessOrEqual(t, ns.Len()+len(name), MaxFullTrackNameLength)
		e := encoder{}
		e.namespace(ns, v, rule)
		e.trackName(name, ns)
		require.NoError(t, e.err)
		d2 := decoder{b: e.b}
		require.Equal(t, ns, d2.namespace(v, rule))
		require.Equal(t, name, d2.trackName(ns))
		require.NoError(t, d2.finish())
	})
}
