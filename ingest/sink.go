package ingest

import (
	"context"
	"errors"
)

// Sink accepts streams from protocol adapters. The gateway's implementation
// packages them and publishes them over MoQ.
type Sink interface {
	// Publish starts a publication on a stream path. It fails with
	// ErrPathInUse when another publisher holds the path and the path's
	// policy rejects newcomers.
	Publish(ctx context.Context, req PublishRequest) (Publication, error)
}

// PublishRequest describes a new publication.
type PublishRequest struct {
	// Path is a clean stream path (see config.CleanPath), e.g. "live/cam1".
	Path string
	// Proto names the ingest protocol ("rtmp", "rtsp", "srt") for logs.
	Proto string
	// Remote is the publisher's network address, for logs.
	Remote string
	// Tracks are the publication's tracks; Frame.Track indexes them.
	Tracks []Track
}

// Publication is one publisher's stream. WriteFrame and Close are called from
// one goroutine.
type Publication interface {
	// WriteFrame hands a frame to the pipeline. It never blocks on
	// subscribers. An error ends the publication: ErrReplaced once a newer
	// publisher has taken the path, or the stream's end; the adapter then
	// closes its connection. A frame the pipeline cannot use is dropped and
	// counted there, without an error.
	WriteFrame(f Frame) error
	// Done is closed when the sink ends the publication (replaced, shut
	// down); not when the adapter closes it.
	Done() <-chan struct{}
	// Close ends the publication. The stream's MoQ state outlives it for a
	// grace period, so a publisher that reconnects resumes it.
	Close() error
}

// Errors a Sink reports.
var (
	// ErrPathInUse reports a path that already has a publisher whose policy
	// rejects newcomers.
	ErrPathInUse = errors.New("path already has a publisher")
	// ErrReplaced reports that a newer publisher took over the path.
	ErrReplaced = errors.New("replaced by a newer publisher")
)
