package wire

// PublishNamespace is PUBLISH_NAMESPACE (type 0x06; draft-14 §9.23, draft-16
// §9.20), answered by RequestOK or RequestError of KindPublishNamespace.
type PublishNamespace struct {
	RequestID uint64
	Namespace Namespace
	Params    Params
}

func (m *PublishNamespace) controlType(Version) (uint64, error) {
	return typePublishNamespace, nil
}

func (m *PublishNamespace) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	e.namespace(m.Namespace, v, trackNamespace)
	e.params(m.Params.appendTo(nil, v, false), v)
}

func (m *PublishNamespace) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	m.Namespace = d.namespace(v, trackNamespace)
	d.params(v, func(kv KeyValue) { m.Params.take(d, v, kv) })
}

// PublishNamespaceDone is PUBLISH_NAMESPACE_DONE (type 0x09; draft-14
// §9.26, draft-16 §9.22): the publisher withdraws a namespace. Draft-14 names
// the namespace, draft-16 the Request ID of the PUBLISH_NAMESPACE; each
// codec writes and reads only its own field, so set both.
type PublishNamespaceDone struct {
	RequestID uint64    // draft-16
	Namespace Namespace // draft-14
	// NamespaceForm makes the draft-16 codec use the draft-14 form, with
	// Namespace instead of RequestID. Draft-16 peers reject it, but
	// Eyevinn v0.9.0 sends only this form and closes its control stream on
	// the draft-16 one. The draft-16 parser falls back to this form (and
	// sets the flag) when the payload is not a single Request ID, which a
	// namespace tuple never is.
	NamespaceForm bool
}

func (m *PublishNamespaceDone) controlType(Version) (uint64, error) {
	return typePublishNamespaceDone, nil
}

func (m *PublishNamespaceDone) encode(e *encoder, v Version) {
	if v == Draft14 || m.NamespaceForm {
		e.namespace(m.Namespace, v, trackNamespace)
		return
	}
	e.varint(m.RequestID)
}

func (m *PublishNamespaceDone) decode(d *decoder, v Version, _ uint64) {
	if v == Draft14 {
		m.Namespace = d.namespace(v, trackNamespace)
		return
	}
	payload := d.b
	m.RequestID = d.varint()
	if d.err != nil || len(d.b) == 0 {
		return
	}
	alt := decoder{b: payload}
	ns := alt.namespace(v, trackNamespace)
	if alt.finish() == nil {
		*d = alt
		*m = PublishNamespaceDone{Namespace: ns, NamespaceForm: true}
	}
}

// PublishNamespaceCancel is PUBLISH_NAMESPACE_CANCEL (type 0x0C; draft-14
// §9.27, draft-16 §9.24): the receiver of a PUBLISH_NAMESPACE revokes its
// acceptance. Like PublishNamespaceDone it names the namespace in draft-14
// and the Request ID in draft-16.
type PublishNamespaceCancel struct {
	RequestID uint64    // draft-16
	Namespace Namespace // draft-14
	// Code uses the PUBLISH_NAMESPACE error codes; the draft-14 codec
	// translates it as for RequestError of KindPublishNamespace.
	Code   RequestErrorCode
	Reason string
	// NamespaceForm makes the draft-16 codec use the draft-14 field
	// layout, as for PublishNamespaceDone (Eyevinn v0.9.0 sends it). The
	// draft-16 parser tries the draft-16 layout first and sets the flag when
	// only the draft-14 one fits.
	NamespaceForm bool
}

func (m *PublishNamespaceCancel) controlType(Version) (uint64, error) {
	return typePublishNamespaceCancel, nil
}

func (m *PublishNamespaceCancel) encode(e *encoder, v Version) {
	switch {
	case v == Draft14:
		e.namespace(m.Namespace, v, trackNamespace)
		e.varint(request14PublishNamespace.toWire(uint64(m.Code)))
	case m.NamespaceForm:
		e.namespace(m.Namespace, v, trackNamespace)
		e.varint(uint64(m.Code))
	default:
		e.varint(m.RequestID)
		e.varint(uint64(m.Code))
	}
	e.reason(m.Reason)
}

