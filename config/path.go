package config

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on stream paths. A path becomes a MoQ namespace with one field per
// segment, so the MoQT tuple limits apply (draft-14 §Track Naming: 1..32
// fields, full track name ≤ 4096 bytes); 1024 bytes keeps room for the track
// name and matches ffmpeg's RTMP tcUrl limit.
const (
	MaxPathLen      = 1024
	MaxPathSegments = 32
)

// ErrBadPath reports a stream path the gateway refuses.
var ErrBadPath = errors.New("bad stream path")

// CleanPath turns a path as a publisher typed it ("/live/cam1/",
// "live//cam1") into the stream path "live/cam1". It rejects empty paths,
// "." and ".." segments, control characters and paths over the limits.
func CleanPath(p string) (string, error) {
	if len(p) > MaxPathLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrBadPath, MaxPathLen)
	}
	segs := make([]string, 0, 4)
	for s := range strings.SplitSeq(p, "/") {
		switch s {
		case "":
			continue
		case ".", "..":
			return "", fmt.Errorf("%w: %q segment", ErrBadPath, s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				return "", fmt.Errorf("%w: control character", ErrBadPath)
			}
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		return "", fmt.Errorf("%w: empty", ErrBadPath)
	}
	if len(segs) > MaxPathSegments {
		return "", fmt.Errorf("%w: more than %d segments", ErrBadPath, MaxPathSegments)
	}
	return strings.Join(segs, "/"), nil
}

// PathNamespace is the MoQ namespace tuple of a clean stream path: one
// field per segment ("live/cam1" → ["live", "cam1"]).
func PathNamespace(path string) []string {
	return strings.Split(path, "/")
}
