package wire

import (
	"fmt"
	"strings"
)

// Limits on track names (draft-14 §2.4.1, draft-16 §2.4.1); exceeding them is
// a PROTOCOL_VIOLATION.
const (
	// MaxNamespaceFields is the most fields a Track Namespace may have.
	MaxNamespaceFields = 32
	// MaxFullTrackNameLength bounds the sum of the namespace field lengths
	// and the track name length.
	MaxFullTrackNameLength = 4096
)

// Namespace is a Track Namespace: an ordered tuple of byte strings, compared
// byte for byte (§2.4.1). It is encoded as (tuple): a varint field count,
// then each field as (b).
type Namespace []string

// Len returns the sum of the field lengths, the namespace's share of the
// Full Track Name limit.
func (ns Namespace) Len() int {
	n := 0
	for _, f := range ns {
		n += len(f)
	}
	return n
}

// HasPrefix reports whether p is a prefix of ns, field by field (draft-14
// §8.4 Namespace Prefix Matching).
func (ns Namespace) HasPrefix(p Namespace) bool {
	if len(p) > len(ns) {
		return false
	}
	for i := range p {
		if ns[i] != p[i] {
			return false
		}
	}
	return true
}

// String renders the namespace as its fields joined by "/", for logs.
func (ns Namespace) String() string { return strings.Join(ns, "/") }

// tupleRule says how many fields a tuple may have: a Track Namespace has
// 1..32, a draft-16 namespace prefix or suffix 0..32.
type tupleRule struct {
	minFields int
	what      string
}

var (
	trackNamespace  = tupleRule{1, "track namespace"}
	namespacePrefix = tupleRule{1, "namespace prefix"}
	namespacePart16 = tupleRule{0, "namespace prefix or suffix"}
)

func (e *encoder) namespace(ns Namespace, v Version, rule tupleRule) {
	if len(ns) < rule.minFields || len(ns) > MaxNamespaceFields {
		e.fail("%s has %d fields, want %d..%d", rule.what, len(ns), rule.minFields, MaxNamespaceFields)
		return
	}
	if ns.Len() > MaxFullTrackNameLength {
		e.fail("%s is %d bytes: %w", rule.what, ns.Len(), ErrTooLarge)
		return
	}
	e.varint(uint64(len(ns)))
	for _, f := range ns {
		if f == "" && v == Draft16 {
			e.fail("%s has an empty field (draft-16 §2.4.1)", rule.what)
			return
		}
		e.varint(uint64(len(f)))
		e.b = append(e.b, f...)
	}
}

func (e *encoder) trackName(name string, ns Namespace) {
	if ns.Len()+len(name) > MaxFullTrackNameLength {
		e.fail("full track name is %d bytes: %w", ns.Len()+len(name), ErrTooLarge)
		return
	}
	e.varint(uint64(len(name)))
	e.b = append(e.b, name...)
}

// namespace reads a tuple. The field count and the running byte total are
// checked before any field is copied, so a hostile count or length never
// drives an allocation.
func (d *decoder) namespace(v Version, rule tupleRule) Namespace {
	n := d.varint()
	if d.err != nil {
		return nil
	}
	if n < uint64(rule.minFields) || n > MaxNamespaceFields {
		d.violation("%s has %d fields, want %d..%d", rule.what, n, rule.minFields, MaxNamespaceFields)
		return nil
	}
	ns := make(Namespace, 0, n)
	total := 0
	for range n {
		l := d.varint()
		if d.err != nil {
			return nil
		}
		if l == 0 && d.semantics(v) == Draft16 {
			d.violation("%s has an empty field (draft-16 §2.4.1)", rule.what)
			return nil
		}
		if l > uint64(MaxFullTrackNameLength-total) {
			d.fail(fmt.Errorf("%w: %s longer than %d bytes", ErrTooLarge, rule.what, MaxFullTrackNameLength))
			return nil
		}
		total += int(l)
		ns = append(ns, string(d.take(int(l))))
	}
	return ns
}

// trackName reads a Track Name, bounding the Full Track Name (§2.4.1).
func (d *decoder) trackName(ns Namespace) string {
	return d.string(MaxFullTrackNameLength-ns.Len(), "full track name")
}
