package srt

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
)

// MaxStreamIDLen is the longest stream ID accepted. SRT itself caps
// SRTO_STREAMID at 512 bytes (libsrt and gosrt MAX_STREAMID_SIZE).
const MaxStreamIDLen = 512

// Stream ID errors, each mapped to its own rejection code in the handshake.
var (
	// ErrBadStreamID reports a stream ID that follows none of the accepted
	// forms.
	ErrBadStreamID = errors.New("bad stream id")
	// ErrNotPublish reports a stream ID that asks to read, not to publish;
	// the gateway only ingests.
	ErrNotPublish = errors.New("stream id mode is not publish")
)

// accessControlPrefix starts a stream ID in the SRT access-control syntax
// (Haivision srt docs/features/access-control.md).
const accessControlPrefix = "#!::"

// streamID is what a caller's stream ID asks for.
type streamID struct {
	// Path is a clean stream path (config.CleanPath).
	Path string
	// Creds are the credentials the stream ID carries, if any.
	Creds ingest.Credentials
}

// parseStreamID accepts three forms:
//
//	#!::r=live/cam1,m=publish[,u=USER][,s=SECRET]   SRT access control
//	publish:live/cam1[:USER:PASS]                    MediaMTX
//	live/cam1[?user=USER&pass=PASS | ?key=KEY]       bare path
//
// In the access-control form m defaults to publish (the standard default is
// request, but the gateway serves no readers, and a caller that never sends
// a TS program is never published); s is the password or stream key; h and t
// (if "stream") are accepted and ignored, like keys the standard does not
// define. A mode other than publish fails with ErrNotPublish, anything else
// malformed with ErrBadStreamID.
func parseStreamID(s string) (streamID, error) {
	if len(s) > MaxStreamIDLen {
		return streamID{}, fmt.Errorf("%w: longer than %d bytes", ErrBadStreamID, MaxStreamIDLen)
	}
	var (
		id  streamID
		raw string
		err error
	)
	switch {
	case strings.HasPrefix(s, accessControlPrefix):
		raw, id.Creds, err = parseAccessControl(s[len(accessControlPrefix):])
	case strings.HasPrefix(s, "#!"):
		return streamID{}, fmt.Errorf("%w: only the %q access-control syntax is supported", ErrBadStreamID, accessControlPrefix)
	case strings.Contains(s, ":"):
		raw, id.Creds, err = parseMediaMTX(s)
	default:
		raw, id.Creds, err = parseBare(s)
	}
	if err != nil {
		return streamID{}, err
	}
	id.Path, err = config.CleanPath(raw)
	if err != nil {
		return streamID{}, fmt.Errorf("%w: %w", ErrBadStreamID, err)
	}
	return id, nil
}

// parseAccessControl parses the comma-separated key=value list after "#!::".
func parseAccessControl(s string) (string, ingest.Credentials, error) {
	var (
		path  string
		creds ingest.Credentials
		seen  = make(map[string]bool, 4)
	)
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return "", creds, fmt.Errorf("%w: %q is not key=value", ErrBadStreamID, kv)
		}
		if seen[k] {
			return "", creds, fmt.Errorf("%w: key %q repeated", ErrBadStreamID, k)
		}
		seen[k] = true
		switch k {
		case "r":
			path = v
		case "m":
			if v != "publish" {
				return "", creds, fmt.Errorf("%w: m=%s", ErrNotPublish, v)
			}
		case "u":
			creds.User = v
		case "s":
			creds.Pass = v
		case "t":
			if v != "stream" {
				return "", creds, fmt.Errorf("%w: t=%s (only stream)", ErrBadStreamID, v)
			}
		}
	}
	if path == "" {
		return "", creds, fmt.Errorf("%w: no r= resource", ErrBadStreamID)
	}
	return path, creds, nil
}

// parseMediaMTX parses "publish:path" and "publish:path:user:pass".
func parseMediaMTX(s string) (string, ingest.Credentials, error) {
	parts := strings.Split(s, ":")
	switch parts[0] {
	case "publish":
	case "read", "request", "play":
		return "", ingest.Credentials{}, fmt.Errorf("%w: %s", ErrNotPublish, parts[0])
	default:
		return "", ingest.Credentials{}, fmt.Errorf("%w: unknown action %q", ErrBadStreamID, parts[0])
	}
	switch len(parts) {
	case 2:
		return parts[1], ingest.Credentials{}, nil
	case 4:
		return parts[1], ingest.Credentials{User: parts[2], Pass: parts[3]}, nil
	default:
		return "", ingest.Credentials{}, fmt.Errorf("%w: want publish:path or publish:path:user:pass", ErrBadStreamID)
	}
}

// parseBare parses "path" with an optional query carrying user and pass, or
// key (a stream key, like RTMP's "?key=").
func parseBare(s string) (string, ingest.Credentials, error) {
	path, query, _ := strings.Cut(s, "?")
	var creds ingest.Credentials
	if query == "" {
		return path, creds, nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", creds, fmt.Errorf("%w: query: %w", ErrBadStreamID, err)
	}
	creds.User = q.Get("user")
	creds.Pass = q.Get("pass")
	if k := q.Get("key"); k != "" {
		if creds.Pass != "" {
			return "", creds, fmt.Errorf("%w: both pass and key", ErrBadStreamID)
		}
		creds.Pass = k
	}
	return path, creds, nil
}