func (m *PublishNamespaceCancel) decode(d *decoder, v Version, _ uint64) {
	if v == Draft14 {
		m.Namespace = d.namespace(v, trackNamespace)
		m.Code = RequestErrorCode(request14PublishNamespace.fromWire(d.varint()))
		m.Reason = d.reason()
		return
	}
	payload := d.b
	m.RequestID = d.varint()
	m.Code = RequestErrorCode(d.varint())
	m.Reason = d.reason()
	if d.finish() == nil {
		return
	}
	alt := decoder{b: payload}
	ns := alt.namespace(v, trackNamespace)
	code := RequestErrorCode(alt.varint())
	reason := alt.reason()
	if alt.finish() == nil {
		*d = alt
		*m = PublishNamespaceCancel{Namespace: ns, Code: code, Reason: reason, NamespaceForm: true}
	}
}

// NamespaceOptions says what a draft-16 SUBSCRIBE_NAMESPACE asks for
// (draft-16 §9.25 Subscribe Options).
type NamespaceOptions uint64

// Subscribe Options values.
const (
	NamespaceOptionsPublish   NamespaceOptions = 0x0 // PUBLISH messages
	NamespaceOptionsNamespace NamespaceOptions = 0x1 // NAMESPACE messages
	NamespaceOptionsBoth      NamespaceOptions = 0x2
)

// SubscribeNamespace is SUBSCRIBE_NAMESPACE (type 0x11; draft-14 §9.28,
// draft-16 §9.25). In draft-16 it opens its own bidirectional stream, which
// then carries REQUEST_OK or REQUEST_ERROR, NAMESPACE and NAMESPACE_DONE with
// the usual framing; closing that stream unsubscribes.
type SubscribeNamespace struct {
	RequestID uint64
	// Prefix has 1..32 fields in draft-14 and 0..32 in draft-16.
	Prefix Namespace
	// Options is the draft-16 Subscribe Options field; draft-14 ignores it
	// and its parser returns NamespaceOptionsBoth, which is what a draft-14
	// namespace subscription delivers.
	Options NamespaceOptions
	// Forward is the draft-16 FORWARD parameter for the PUBLISH messages
	// the subscription triggers (always written; true when absent). Draft-14
	// ignores it and its parser returns true.
	Forward bool
	Params  Params
	// Draft14Layout is set by the draft-16 parser when the message came in
	// its draft-14 layout (Eyevinn v0.9.0 sends it so, see parseDraft14Layout);
	// answer such a peer with AppendControl(b, Draft14, response). Encoders
	// ignore it.
	Draft14Layout bool
	// EmptyPrefix14 is set by the draft-14 parser when the prefix has no
	// field, which draft-14 §9.28 makes a protocol violation: moq-dev's
	// relay (moq-lite-rs) sends it to mean every namespace. The session
	// accepts it from that peer only.
	EmptyPrefix14 bool
}

func (m *SubscribeNamespace) controlType(Version) (uint64, error) {
	return typeSubscribeNamespace, nil
}

func (m *SubscribeNamespace) encode(e *encoder, v Version) {
	e.varint(m.RequestID)
	if v == Draft14 {
		rule := namespacePrefix
		if m.EmptyPrefix14 {
			rule = namespacePart16
		}
		e.namespace(m.Prefix, v, rule)
		e.params(m.Params.appendTo(nil, v, false), v)
		return
	}
	e.namespace(m.Prefix, v, namespacePart16)
	if m.Options > NamespaceOptionsBoth {
		e.fail("subscribe options %d", m.Options)
	}
	e.varint(uint64(m.Options))
	kvs := []KeyValue{{Type: paramForward, Value: b2u(m.Forward)}}
	e.params(m.Params.appendTo(kvs, v, false), v)
}

