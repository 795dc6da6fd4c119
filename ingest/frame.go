package ingest

import "time"

// Frame is one access unit of a track.
type Frame struct {
	// Track indexes the tracks the publication was created with.
	Track int
	// DTS and PTS are in the track's timescale on its 64-bit timeline; wrapped
	// protocol clocks are unwrapped by the adapter (see Unwrapper).
	DTS, PTS int64
	// Keyframe marks a random access point: an IDR/IRAP picture or an AV1 key
	// frame. Every audio frame is one.
	Keyframe bool
	// AU is the access unit: NAL units without start codes or length prefixes
	// (H.264, H.265), OBUs (AV1), or a single element holding one audio frame.
	// The slices may be reused by the adapter once WriteFrame returns.
	AU [][]byte
	// Received is when the adapter finished reading the frame; it anchors the
	// ingest-to-subscriber latency figures.
	Received time.Time
}
