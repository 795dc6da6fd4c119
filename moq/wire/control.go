package wire

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// MaxControlPayload is the largest control message payload: the Message
// Length field is 16 bits (draft-14/16 §9).
const MaxControlPayload = 1<<16 - 1

// Control message types (draft-14 §9 Table 1, draft-16 §9 Table 1). A few
// codes changed meaning in draft-16: 0x05, 0x07, 0x08, 0x0E and 0x02.
const (
	typeClientSetup     = 0x20
	typeServerSetup     = 0x21
	typeGoAway          = 0x10
	typeMaxRequestID    = 0x15
	typeRequestsBlocked = 0x1a

	typeSubscribe      = 0x03
	typeSubscribeOK    = 0x04
	typeSubscribeError = 0x05 // draft-16: REQUEST_ERROR
	typeSubscribeUpd   = 0x02 // draft-16: REQUEST_UPDATE
	typeUnsubscribe    = 0x0a
	typePublishDone    = 0x0b
	typePublish        = 0x1d
	typePublishOK      = 0x1e
	typePublishError   = 0x1f // draft-14 only
	typeFetch          = 0x16
	typeFetchOK        = 0x18
	typeFetchError     = 0x19 // draft-14 only
	typeFetchCancel    = 0x17
	typeTrackStatus    = 0x0d
	typeTrackStatusOK  = 0x0e // draft-16: NAMESPACE_DONE
	typeTrackStatusErr = 0x0f // draft-14 only

	typePublishNamespace       = 0x06
	typePublishNamespaceOK     = 0x07 // draft-16: REQUEST_OK
	typePublishNamespaceError  = 0x08 // draft-16: NAMESPACE
	typePublishNamespaceDone   = 0x09
	typePublishNamespaceCancel = 0x0c
	typeSubscribeNamespace     = 0x11
	typeSubscribeNamespaceOK   = 0x12 // draft-14 only
	typeSubscribeNamespaceErr  = 0x13 // draft-14 only
	typeUnsubscribeNamespace   = 0x14 // draft-14 only

	typeRequestOK     = 0x07 // draft-16
	typeRequestError  = 0x05 // draft-16
	typeRequestUpdate = 0x02 // draft-16
	typeNamespace     = 0x08 // draft-16
	typeNamespaceDone = 0x0e // draft-16
)

// Message is a control message. Concrete messages are pointers to the
// structs of this package (*Subscribe, *RequestOK, ...); the interface is
// sealed so that every message has an encoder and a parser for each draft.
type Message interface {
	// controlType returns the message type code for v, or an error when v
	// has no such message.
	controlType(v Version) (uint64, error)
	encode(e *encoder, v Version)
	decode(d *decoder, v Version, typ uint64)
}

// AppendControl appends m encoded for v with its framing: Message Type (i),
// Message Length (16) and the payload (draft-14/16 §9). On error b is
// returned unchanged.
func AppendControl(b []byte, v Version, m Message) ([]byte, error) {
	if err := v.check(); err != nil {
		return b, err
	}
	if v.RequestStreams() {
		return appendControl18(b, v, m)
	}
	typ, err := m.controlType(v)
	if err != nil {
		return b, err
	}
	e := encoder{b: b}
	e.varint(typ)
	lenAt := len(e.b)
	e.b = append(e.b, 0, 0) // back-filled below, once the payload length is known
	m.encode(&e, v)
	if e.err != nil {
		return b, fmt.Errorf("encode %s for %v: %w", messageName(v, typ), v, e.err)
	}
	n := len(e.b) - lenAt - 2
	if n > MaxControlPayload {
		return b, fmt.Errorf("encode %s: payload %d bytes: %w", messageName(v, typ), n, ErrTooLarge)
	}
	binary.BigEndian.PutUint16(e.b[lenAt:], uint16(n))
	return e.b, nil
}

// ReadControl reads one framed control message and parses it for v. It
// returns io.EOF if r ends cleanly before a message, io.ErrUnexpectedEOF if
// it ends inside one, and an error wrapping a *ProtocolError (see
// SessionCode) for an unknown type or a malformed payload. The payload
// buffer is allocated per message (at most MaxControlPayload bytes, as the
// 16-bit length bounds it) and byte fields of the returned message may alias
// it.
func ReadControl(r io.Reader, v Version) (Message, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	br, ok := r.(io.ByteReader)
	if !ok {
		br = &oneByteReader{r: r}
	}
	if v.RequestStreams() {
		return readControl18(v, r, br)
	}
	typ, err := readVarint(br)
	if err != nil {
		return nil, err
	}
	hi, err := readByte(br)
	if err != nil {
		return nil, err
	}
	lo, err := readByte(br)
	if err != nil {
		return nil, err
	}
	payload := make([]byte, int(hi)<<8|int(lo))
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, noEOF(err)
	}
	return parseControl(v, typ, payload)
}

