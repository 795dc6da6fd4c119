package rtmp

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// TestSecondPublisher covers a second publisher on a busy path: the sink
// replaces the first one (ending its publication, or failing its next
// WriteFrame with ErrReplaced), or refuses the newcomer.
func TestSecondPublisher(t *testing.T) {
	for _, tc := range []struct {
		name string
		// onSecond is what the sink does when the second publisher arrives;
		// it returns the error Publish returns.
		onSecond func(first *ingesttest.Publication) error
		// firstWrites makes the first publisher send frames after the second
		// one arrived.
		firstWrites bool
		replaced    bool
	}{
		{"replace, first idle: Done closes", func(first *ingesttest.Publication) error { first.End(); return nil }, false, true},
		{"replace, first streaming: WriteFrame fails", func(first *ingesttest.Publication) error {
			first.FailWrites(ingest.ErrReplaced)
			return nil
		}, true, true},
		{"reject", func(*ingesttest.Publication) error { return ingest.ErrPathInUse }, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &ingesttest.Sink{}
			sink.Decide = func(req ingest.PublishRequest, earlier []*ingesttest.Publication) error {
				for _, p := range earlier {
					if p.Req.Path == req.Path && !p.IsClosed() {
						return tc.onSecond(p)
					}
				}
				return nil
			}
			logs := ingesttest.NewLogCapture(t)
			s := &Server{Sink: sink}
			addr := startServer(t, s, logs)
			u := "rtmp://" + addr + "/live/cam1"

			c1, p1 := publishH264(t, u, nil)
			first := sink.WaitPublication(t, 1)

			if !tc.replaced {
				c2, _ := publishRefused(t, u)
				waitClosedByServer(t, c2.NetConn())
				logs.WaitFunc(t, "busy path", isLine("path already has a publisher", "path", "live/cam1"))
				require.Len(t, sink.Publications(), 1)
				require.False(t, first.IsClosed())
				require.NoError(t, p1.push(5), "the first publisher keeps streaming")
				require.Equal(t, uint64(1), s.Stats().Rejected)
				return
			}

			_, _ = publishH264(t, u, nil)
			second := sink.WaitPublication(t, 2)
			if tc.firstWrites {
				// The first write that fails closes the connection; the
				// client's writes fail at the latest once it notices.
				for !first.IsClosed() && p1.push(1) == nil {
					// Writes go on until the server closed the connection.
					continue
				}
			}
			waitClosedByServer(t, c1.NetConn())
			first.WaitClosed(t)
			logs.WaitFunc(t, "replaced", isLine("replaced by a newer publisher", "path", "live/cam1"))
			require.False(t, second.IsClosed())
			require.Equal(t, int64(1), s.Stats().Publishers)
		})
	}
}
