// Package wire is the MoQ Transport (MOQT) wire codec: control messages,
// subgroup and fetch streams, and object datagrams of
// draft-ietf-moq-transport-14 and draft-ietf-moq-transport-16.
//
// # Model
//
// There is one message model (plain structs, one per semantic message) and one
// codec per draft behind it. Where draft-16 merged or reshaped messages, the
// struct carries the union of both drafts' fields and the codec picks:
//
//   - RequestOK / RequestError stand for draft-16 REQUEST_OK / REQUEST_ERROR
//     and for the per-request draft-14 messages (PUBLISH_NAMESPACE_OK,
//     SUBSCRIBE_ERROR, FETCH_ERROR, TRACK_STATUS_OK, ...). Kind selects the
//     draft-14 message type and is set when parsing draft-14; draft-16 leaves
//     it KindUnknown and the session resolves the request by Request ID.
//   - RequestUpdate is draft-14 SUBSCRIBE_UPDATE and draft-16 REQUEST_UPDATE.
//   - Subscription properties that draft-14 carries as fields (subscriber
//     priority, group order, forward, filter, expires, largest location) are
//     struct fields; the draft-16 codec maps them to message parameters and
//     track extensions, filling in the draft-16 defaults when they are absent.
//   - Request and PUBLISH_DONE error codes are semantic: the constants carry
//     the draft-16 registry values and the draft-14 codec translates them per
//     request kind (draft-14 numbered each message's codes separately).
//
// A field that one draft cannot express is ignored by that draft's encoder;
// each such field says so in its comment.
//
// # Framing
//
// AppendControl and ReadControl own the control message framing (Type (i),
// Length (16), Payload); messages never see it. The same framing is used on
// the control stream and, in draft-16, on the bidirectional stream that
// carries SUBSCRIBE_NAMESPACE and its REQUEST_OK/REQUEST_ERROR, NAMESPACE and
// NAMESPACE_DONE. The version passed for CLIENT_SETUP/SERVER_SETUP is the one
// the ALPN selected: "moq-00" uses the draft-14 layout with version lists,
// "moqt-16" the draft-16 layout without them.
//
// The data plane (SubgroupHeader and SubgroupStream, FetchHeader and
// FetchStream, Datagram) writes and reads headers only; payloads are written
// and read by the caller, so nothing is copied and nothing is allocated on the
// hot path unless an object carries extension headers.
//
// # Not supported
//
// Drafts other than 14 and 16 (draft-07's varint-length framing, draft-15,
// draft-17's varint), semantic validation that needs session state (request
// ID parity and ordering, alias uniqueness, filter ranges, token aliases), and
// interpretation of object extension headers, which are validated as
// Key-Value-Pairs and kept opaque.
//
// # Sources
//
// The authority is the draft text: the plain-text renderings of
// draft-ietf-moq-transport-14 (2 September 2025) and
// draft-ietf-moq-transport-16 (13 January 2026). Section numbers in comments
// ("§9.7") refer to the draft named next to them. Where the text is
// ambiguous or self-contradictory the comment says which reading was taken.
// Eyevinn/moqtransport v0.9.0 served as interoperability reference only;
// where the parser accepts something the draft does not define in order to
// interoperate with it, the comment says "Eyevinn v0.9.0".
//
// # Leniency
//
// The encoders write the drafts' layouts. The parsers also accept what
// Eyevinn v0.9.0, the project's interoperability peer, sends:
//
//   - a draft-16 REQUEST_OK and a draft-14 PUBLISH_OK that end where the
//     parameter count should be (read as no parameters);
//   - GROUP_ORDER 0 in a draft-16 SUBSCRIBE, and GROUP_ORDER as a parameter
//     of a draft-16 SUBSCRIBE_OK;
//   - draft-16 REQUEST_UPDATE, TRACK_STATUS, FETCH, FETCH_OK, PUBLISH,
//     PUBLISH_OK and SUBSCRIBE_NAMESPACE in their draft-14 layout: a payload
//     that does not parse as draft-16 is retried as draft-14 (see
//     parseDraft14Layout), so a well-formed draft-16 message is never
//     misread. Such messages have Draft14Layout set: that peer expects the
//     draft-14 responses, which AppendControl(b, Draft14, m) and a
//     FetchStream of Draft14 produce;
//   - draft-16 PUBLISH_NAMESPACE_DONE and PUBLISH_NAMESPACE_CANCEL naming the
//     namespace, recorded in their NamespaceForm field, which also makes the
//     encoder write that form for such a peer;
//   - AUTHORIZATION_TOKEN values that are not Token structures (kept as
//     bytes; ParseToken applies the draft's rule when the session wants it).
package wire
