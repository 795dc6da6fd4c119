// Package moq is a MoQ Transport (draft-ietf-moq-transport-14 and -16)
// endpoint for publishers: it serves broadcasts to subscribers that connect
// to it and to relays it dials, over raw QUIC and WebTransport.
//
// # Lifecycle
//
// An Origin holds the broadcasts a process publishes. Origin.Publish starts
// a Broadcast on a namespace; its tracks are created with
// Broadcast.CreateTrack, or on demand by a TrackProvider when a SUBSCRIBE,
// FETCH or TRACK_STATUS names a track the broadcast does not have (an
// unknown track is refused at once with TRACK_DOES_NOT_EXIST). The owner
// writes a Track group by group: StartGroup, WriteObject (object IDs count
// 0, 1, 2 … inside the group), EndGroup, and Close for End of Track. Every
// subscription reads the track's cache at its own pace; the writer never
// waits for a subscriber.
//
// A Server serves one UDP port: raw QUIC with ALPN moqt-16 (draft-16) and
// moq-00 (draft-14, version chosen in SETUP), and WebTransport over HTTP/3
// at a path (draft-16 when the client offers moqt-16 in
// WT-Available-Protocols, else draft-14). Dial opens the same sessions as a
// client, to a relay for instance. Either way a Session announces every
// live broadcast of its origin (PUBLISH_NAMESPACE) and withdraws it when it
// ends, serves SUBSCRIBE (all four filters), SUBSCRIBE_UPDATE /
// REQUEST_UPDATE, UNSUBSCRIBE, TRACK_STATUS, FETCH (standalone and joining,
// from the cache) and SUBSCRIBE_NAMESPACE, and can itself Subscribe, Fetch
// and ask for TrackStatus. Session.Version is the negotiated draft; a
// version mismatch fails with an error matching ErrVersionNegotiation that
// names what each side offered.
//
// # Delivery
//
// A track is delivered on subgroup streams, one per group (subgroup 0,
// stream type with END_OF_GROUP, FIN at group end), or as datagrams. A
// datagram too large for the path goes on a subgroup stream in draft-16,
// which allows a track to mix both; draft-14 does not, so there the object
// is counted (SessionStats.DatagramsLost) and logged. A subscriber that
// falls more than MaxLagGroups groups behind loses whole groups: its stream
// is reset and it continues at the newest group. A Largest Object
// subscription starts at the newest group's first object (as moq-rs relays
// do) so the subscriber can decode at once; SessionConfig.StrictLargestObject
// restores the draft's start after the newest object.
//
// # Closing
//
// Session.CloseGracefully ends every subscription with PUBLISH_DONE
// (GOING_AWAY), sends GOAWAY where the peer allows it, and closes with
// NO_ERROR within a deadline; Server.Serve does this for every session when
// its context ends. No goroutine outlives Close or Serve.
//
// # Peer quirks
//
// moq-rs draft-14 endpoints close the session on MAX_REQUEST_ID,
// REQUESTS_BLOCKED and GOAWAY and allow 50 requests per session: with
// SessionConfig.MoqRSDraft14, or when the peer's MOQT_IMPLEMENTATION names
// moq-rs, none of those messages is sent and at most 50 requests are made.
//
// # Not supported yet
//
// PUBLISH (publisher-initiated subscriptions) is refused with
// NOT_SUPPORTED; subscriber priorities and group order do not reorder
// delivery (groups go out in ascending order, QUIC stream urgency follows
// the publisher priority on raw QUIC); DELIVERY_TIMEOUT and
// MAX_CACHE_DURATION parameters are ignored; authorization tokens received
// are not checked; drafts other than 14 and 16.
package moq
