// Package stream keeps one live stream per path: it is the ingest.Sink the
// protocol adapters publish into, runs each stream's packager, and publishes
// the result as a MoQ broadcast on the gateway's origin.
//
// A stream outlives its publisher by a grace period. A publisher that
// replaces another (policy "replace") or reconnects within the grace period
// takes over the same broadcast and tracks: subscribers keep their
// subscriptions, group IDs keep growing and they resume at the new
// publisher's first keyframe.
package stream
