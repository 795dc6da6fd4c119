package ingest

import (
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConnLimiter(t *testing.T) {
	a := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}
	b := &net.TCPAddr{IP: net.ParseIP("192.0.2.2"), Port: 1}
	l := NewConnLimiter(3, 2)
	r1, ok := l.Admit(a)
	require.True(t, ok)
	_, ok = l.Admit(&net.TCPAddr{IP: a.IP, Port: 2})
	require.True(t, ok)
	_, ok = l.Admit(a)
	require.False(t, ok, "a third connection from one address")
	_, ok = l.Admit(b)
	require.True(t, ok, "another address still gets in")
	_, ok = l.Admit(&net.TCPAddr{IP: net.ParseIP("192.0.2.3"), Port: 1})
	require.False(t, ok, "over the total")
	r1()
	r1() // a second release changes nothing
	_, ok = l.Admit(a)
	require.True(t, ok, "a released slot is free again")
	open, refused := l.Stats()
	require.Equal(t, 3, open)
	require.Equal(t, uint64(2), refused)

	unbounded := NewConnLimiter(0, -1)
	for range 100 {
		_, ok := unbounded.Admit(a)
		require.True(t, ok)
	}
}

func TestConnLimiterRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewConnLimiter(0, 0).WithRate(2, 3)
		a := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
		b := &net.TCPAddr{IP: net.IPv6loopback, Port: 1}
		admitted := func(addr net.Addr) bool {
			release, ok := l.Admit(addr)
			if ok {
				release() // the bound is on new connections, not open ones
			}
			return ok
		}
		for range 3 {
			require.True(t, admitted(a), "the burst")
		}
		require.False(t, admitted(a), "burst spent")
		require.True(t, admitted(b), "another address has its own")
		time.Sleep(500 * time.Millisecond)
		require.True(t, admitted(a), "one more after 1/rate")
		require.False(t, admitted(a))
		time.Sleep(10 * time.Second)
		for range 3 {
			require.True(t, admitted(a), "refilled to the burst, not beyond")
		}
		require.False(t, admitted(a))
		_, refused := l.Stats()
		require.Equal(t, uint64(3), refused)
	})
}

func TestConnLimiterIPv6Prefix(t *testing.T) {
	l := NewConnLimiter(0, 2)
	a := &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2::1"), Port: 1}
	b := &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::9"), Port: 2}
	c := &net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1"), Port: 3}
	_, ok := l.Admit(a)
	require.True(t, ok)
	_, ok = l.Admit(b)
	require.True(t, ok)
	_, ok = l.Admit(a)
	require.False(t, ok, "one /64 is one address")
	_, ok = l.Admit(c)
	require.True(t, ok, "another /64")
	_, ok = l.Admit(&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 1})
	require.True(t, ok, "a mapped IPv4 address is its IPv4")
}
