package wire

// MaxRequestID is MAX_REQUEST_ID (type 0x15; draft-14 §9.5, draft-16 §9.5).
type MaxRequestID struct {
	// RequestID is the new Maximum Request ID plus one: the peer may use
	// Request IDs below it. It must increase within a session.
	RequestID uint64
}

func (m *MaxRequestID) controlType(Version) (uint64, error) { return typeMaxRequestID, nil }
func (m *MaxRequestID) encode(e *encoder, _ Version)        { e.varint(m.RequestID) }
func (m *MaxRequestID) decode(d *decoder, _ Version, _ uint64) {
	m.RequestID = d.varint()
}

// RequestsBlocked is REQUESTS_BLOCKED (type 0x1A; draft-14 §9.6, draft-16
// §9.6): the sender wants to make a request but has reached the peer's limit.
type RequestsBlocked struct {
	// MaximumRequestID is the limit the sender is blocked on.
	MaximumRequestID uint64
}

func (m *RequestsBlocked) controlType(Version) (uint64, error) { return typeRequestsBlocked, nil }
func (m *RequestsBlocked) encode(e *encoder, _ Version)        { e.varint(m.MaximumRequestID) }
func (m *RequestsBlocked) decode(d *decoder, _ Version, _ uint64) {
	m.MaximumRequestID = d.varint()
}
