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
// WT-Available-Protocols, else draft-14); Server.Versions restricts the
// drafts offered. Dial opens the same sessions as a client, to a relay for
// instance. Either way a Session announces every live broadcast of its
// origin (PUBLISH_NAMESPACE) and withdraws it when it ends (with
// SessionConfig.NoAnnounce only those under a prefix the peer asked for
// with SUBSCRIBE_NAMESPACE), serves SUBSCRIBE (all four filters),
// SUBSCRIBE_UPDATE (narrowing only) and REQUEST_UPDATE (draft-16: the end
// group may also move later), UNSUBSCRIBE, TRACK_STATUS, FETCH
// (standalone and joining, from the cache) and SUBSCRIBE_NAMESPACE
// (draft-14 on the control stream, draft-16 on its own stream with
// NAMESPACE and NAMESPACE_DONE), and can itself Subscribe, Fetch,
// SubscribeNamespace and ask for TrackStatus. It enforces the request ID
// rules on what the peer sends (INVALID_REQUEST_ID, TOO_MANY_REQUESTS) and
// raises the peer's MAX_REQUEST_ID as it uses IDs. Session.Version is the
// negotiated draft, also logged; a version mismatch fails with an error
// matching ErrVersionNegotiation that names what each side offered.
//
// # Delivery
//
// A track is delivered on subgroup streams, one per group (subgroup 0,
// stream type with END_OF_GROUP, FIN at group end), or as datagrams. A
// datagram too large for the path goes on a subgroup stream in draft-16,
// which allows a track to mix both; draft-14 does not, so there the object
// is counted (SessionStats.DatagramsLost) and logged. A subscriber that
// falls more than MaxLagGroups groups behind loses whole groups: its stream
// is reset, the loss is counted (SessionStats.GroupsDropped) and it
// continues at the newest group; the writer never waits for it. A Largest
// Object subscription starts at the newest group's first object (as moq-rs
// relays do) so the subscriber can decode at once;
// SessionConfig.StrictLargestObject restores the draft's start after the
// newest object, which moq-dev peers (moq-lite-rs) always get: they join
// with a FETCH and refuse a group that arrives twice. A Join subscription
// (SubscribeOptions.Join) reads the current group whole from either kind of
// publisher. A joining FETCH covers the groups before its subscription's
// Largest Location up to and including it (draft-16 §9.16.2.1), so with the
// default start the two overlap on the current group's objects up to there;
// one of a subscription that began on an empty track waits for the track's
// first object. AbsoluteStart and AbsoluteRange
// subscriptions that start in the past begin with what the cache still
// holds.
//
// # Closing
//
// Session.CloseGracefully ends every subscription with PUBLISH_DONE
// (GOING_AWAY), sends GOAWAY where the peer allows it, and closes with
// NO_ERROR once the peer has closed or the deadline has passed; Server.Serve
// does this for every session when its context ends. A client that
// receives GOAWAY makes no new request and closes the session itself once
// nothing is open any more; GoAwayURI tells where to reconnect. No
// goroutine outlives Close or Serve.
//
// # Peer quirks
//
// moq-rs draft-14 endpoints close the session on MAX_REQUEST_ID,
// REQUESTS_BLOCKED and GOAWAY and allow 50 requests per session: with
// SessionConfig.MoqRSDraft14, or when the peer's MOQT_IMPLEMENTATION names
// moq-rs, none of those messages is sent and at most 50 requests are made;
// as a moq-rs relay we dial cannot be raised its limit for our session,
// that limit is not enforced either (a moq-rs client of ours keeps the one
// its SETUP gave it).
// A draft-16 peer may use up to 16 skipped request IDs later: its
// SUBSCRIBE_NAMESPACE travels on a stream of its own and can be overtaken
// by the next request on the control stream.
//
// # Bounds
//
// Nothing a peer sends makes state grow without bound: open subscriptions
// and fetches are capped by SessionConfig.MaxSubscriptions, namespaces a
// dialed peer announces at 4096 and namespace subscriptions at 64; a
// server refuses PUBLISH_NAMESPACE unless SessionConfig.AcceptNamespaces.
// On the publishing side, a track keeps its current group plus
// TrackOptions.CacheBytes of ended ones, and one group at most
// TrackOptions.MaxGroupBytes (past it the group's head is dropped).
//
// # Not supported yet
//
// PUBLISH (publisher-initiated subscriptions) is refused with
// NOT_SUPPORTED, and a SUBSCRIBE_NAMESPACE asking for PUBLISH messages only
// gets none; subscriber priorities and group order do not reorder delivery
// (groups go out in ascending order, QUIC stream urgency follows the
// publisher priority on raw QUIC); DELIVERY_TIMEOUT, MAX_CACHE_DURATION and
// EXPIRES are ignored; authorization tokens received are not checked and
// token aliases are not kept; a second subscription to the same track is
// not refused with DUPLICATE_SUBSCRIPTION; a peer that does not close after
// GOAWAY is closed with NO_ERROR at the deadline, not GOAWAY_TIMEOUT;
// drafts other than 14 and 16.
package moq
