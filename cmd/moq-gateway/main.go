// Command moq-gateway ingests live RTMP, RTSP and SRT feeds, packages them as
// CMAF and publishes them over MoQ Transport.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "moq-gateway: the ingest and MoQ servers are not wired yet (see README, 'Status')")
	os.Exit(2)
}
