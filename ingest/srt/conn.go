package srt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	srt "github.com/datarhei/gosrt"

	"github.com/moqgw/moq-gateway/ingest"
)

// errReadTimeout ends a connection that delivered no data for ReadTimeout.
var errReadTimeout = errors.New("no data received")

// serveConn runs one accepted publisher until it disconnects, fails, is
// replaced or the server stops. It closes only conn.
func (s *Server) serveConn(ctx context.Context, conn srt.Conn, path string, log *slog.Logger) {
	c := &session{s: s, conn: conn, path: path, log: log}
	defer func() {
		if r := recover(); r != nil {
			log.Error("srt: panic in connection", "panic", r, "stack", string(debug.Stack()))
		}
		conn.Close()
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	err := c.run(ctx)
	summary := []any{"frames", c.frames, "bytes", c.bytes, "decode_errors", c.decodeErrors, "lost_packets", c.lostPackets}
	switch {
	case errors.Is(err, ingest.ErrReplaced):
		log.Info("srt: replaced by a newer publisher", summary...)
	case errors.Is(err, io.EOF) || ctx.Err() != nil:
		log.Info("srt: publisher disconnected", summary...)
	default:
		log.Warn("srt: connection closed", append(summary, "error", err)...)
	}
}

// session is one SRT publisher.
type session struct {
	s    *Server
	conn srt.Conn
	path string
	log  *slog.Logger

	decodeErrs *ingest.RateLog
	// Per-connection totals for the closing log line; only the
	// connection's goroutine touches them.
	frames, bytes, decodeErrors, lostPackets int

	// timedOut is set by the read watchdog before it closes conn.
	mu       sync.Mutex
	timedOut bool
}

func (c *session) run(ctx context.Context) error {
	c.decodeErrs = ingest.NewRateLog(c.log, slog.LevelWarn, "srt: corrupt input skipped")

	// gosrt's SetReadDeadline is a no-op, so a timer closes the
	// connection instead; every read pushes it back.
	timeout := c.s.readTimeout()
	watchdog := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.timedOut = true
		c.mu.Unlock()
		c.conn.Close()
	})
	defer watchdog.Stop()

	tr := newTSReader(c.conn,
		func(n int) {
			watchdog.Reset(timeout)
			c.bytes += n
			c.s.stats.bytes.Add(uint64(n))
		},
		c.decodeError,
	)
	// mediacommon reads the program tables (PAT, PMT, the first ADTS header
	// of each AAC track); the demuxer then replays what it read.
	r := &mpegts.Reader{R: tr}
	if err := r.Initialize(); err != nil {
		return c.readErr(fmt.Errorf("srt %s: reading TS program: %w", c.path, err))
	}
	probed := tr.endProbe()
	prog := newProgram(r.Tracks())
	for _, sk := range prog.Skipped {
		c.log.Warn("srt: ignoring unsupported track", "track", sk)
	}
	if len(prog.Tracks) == 0 {
		return fmt.Errorf("srt %s: no supported track (H.264, H.265, AAC, Opus)", c.path)
	}
	prog.onError = c.decodeError
	prog.onLost = func(n int) {
		c.lostPackets += n
		c.s.stats.lostPackets.Add(uint64(n))
	}

	pub, err := c.s.Sink.Publish(ctx, ingest.PublishRequest{
		Path: c.path, Proto: "srt", Remote: c.conn.RemoteAddr().String(), Tracks: prog.Tracks,
	})
	if err != nil {
		return fmt.Errorf("srt %s: publish: %w", c.path, err)
	}
	defer pub.Close()
	c.s.stats.published.Add(1)
	c.log.Info("srt: publishing", "tracks", trackList(prog.Tracks))

	// The sink may end the publication (a newer publisher took the path,
	// shutdown); the read loop then sees the closed connection.
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-pub.Done():
			c.conn.Close()
		case <-done:
		}
	}()
	defer wg.Wait()
	defer close(done)

	prog.write = func(f ingest.Frame) error {
		c.frames++
		c.s.stats.frames.Add(1)
		return pub.WriteFrame(f)
	}
	for pkt := range slices.Chunk(probed, tsPacketSize) {
		if err := prog.packet(pkt); err != nil {
			return err
		}
	}
	for {
		pkt, err := tr.next()
		if err == nil {
			err = prog.packet(pkt)
		}
		if err != nil {
			select {
			case <-pub.Done():
				return ingest.ErrReplaced
			default:
			}
			// Only the publisher's own close means the PES in hand is
			// whole; the watchdog or a shutdown may cut one short.
			if errors.Is(err, io.EOF) && ctx.Err() == nil && !c.timedOutNow() {
				if err := prog.end(); err != nil {
					return err
				}
			}
			return c.readErr(err)
		}
	}
}

// timedOutNow reports whether the watchdog closed the connection.
func (c *session) timedOutNow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timedOut
}

// readErr names the watchdog as the cause when it closed the connection.
func (c *session) readErr(err error) error {
	if c.timedOutNow() {
		return fmt.Errorf("srt %s: %w for %v", c.path, errReadTimeout, c.s.readTimeout())
	}
	return err
}

func (c *session) decodeError(err error) {
	c.decodeErrors++
	c.s.stats.decodeErrors.Add(1)
	c.decodeErrs.Log("error", err)
}

// trackList is a log-friendly list of codecs, e.g. "H264,AAC".
func trackList(ts []ingest.Track) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t.Codec)
	}
	return strings.Join(names, ",")
}
