package wire

import (
	"fmt"
	"strings"
)

// Version is a MOQT version number (draft-14 §9.3.1): 0xff000000 plus the
// draft number for drafts, 0x00000001 for the RFC.
type Version uint64

// The versions this package encodes and decodes.
const (
	// Draft14 is draft-ietf-moq-transport-14, negotiated in CLIENT_SETUP /
	// SERVER_SETUP under ALPN "moq-00" (draft-14 §3.1.2, §9.3.1).
	Draft14 Version = 0xff00000e
	// Draft16 is draft-ietf-moq-transport-16, negotiated by ALPN "moqt-16"
	// (draft-16 §3.1); its SETUP messages carry no versions.
	Draft16 Version = 0xff000010
	// Draft18 is draft-ietf-moq-transport-18, negotiated by ALPN "moqt-18"
	// (draft-18 §3.1): one SETUP on a pair of unidirectional control
	// streams, one bidirectional stream per request, the vi64 integer
	// encoding (§1.4.1) and typed message parameters (§10.2).
	Draft18 Version = 0xff000012
	// Draft19 is draft-ietf-moq-transport-19 ("moqt-19"): draft-18 on the
	// wire but for GOAWAY, which loses its Request ID again (#1623), and
	// several subscriptions to one track may coexist (#1775). Its text was
	// not found; the changes are the draft-21 change log's A.3.
	Draft19 Version = 0xff000013
)

// ALPN protocol identifiers of the supported drafts.
const (
	// ALPNDraft14 is the ALPN of every draft before -15 (draft-14 §3.1.2);
	// the version itself is then chosen in SETUP.
	ALPNDraft14 = "moq-00"
	// ALPNDraft16 is the ALPN of draft-16 ("moqt-" + draft number, draft-16
	// §3.1).
	ALPNDraft16 = "moqt-16"
	// ALPNDraft18 is the ALPN and WT-Available-Protocols token of draft-18.
	ALPNDraft18 = "moqt-18"
	// ALPNDraft19 is the ALPN and WT-Available-Protocols token of draft-19.
	ALPNDraft19 = "moqt-19"
)

// String returns "draft-14" or "draft-16", and the hexadecimal number for
// other versions.
func (v Version) String() string {
	switch v {
	case Draft14:
		return "draft-14"
	case Draft16:
		return "draft-16"
	case Draft18:
		return "draft-18"
	case Draft19:
		return "draft-19"
	}
	return fmt.Sprintf("0x%x", uint64(v))
}

// ALPN returns the ALPN protocol identifier that selects v's codec, or ""
// for a version this package does not support.
func (v Version) ALPN() string {
	switch v {
	case Draft14:
		return ALPNDraft14
	case Draft16:
		return ALPNDraft16
	case Draft18:
		return ALPNDraft18
	case Draft19:
		return ALPNDraft19
	}
	return ""
}

// Versions lists the versions this package speaks, oldest first.
var Versions = []Version{Draft14, Draft16, Draft18, Draft19}

// ParseDraft parses a draft number as users write it: "14", "16",
// "draft-16", "18".
func ParseDraft(s string) (Version, error) {
	for _, v := range Versions {
		if n := strings.TrimPrefix(v.String(), "draft-"); s == n || s == v.String() {
			return v, nil
		}
	}
	return 0, fmt.Errorf("draft %q is not 14, 16, 18 or 19", s)
}

// VersionForALPN returns the codec version for a negotiated ALPN protocol:
// Draft14 for "moq-00" (whose SETUP must still offer or select Draft14) and
// Draft16 for "moqt-16".
func VersionForALPN(alpn string) (Version, bool) {
	switch alpn {
	case ALPNDraft14:
		return Draft14, true
	case ALPNDraft16:
		return Draft16, true
	case ALPNDraft18:
		return Draft18, true
	case ALPNDraft19:
		return Draft19, true
	}
	return 0, false
}

// RequestStreams reports whether v carries each request on its own
// bidirectional stream and SETUP on a pair of unidirectional control
// streams (draft-18 §3.3), as drafts from 17 on do.
func (v Version) RequestStreams() bool { return v == Draft18 || v == Draft19 }

// vi64 reports whether v's integers use the vi64 encoding (draft-18
// §1.4.1) instead of QUIC varints.
func (v Version) vi64() bool { return v == Draft18 || v == Draft19 }

// layout16 reports whether v's Key-Value-Pairs are delta-typed and its data
// streams carry the draft-16 flags (DEFAULT_PRIORITY, statuses): draft-16
// and later.
func (v Version) layout16() bool { return v == Draft16 || v.vi64() }

func (v Version) check() error {
	if v != Draft14 && v != Draft16 && !v.vi64() {
		return fmt.Errorf("wire: unsupported version %v", v)
	}
	return nil
}
