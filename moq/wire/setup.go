package wire

import "fmt"

// MaxSetupVersions bounds the Supported Versions list of a draft-14
// CLIENT_SETUP before it is allocated. Clients offer a handful of drafts; 64
// leaves room for experiments without letting a count drive allocation.
const MaxSetupVersions = 64

// Setup parameter types (draft-14 §9.3.2, draft-16 §9.3.1). They share one
// namespace across versions.
const (
	setupPath                  = 0x01
	setupMaxRequestID          = 0x02
	setupAuthorizationToken    = 0x03
	setupMaxAuthTokenCacheSize = 0x04
	setupAuthority             = 0x05
	// setupImplementation is MOQT_IMPLEMENTATION. Draft-14 §9.3.2.6 gives it
	// 0x05, the code of AUTHORITY; draft-15 moved it to 0x07 (#1191) and
	// draft-14 implementations use 0x07 too, so both codecs do.
	setupImplementation = 0x07
)

// ClientSetup is CLIENT_SETUP (type 0x20; draft-14 §9.3, draft-16 §9.3).
type ClientSetup struct {
	// Versions is the Supported Versions list of the draft-14 layout
	// (ALPN "moq-00"). Draft-16 negotiates by ALPN: its encoder ignores the
	// list and its parser leaves it nil.
	Versions []Version
	Params   SetupParams
}

// ServerSetup is SERVER_SETUP (type 0x21; draft-14 §9.3, draft-16 §9.3).
type ServerSetup struct {
	// SelectedVersion is the draft-14 Selected Version; draft-16 ignores it.
	SelectedVersion Version
	Params          SetupParams
}

// SetupParams are the setup parameters (draft-14 §9.3.2, draft-16 §9.3.1).
// Unknown ones are kept, duplicates included, so a message survives a
// round trip.
type SetupParams struct {
	// Path is PATH (0x01): path-abempty and "?query" of a moqt:// URI,
	// client only and raw QUIC only. Nil means absent; an empty string is
	// the path of "moqt://host", which some servers require to be present.
	Path *string
	// MaxRequestID is MAX_REQUEST_ID (0x02); the draft default 0 (no
	// requests allowed) is also what an absent parameter means, so 0 is not
	// written.
	MaxRequestID uint64
	// AuthorizationTokens are AUTHORIZATION_TOKEN values (0x03), see
	// Params.AuthorizationTokens.
	AuthorizationTokens [][]byte
	// MaxAuthTokenCacheSize is MAX_AUTH_TOKEN_CACHE_SIZE (0x04) in bytes;
	// 0, the default, is not written.
	MaxAuthTokenCacheSize uint64
	// Authority is AUTHORITY (0x05), client only and raw QUIC only; nil
	// means absent.
	Authority *string
	// Implementation is MOQT_IMPLEMENTATION (0x07); "" means absent.
	Implementation string
	// Unknown holds every other parameter, in wire order.
	Unknown []KeyValue
}

func (p *SetupParams) encode(e *encoder, v Version) {
	e.params(p.keyValues(), v)
}

// keyValues lists p as setup parameters, known ones in type order, then
// the unknown ones.
func (p *SetupParams) keyValues() []KeyValue {
	var kvs []KeyValue
	if p.Path != nil {
		kvs = append(kvs, KeyValue{Type: setupPath, Bytes: []byte(*p.Path)})
	}
	if p.MaxRequestID != 0 {
		kvs = append(kvs, KeyValue{Type: setupMaxRequestID, Value: p.MaxRequestID})
	}
	for _, t := range p.AuthorizationTokens {
		kvs = append(kvs, KeyValue{Type: setupAuthorizationToken, Bytes: t})
	}
	if p.MaxAuthTokenCacheSize != 0 {
		kvs = append(kvs, KeyValue{Type: setupMaxAuthTokenCacheSize, Value: p.MaxAuthTokenCacheSize})
	}
	if p.Authority != nil {
		kvs = append(kvs, KeyValue{Type: setupAuthority, Bytes: []byte(*p.Authority)})
	}
	if p.Implementation != "" {
		kvs = append(kvs, KeyValue{Type: setupImplementation, Bytes: []byte(p.Implementation)})
	}
	return append(kvs, p.Unknown...)
}

// set records one received setup parameter; maxRequestID says whether
// MAX_REQUEST_ID exists in the version (it does not from draft-17 on).
// A repeated known parameter other than AUTHORIZATION_TOKEN is an error.
func (p *SetupParams) set(kv KeyValue, seen *dupCheck, maxRequestID bool) error {
	known := kv.Type == setupMaxRequestID && maxRequestID
	switch kv.Type {
	case setupPath, setupMaxAuthTokenCacheSize, setupAuthority, setupImplementation:
		known = true
	}
	if known && !seen.add(kv.Type) {
		return fmt.Errorf("setup parameter 0x%x repeated", kv.Type)
	}
	switch {
	case kv.Type == setupPath:
		s := string(kv.Bytes)
		p.Path = &s
	case kv.Type == setupMaxRequestID && maxRequestID:
		p.MaxRequestID = kv.Value
	case kv.Type == setupAuthorizationToken:
		p.AuthorizationTokens = append(p.AuthorizationTokens, kv.Bytes)
	case kv.Type == setupMaxAuthTokenCacheSize:
		p.MaxAuthTokenCacheSize = kv.Value
	case kv.Type == setupAuthority:
		s := string(kv.Bytes)
		p.Authority = &s
	case kv.Type == setupImplementation:
		p.Implementation = string(kv.Bytes)
	default:
		p.Unknown = append(p.Unknown, kv)
	}
	return nil
}

func (p *SetupParams) decode(d *decoder, v Version) {
	n := d.varint()
	var prev uint64
	var seen dupCheck
	for i := uint64(0); i < n && d.err == nil; i++ {
		kv := d.keyValue(v, &prev)
		if d.err != nil {
			return
		}
		if err := p.set(kv, &seen, true); err != nil {
			d.violation("%v", err)
			return
		}
	}
}

func (m *ClientSetup) controlType(Version) (uint64, error) { return typeClientSetup, nil }

func (m *ClientSetup) encode(e *encoder, v Version) {
	if v == Draft14 {
		if len(m.Versions) > MaxSetupVersions {
			e.fail("%d supported versions: %w", len(m.Versions), ErrTooLarge)
			return
		}
		e.varint(uint64(len(m.Versions)))
		for _, ver := range m.Versions {
			e.varint(uint64(ver))
		}
	}
	m.Params.encode(e, v)
}

func (m *ClientSetup) decode(d *decoder, v Version, _ uint64) {
	if v == Draft14 {
		n := d.varint()
		if n > MaxSetupVersions {
			d.fail(fmt.Errorf("%w: %d supported versions", ErrTooLarge, n))
			return
		}
		if n > 0 {
			m.Versions = make([]Version, 0, n)
		}
		for range n {
			m.Versions = append(m.Versions, Version(d.varint()))
		}
	}
	m.Params.decode(d, v)
}

func (m *ServerSetup) controlType(Version) (uint64, error) { return typeServerSetup, nil }

func (m *ServerSetup) encode(e *encoder, v Version) {
	if v == Draft14 {
		e.varint(uint64(m.SelectedVersion))
	}
	m.Params.encode(e, v)
}

func (m *ServerSetup) decode(d *decoder, v Version, _ uint64) {
	if v == Draft14 {
		m.SelectedVersion = Version(d.varint())
	}
	m.Params.decode(d, v)
}
