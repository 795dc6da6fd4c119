package rtmp

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

// TestSecondPublisher covers a second publisher on a busy path: the sink
// replaces the first one (ending its publication, or failing its next
// WriteFrame with ErrReplaced), or refuses the newcomer.
func TestSecondPublisher(t *testing.T) {
	for _, tc := range []struct {
		name string
		// onSecond is what the sink does when the second publisher arrives;
		// it returns the error Publish returns.
		onSecond func(first *fakePub) error
		// firstWrites makes the first publisher send frames after the second
		// one arrived.
		firstWrites bool
		replaced    bool
	}{
		{"replace, first idle: Done closes", func(first *fakePub) error { first.end(); return nil }, false, true},
		{"replace, first streaming: WriteFrame fails", func(first *fakePub) error {
			first.failWrites(ingest.ErrReplaced)
			return nil
		}, true, true},
		{"reject", func(*fakePub) error { return ingest.ErrPathInUse }, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &fakeSink{}
			sink.publish = func(req ingest.PublishRequest, earlier []*fakePub) error {
				for _, p := range earlier {
					if p.req.Path == req.Path && !p.isClosed() {
						return tc.onSecond(p)
					}
				}
				return nil
			}
			logs := &logStore{}
			s := &Server{Sink: sink}
			addr := startServer(t, s, logs)
			u := "rtmp://" + addr + "/live/cam1"

			c1, p1 := publishH264(t, u, nil)
			first := sink.waitPublications(t, 1)[0]

			if !tc.replaced {
				c2, _ := publishRefused(t, u)
				waitClosedByServer(t, c2.NetConn())
				logs.wait(t, "busy path", isLine("path already has a publisher", "path", "live/cam1"))
				require.Len(t, sink.publications(), 1)
				require.False(t, first.isClosed())
				require.NoError(t, p1.push(5), "the first publisher keeps streaming")
				require.Equal(t, uint64(1), s.Stats().Rejected)
				return
			}

			_, _ = publishH264(t, u, nil)
			second := sink.waitPublications(t, 2)[1]
			if tc.firstWrites {
				// The first write that fails closes the connection; the
				// client's writes fail at the latest once it notices.
				for !first.isClosed() && p1.push(1) == nil {
					// Writes go on until the server closed the connection.
					continue
				}
			}
			waitClosedByServer(t, c1.NetConn())
			first.waitClosed(t)
			logs.wait(t, "replaced", isLine("replaced by a newer publisher", "path", "live/cam1"))
			require.False(t, second.isClosed())
			require.Equal(t, int64(1), s.Stats().Publishers)
		})
	}
}
