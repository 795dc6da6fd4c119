package srt

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gosrt's dialer (the test client, not the server) can leave its
		// UDP reader blocked on an unbuffered channel after Close.
		goleak.IgnoreAnyFunction("github.com/datarhei/gosrt.Dial.func1"),
	)
}
