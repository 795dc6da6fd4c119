package moq

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// BenchmarkFanout measures one track fanned out to 1, 10 and 100
// subscriber sessions over loopback QUIC, with 1 KB and 20 KB objects in
// groups of 30 (one 1 s GOP at 30 fps). One op is one object delivered to
// every subscriber; MB/s is the total egress. Allocations count the whole
// process, so they include the subscribers' receive buffers (one per object
// and subscriber); the publisher side shares one payload among all.
func BenchmarkFanout(b *testing.B) {
	for _, size := range []int{1 << 10, 20 << 10} {
		for _, subs := range []int{1, 10, 100} {
			b.Run(fmt.Sprintf("obj=%dKB/subs=%d", size>>10, subs), func(b *testing.B) {
				benchFanout(b, size, subs)
			})
		}
	}
}

func benchFanout(b *testing.B, size, subs int) {
	origin := NewOrigin()
	bc, err := origin.Publish(Namespace{"bench"}, nil)
	require.NoError(b, err)
	tr, err := bc.CreateTrack("video", TrackOptions{})
	require.NoError(b, err)
	_, addr := testServer(b, origin, SessionConfig{})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Every subscriber counts what it received; the writer keeps at most a
	// group ahead of the slowest one, as a live source paced by time would,
	// so no subscriber lags into losing groups.
	received := make([]atomic.Int64, subs)
	var wg sync.WaitGroup
	sessions := make([]*Session, subs)
	for i := range subs {
		s, err := Dial(ctx, "moqt://"+addr, DialOptions{Versions: []wire.Version{wire.Draft16}, TLSConfig: insecureTLS(), Logger: testLogger()})
		require.NoError(b, err)
		sessions[i] = s
		rt, err := s.Subscribe(ctx, Namespace{"bench"}, "video", SubscribeOptions{Filter: wire.FilterNextGroupStart})
		require.NoError(b, err)
		wg.Go(func() {
			for {
				o, err := rt.ReadObject(ctx)
				if err != nil {
					return
				}
				if o.Status == wire.StatusNormal {
					received[i].Add(1)
				}
			}
		})
	}
	const gop = 30
	payload := make([]byte, size)
	slowest := func() int64 {
		m := received[0].Load()
		for i := range received {
			m = min(m, received[i].Load())
		}
		return m
	}
	b.SetBytes(int64(size * subs))
	b.ReportAllocs()
	b.ResetTimer()
	group := uint64(1)
	for n := 0; n < b.N; n++ {
		if n%gop == 0 {
			for int64(n)-slowest() > gop {
				time.Sleep(50 * time.Microsecond)
			}
			require.NoError(b, tr.StartGroup(group))
			group++
		}
		require.NoError(b, tr.WriteObject(payload))
	}
	for slowest() < int64(b.N) {
		if ctx.Err() != nil {
			b.Fatalf("subscribers stalled at %d of %d objects", slowest(), b.N)
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	tr.Close()
	for _, s := range sessions {
		s.Close()
	}
	wg.Wait()
}