// oneByteReader adapts an io.Reader without ReadByte; it reads no further
// than asked, so r can be read directly afterwards.
type oneByteReader struct {
	r   io.Reader
	buf [1]byte
}

func (o *oneByteReader) ReadByte() (byte, error) {
	if _, err := io.ReadFull(o.r, o.buf[:]); err != nil {
		return 0, err
	}
	return o.buf[0], nil
}

// parseControl parses the payload of a message of type typ.
func parseControl(v Version, typ uint64, payload []byte) (Message, error) {
	m := newMessage(v, typ)
	if m == nil {
		return nil, fmt.Errorf("%w: control message 0x%x in %v", ErrUnknownType, typ, v)
	}
	d := decoder{b: payload}
	m.decode(&d, v, typ)
	err := d.finish()
	if err != nil && v == Draft16 && draft14Layout16[typ] {
		if m14 := parseDraft14Layout(typ, payload); m14 != nil {
			return m14, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", messageName(v, typ), err)
	}
	return m, nil
}

// draft14Layout16 lists the draft-16 message types that Eyevinn v0.9.0
// still sends in their draft-14 layout on a draft-16 session (with
// Key-Value-Pair types not delta-encoded): SUBSCRIBE_UPDATE, TRACK_STATUS,
// FETCH, FETCH_OK, PUBLISH, PUBLISH_OK and SUBSCRIBE_NAMESPACE. Each code
// means the same message in both drafts.
var draft14Layout16 = map[uint64]bool{
	typeRequestUpdate: true, typeTrackStatus: true, typeFetch: true, typeFetchOK: true,
	typePublish: true, typePublishOK: true, typeSubscribeNamespace: true,
}

// parseDraft14Layout retries a draft-16 payload that failed to parse as the
// draft-14 layout of the same message, reading parameters with their
// draft-16 meanings. Only a payload that parses completely is accepted, so
// a well-formed draft-16 message never takes this path; fields draft-16
// cannot carry are cleared so that the result re-encodes as it parsed, and
// Draft14Layout is set so the session can answer in the same layout (a
// peer that sends TRACK_STATUS or FETCH this way also expects
// TRACK_STATUS_OK, FETCH_OK and FETCH_ERROR of draft-14, and no response to
// its SUBSCRIBE_UPDATE).
func parseDraft14Layout(typ uint64, payload []byte) Message {
	m := newMessage(Draft16, typ)
	d := decoder{b: payload, compat16: true}
	m.decode(&d, Draft14, typ)
	if d.finish() != nil {
		return nil
	}
	var p *Params
	switch m := m.(type) {
	case *TrackStatus:
		m.SubscriberPriority, m.GroupOrder, m.Forward, m.Filter = 0, 0, false, Filter{}
		m.Draft14Layout, p = true, &m.Params
	case *FetchOK:
		m.GroupOrder = 0
		m.Draft14Layout, p = true, &m.Params
	case *RequestUpdate:
		m.Draft14Layout, p = true, &m.Params
	case *Fetch:
		m.Draft14Layout, p = true, &m.Params
	case *Publish:
		m.Draft14Layout, p = true, &m.Params
	case *PublishOK:
		m.Draft14Layout, p = true, &m.Params
	case *SubscribeNamespace:
		m.Draft14Layout, p = true, &m.Params
	}
	for _, kv := range p.Unknown {
		if MessageParamDefined(Draft16, kv.Type) {
			// A draft-16 parameter that the draft-14 layout has a field for:
			// the message is not what Eyevinn sends, and it would not
			// re-encode the same.
			return nil
		}
	}
	// Draft-14 types arrive in any order; keep unknown parameters in the
	// ascending order draft-16 writes them in.
	slices.SortStableFunc(p.Unknown, compareType)
	return m
}

// newMessage returns an empty message for a type code of v, or nil.
func newMessage(v Version, typ uint64) Message {
	switch typ {
	case typeClientSetup:
		return &ClientSetup{}
	case typeServerSetup:
		return &ServerSetup{}
	case typeGoAway:
		return &GoAway{}
	case typeMaxRequestID:
		return &MaxRequestID{}
	case typeRequestsBlocked:
		return &RequestsBlocked{}
	case typeSubscribe:
		return &Subscribe{}
	case typeSubscribeOK:
		return &SubscribeOK{}
	case typeSubscribeUpd: // REQUEST_UPDATE in draft-16
		return &RequestUpdate{}
	case typeUnsubscribe:
		return &Unsubscribe{}
	case typePublishDone:
		return &PublishDone{}
	case typePublish:
		return &Publish{}
	case typePublishOK:
		return &PublishOK{}
	case typeFetch:
		return &Fetch{}
	case typeFetchOK:
		return &FetchOK{}
	case typeFetchCancel:
		return &FetchCancel{}
	case typeTrackStatus:
		return &TrackStatus{}
	case typePublishNamespace:
		return &PublishNamespace{}
	case typePublishNamespaceDone:
		return &PublishNamespaceDone{}
	case typePublishNamespaceCancel:
		return &PublishNamespaceCancel{}
	case typeSubscribeNamespace:
		return &SubscribeNamespace{}
	}
	if v == Draft16 {
		switch typ {
		case typeRequestOK:
			return &RequestOK{}
		case typeRequestError:
			return &RequestError{}
		case typeNamespace:
			return &NamespaceMessage{}
		case typeNamespaceDone:
			return &NamespaceDone{}
		}
		return nil
	}
	switch typ {
	case typeSubscribeError, typePublishError, typeFetchError, typeTrackStatusErr,
		typePublishNamespaceError, typeSubscribeNamespaceErr:
		return &RequestError{}
	case typeTrackStatusOK, typePublishNamespaceOK, typeSubscribeNamespaceOK:
		return &RequestOK{}
	case typeUnsubscribeNamespace:
		return &UnsubscribeNamespace{}
	}
	return nil
}

// messageName names a message type for errors and logs.
func messageName(v Version, typ uint64) string {
	if v == Draft16 {
		switch typ {
		case typeRequestOK:
			return "REQUEST_OK"
		case typeRequestError:
			return "REQUEST_ERROR"
		case typeRequestUpdate:
			return "REQUEST_UPDATE"
		case typeNamespace:
			return "NAMESPACE"
		case typeNamespaceDone:
			return "NAMESPACE_DONE"
		}
	}
	if name, ok := messageNames[typ]; ok {
		return name
	}
	return fmt.Sprintf("message 0x%x", typ)
}

var messageNames = map[uint64]string{
	typeClientSetup:            "CLIENT_SETUP",
	typeServerSetup:            "SERVER_SETUP",
	typeGoAway:                 "GOAWAY",
	typeMaxRequestID:           "MAX_REQUEST_ID",
	typeRequestsBlocked:        "REQUESTS_BLOCKED",
	typeSubscribe:              "SUBSCRIBE",
	typeSubscribeOK:            "SUBSCRIBE_OK",
	typeSubscribeError:         "SUBSCRIBE_ERROR",
	typeSubscribeUpd:           "SUBSCRIBE_UPDATE",
	typeUnsubscribe:            "UNSUBSCRIBE",
	typePublishDone:            "PUBLISH_DONE",
	typePublish:                "PUBLISH",
	typePublishOK:              "PUBLISH_OK",
	typePublishError:           "PUBLISH_ERROR",
	typeFetch:                  "FETCH",
	typeFetchOK:                "FETCH_OK",
	typeFetchError:             "FETCH_ERROR",
	typeFetchCancel:            "FETCH_CANCEL",
	typeTrackStatus:            "TRACK_STATUS",
	typeTrackStatusOK:          "TRACK_STATUS_OK",
	typeTrackStatusErr:         "TRACK_STATUS_ERROR",
	typePublishNamespace:       "PUBLISH_NAMESPACE",
	typePublishNamespaceOK:     "PUBLISH_NAMESPACE_OK",
	typePublishNamespaceError:  "PUBLISH_NAMESPACE_ERROR",
	typePublishNamespaceDone:   "PUBLISH_NAMESPACE_DONE",
	typePublishNamespaceCancel: "PUBLISH_NAMESPACE_CANCEL",
	typeSubscribeNamespace:     "SUBSCRIBE_NAMESPACE",
	typeSubscribeNamespaceOK:   "SUBSCRIBE_NAMESPACE_OK",
	typeSubscribeNamespaceErr:  "SUBSCRIBE_NAMESPACE_ERROR",
	typeUnsubscribeNamespace:   "UNSUBSCRIBE_NAMESPACE",
}

// notIn is the controlType error for a message a draft does not have.
func notIn(what string, v Version) error {
	return fmt.Errorf("wire: %s does not exist in %v", what, v)
}
