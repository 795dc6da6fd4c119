package moq

import (
	"slices"
	"strconv"
	"strings"
)

// Namespace is a MoQT track namespace: an ordered tuple of byte strings
// (draft-14 §2.4.1), one per path segment of a stream ("live/cam1" →
// ["live", "cam1"]).
type Namespace []string

// String joins the fields with "/" for logs.
func (ns Namespace) String() string { return strings.Join(ns, "/") }

// Equal reports whether two namespaces are the same tuple.
func (ns Namespace) Equal(o Namespace) bool { return slices.Equal(ns, o) }

// HasPrefix reports whether p is a prefix of ns (field by field).
func (ns Namespace) HasPrefix(p Namespace) bool {
	return len(p) <= len(ns) && slices.Equal(ns[:len(p)], p)
}

// key is an unambiguous map key for the namespace: each field as its
// decimal length, a colon, then its bytes (fields may contain any byte).
func (ns Namespace) key() string {
	var b strings.Builder
	for _, f := range ns {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
	}
	return b.String()
}
