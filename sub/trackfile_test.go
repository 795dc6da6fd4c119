package sub

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

type bufCloser struct{ bytes.Buffer }

func (*bufCloser) Close() error { return nil }

// TestTrackFileOrder: groups that arrive interleaved on parallel streams
// are written whole, in group order, each object once.
func TestTrackFileOrder(t *testing.T) {
	obj := func(g, o uint64) moq.Object {
		return moq.Object{Group: g, ID: o, Payload: fmt.Appendf(nil, "[%d.%d]", g, o)}
	}
	eog := func(g, o uint64) moq.Object { return moq.Object{Group: g, ID: o, Status: wire.StatusEndOfGroup} }
	cases := []struct {
		name   string
		arrive []moq.Object
	}{
		{"in order", []moq.Object{obj(1, 0), obj(1, 1), eog(1, 2), obj(2, 0), obj(2, 1), eog(2, 2), obj(3, 0), obj(3, 1)}},
		{"second group first", []moq.Object{obj(2, 0), obj(1, 0), obj(2, 1), obj(1, 1), eog(1, 2), obj(3, 0), eog(2, 2), obj(3, 1)}},
		{"three at once", []moq.Object{obj(3, 0), obj(1, 0), obj(2, 0), obj(1, 1), obj(3, 1), obj(2, 1), eog(2, 2), eog(1, 2)}},
		// A relay's Largest Object subscription starts after the newest
		// object: the file starts at the next group's keyframe.
		{"joined mid-group", []moq.Object{obj(0, 5), obj(0, 6), eog(0, 7), obj(1, 0), obj(1, 1), eog(1, 2), obj(2, 0), obj(2, 1), eog(2, 2), obj(3, 0), obj(3, 1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bufCloser
			tf := &trackFile{name: "video", init: []byte("init;")}
			tf.f = &out
			tf.files = 1
			_, _ = out.Write(tf.init)
			for _, o := range tc.arrive {
				require.NoError(t, tf.add(o))
			}
			require.NoError(t, tf.close())
			require.Equal(t, "init;[1.0][1.1][2.0][2.1][3.0][3.1]", out.String())
		})
	}
}