func (m *SubscribeNamespace) decode(d *decoder, v Version, _ uint64) {
	m.RequestID = d.varint()
	m.Forward = true
	if v == Draft14 {
		// 0 fields is a protocol violation in draft-14 (§9.28); the caller
		// decides through EmptyPrefix14 whether its peer is one known to send
		// it.
		m.Prefix = d.namespace(v, namespacePart16)
		m.EmptyPrefix14 = len(m.Prefix) == 0 && d.err == nil
		m.Options = NamespaceOptionsBoth
		d.params(v, func(kv KeyValue) { m.Params.take(d, v, kv) })
		return
	}
	m.Prefix = d.namespace(v, namespacePart16)
	m.Options = NamespaceOptions(d.varint())
	if m.Options > NamespaceOptionsBoth {
		d.violation("subscribe options %d", m.Options)
	}
	d.params(v, func(kv KeyValue) {
		if kv.Type == paramForward {
			m.Forward = d.forwardValue(kv.Value)
			return
		}
		m.Params.take(d, v, kv)
	})
}

// UnsubscribeNamespace is UNSUBSCRIBE_NAMESPACE (type 0x14; draft-14 §9.31).
// Draft-16 has no such message (closing the SUBSCRIBE_NAMESPACE stream
// replaces it), so encoding it for draft-16 fails.
type UnsubscribeNamespace struct {
	Prefix Namespace
}

func (m *UnsubscribeNamespace) controlType(v Version) (uint64, error) {
	if v != Draft14 {
		return 0, notIn("UNSUBSCRIBE_NAMESPACE", v)
	}
	return typeUnsubscribeNamespace, nil
}

func (m *UnsubscribeNamespace) encode(e *encoder, v Version) {
	e.namespace(m.Prefix, v, namespacePrefix)
}

func (m *UnsubscribeNamespace) decode(d *decoder, v Version, _ uint64) {
	m.Prefix = d.namespace(v, namespacePrefix)
}

// NamespaceMessage is the draft-16 NAMESPACE message (type 0x08; draft-16
// §9.21), sent on a SUBSCRIBE_NAMESPACE stream: a namespace below the
// subscribed prefix is published. Draft-14 announces with PUBLISH_NAMESPACE
// instead, so encoding it for draft-14 fails.
type NamespaceMessage struct {
	// Suffix is the namespace without the subscribed prefix (0..32 fields).
	Suffix Namespace
}

func (m *NamespaceMessage) controlType(v Version) (uint64, error) {
	if v != Draft16 {
		return 0, notIn("NAMESPACE", v)
	}
	return typeNamespace, nil
}

func (m *NamespaceMessage) encode(e *encoder, v Version) {
	e.namespace(m.Suffix, v, namespacePart16)
}

func (m *NamespaceMessage) decode(d *decoder, v Version, _ uint64) {
	m.Suffix = d.namespace(v, namespacePart16)
}

// NamespaceDone is the draft-16 NAMESPACE_DONE message (type 0x0E; draft-16
// §9.23), the withdrawal of a NAMESPACE on a SUBSCRIBE_NAMESPACE stream.
// Draft-14 has no such message.
type NamespaceDone struct {
	// Suffix is the namespace without the subscribed prefix (0..32 fields).
	Suffix Namespace
}

func (m *NamespaceDone) controlType(v Version) (uint64, error) {
	if v != Draft16 {
		return 0, notIn("NAMESPACE_DONE", v)
	}
	return typeNamespaceDone, nil
}

func (m *NamespaceDone) encode(e *encoder, v Version) {
	e.namespace(m.Suffix, v, namespacePart16)
}

func (m *NamespaceDone) decode(d *decoder, v Version, _ uint64) {
	m.Suffix = d.namespace(v, namespacePart16)
}
