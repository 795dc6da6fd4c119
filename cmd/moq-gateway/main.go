// Command moq-gateway ingests live RTMP, RTSP and SRT feeds, packages them as
// CMAF and publishes them over MoQ Transport (draft-14 and draft-16) to
// subscribers and relays.
//
// Usage:
//
//	moq-gateway [-config FILE] [flags]       run the gateway
//	moq-gateway sub -url URL -namespace PATH -out DIR [...]
//	                                          subscribe and write MP4 files
//	moq-gateway version                       print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/moqgw/moq-gateway/internal/buildinfo"
	"github.com/moqgw/moq-gateway/sub"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// A media gateway allocates one short-lived buffer per frame; a
		// lower GC target trades a little CPU for a resident set closer to
		// the live heap.
		debug.SetGCPercent(50)
	}
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit code.
func run(args, environ []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(args) > 0 && args[0] == "sub":
		err = sub.Run(ctx, args[1:], stderr)
	case len(args) > 0 && (args[0] == "version" || args[0] == "-version" || args[0] == "--version"):
		fmt.Fprintln(stdout, "moq-gateway", buildinfo.Version())
	default:
		err = runServe(ctx, args, environ, stderr)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintln(stderr, "moq-gateway:", err)
		var ue usageError
		if errors.As(err, &ue) || errors.Is(err, sub.ErrUsage) {
			return 2
		}
		return 1
	}
}

// usageError marks errors in what the user typed (exit code 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }
