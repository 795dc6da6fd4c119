package wire

// MaxGoAwayURILength is the longest New Session URI of a GOAWAY (draft-14/16
// §9.4); longer is a PROTOCOL_VIOLATION.
const MaxGoAwayURILength = 8192

// GoAway is GOAWAY (type 0x10; draft-14 §9.4, draft-16 §9.4): the sender
// will close the session soon. Only a server may send a non-empty URI; that
// and "at most one GOAWAY" are session rules.
type GoAway struct {
	// NewSessionURI is where the client should reconnect; "" reuses the
	// current URI.
	NewSessionURI string
	// Timeout is the draft-18 Timeout (§10.4) in milliseconds, 0 for none;
	// older drafts have no such field.
	Timeout uint64
	// RequestID is the draft-18 Request ID of a control-stream GOAWAY: the
	// smallest of the receiver's Request IDs not processed. nil on other
	// drafts and on a request stream.
	RequestID *uint64
}

func (m *GoAway) controlType(Version) (uint64, error) { return typeGoAway, nil }

func (m *GoAway) encode(e *encoder, _ Version) {
	e.string(m.NewSessionURI, MaxGoAwayURILength, "new session URI")
}

func (m *GoAway) decode(d *decoder, _ Version, _ uint64) {
	m.NewSessionURI = d.string(MaxGoAwayURILength, "new session URI")
}
