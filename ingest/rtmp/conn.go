package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/moqgw/moq-gateway/ingest"
)

// phase is how far a connection got.
type phase uint8

const (
	phaseSetup  phase = iota // handshake and commands up to publish
	phaseProbe               // gortmplib reads the first 2 s to find the tracks
	phaseStream              // frames flow to the Sink
)

// errAdobeStep ends a connection that took one step of Adobe authentication;
// the client reconnects for the next one.
var errAdobeStep = errors.New("adobe authentication step")

// refusedError ends a connection the gateway refused by policy; the refusal
// was logged where it happened.
type refusedError struct{ reason string }

func (e refusedError) Error() string { return e.reason }

// conn is one connection; its fields belong to the goroutine that runs it,
// except replaced.
type conn struct {
	s     *Server
	nc    net.Conn
	log   *slog.Logger
	mc    *msgConn
	phase phase

	path   string
	an     *analysis
	tracks *trackSet
	// undeclared, when the probe ended early on onMetaData's word, holds
	// which kinds of media the probe found; media of another kind (or
	// E-RTMP multitrack) arriving later is dropped, since gortmplib would
	// end the connection on it.
	undeclared *undeclared
	pub        ingest.Publication
	start      time.Time
	// clock unwraps the connection's 32-bit millisecond clock.
	clock ingest.Unwrapper
	// writeErr is the first WriteFrame error.
	writeErr error

	// pubDone hands the publication's Done channel to the watcher.
	pubDone chan (<-chan struct{})
	// replaced is set when the Sink ended the publication.
	replaced atomic.Bool
}

// serveConn runs one connection and returns when it and its watcher ended.
func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	log := s.logger().With("proto", proto, "remote", nc.RemoteAddr().String())
	if _, ok := nc.(*tls.Conn); ok {
		log = log.With("tls", true)
	}
	c := &conn{
		s:       s,
		nc:      nc,
		log:     log,
		clock:   ingest.Unwrapper{Bits: ingest.RTMPTimestampBits},
		pubDone: make(chan (<-chan struct{}), 1),
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { c.watch(ctx, stop) })

	err := c.run(ctx)
	nc.Close()
	close(stop)
	wg.Wait()
	c.logEnd(ctx, err)
}

// watch closes the connection when the server shuts down or the Sink ends
// the publication, which unblocks the connection's read.
func (c *conn) watch(ctx context.Context, stop <-chan struct{}) {
	defer c.recoverPanic("watcher")
	var done <-chan struct{}
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			c.nc.Close()
			return
		case done = <-c.pubDone:
		case <-done:
			c.replaced.Store(true)
			c.nc.Close()
			return
		}
	}
}

// recoverPanic logs a panic of a connection goroutine and closes only that
// connection.
func (c *conn) recoverPanic(where string) {
	if r := recover(); r != nil {
		c.s.errs.Add(1)
		c.log.Error("panic in connection", "in", where, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		c.nc.Close()
	}
}

// run serves the connection until it ends and returns why.
func (c *conn) run(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.s.errs.Add(1)
			c.log.Error("panic in connection", "in", "reader", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = refusedError{"panic"} // logged above
		}
	}()

	s := c.s
	c.mc = newMsgConn(c.nc, &s.bytesIn, s.readTimeout(), s.writeTimeout())
	c.mc.until = time.Now().Add(s.handshakeTimeout())
	c.mc.observe = c.observe
	if err := c.mc.handshake(); err != nil {
		return err
	}
	sc, target, err := c.negotiate()
	if err != nil {
		return err
	}
	if err := c.status(sc.id, "status", "NetStream.Publish.Start", "publish start"); err != nil {
		return err
	}

	// gortmplib's Reader reads until it has seen 2 s of media and knows
	// every track, then replays what it read to the callbacks; once the
	// tracks onMetaData declares are configured, c.observe ends that probe.
	c.phase, c.an = phaseProbe, newAnalysis()
	c.mc.until = time.Now().Add(s.handshakeTimeout())
	c.mc.in.budget = analyzeBudget
	r := &gortmplib.Reader{Conn: c.mc}
	if err := r.Initialize(); err != nil {
		return fmt.Errorf("probing tracks: %w", err)
	}
	ts, err := c.mapTracks(r, c.an)
	if c.an.ended {
		c.undeclared = newUndeclared(r, c.log)
	}
	c.an = nil
	if len(ts.dropped) > 0 {
		c.log.Warn("tracks dropped: codec not supported", "codecs", strings.Join(ts.dropped, ","))
	}
	if err != nil {
		c.s.rejected.Add(1)
		c.log.Warn("publish refused", "err", err)
		return refusedError{err.Error()}
	}
	c.tracks = ts

	pub, err := s.Sink.Publish(ctx, ingest.PublishRequest{
		Path:   target.path,
		Proto:  proto,
		Remote: c.nc.RemoteAddr().String(),
		Tracks: ts.tracks,
	})
	if errors.Is(err, ingest.ErrPathInUse) {
		c.s.rejected.Add(1)
		c.log.Warn("path already has a publisher")
		_ = c.status(sc.id, "error", "NetStream.Publish.BadName", "stream path already has a publisher")
		return refusedError{err.Error()}
	}
	if err != nil {
		return fmt.Errorf("rtmp %s: %w", target.path, err)
	}
	c.pub, c.start = pub, time.Now()
	defer pub.Close()
	c.pubDone <- pub.Done()
	s.publishers.Add(1)
	defer s.publishers.Add(-1)
	codecs := make([]string, len(ts.tracks))
	for i, t := range ts.tracks {
		codecs[i] = describe(t)
	}
	c.log.Info("publishing", "codecs", strings.Join(codecs, ", "))

	c.phase = phaseStream
	c.mc.until = time.Time{}
	c.mc.in.budget = -1
	for {
		if err := r.Read(); err != nil {
			return err
		}
		if c.writeErr != nil {
			return c.writeErr
		}
	}
}

// negotiate runs the commands up to an accepted publish: connect, Adobe
// authentication, createStream, publish, and the publish authorization.
func (c *conn) negotiate() (streamCommand, target, error) {
	s := c.s
	cc, err := c.readConnect()
	if err != nil {
		return streamCommand{}, target{}, err
	}
	connectPath, connectQuery := connectPath(cc.tcURL, cc.app)
	login, adobe := parseAdobe(connectQuery)
	switch {
	case adobe && login.user == "":
		_ = c.rejectConnect(cc, adobeAuthFailed)
		return streamCommand{}, target{}, errors.New("adobe login without a user name")
	case adobe && !login.complete():
		_ = c.rejectConnect(cc, s.adobe.challengeDescription(login.user, time.Now()))
		return streamCommand{}, target{}, errAdobeStep
	case !adobe:
		connectCreds := make(map[string]string)
		parseQuery(connectQuery, connectCreds)
		if connectCreds[paramUser] == "" && connectCreds[paramPass] == "" && connectCreds[paramKey] == "" &&
			s.needsAdobe(connectPath, cc.flashVer) {
			_ = c.rejectConnect(cc, adobeNeedAuth)
			return streamCommand{}, target{}, errAdobeStep
		}
	}
	if err := c.acceptConnect(cc); err != nil {
		return streamCommand{}, target{}, err
	}

	sc, err := c.readStreamCommand()
	if err != nil {
		return streamCommand{}, target{}, err
	}
	if !sc.publish {
		s.rejected.Add(1)
		c.log.Warn("play refused: this gateway only ingests over RTMP", "stream", truncate(sc.name))
		_ = c.status(sc.id, "error", "NetStream.Play.Failed", "this server only accepts publishers")
		return streamCommand{}, target{}, refusedError{"play refused"}
	}
	t, err := parseTarget(cc.tcURL, cc.app, sc.name)
	if err != nil {
		s.rejected.Add(1)
		c.log.Warn("bad stream path", "stream", truncate(sc.name), "err", err)
		_ = c.status(sc.id, "error", "NetStream.Publish.BadName", err.Error())
		return streamCommand{}, target{}, refusedError{err.Error()}
	}
	c.path = t.path
	c.log = c.log.With("path", t.path)

	creds := t.creds
	if adobe && !t.hasCreds() {
		creds = s.adobeCredentials(login, t.path, time.Now())
	}
	creds.Proto, creds.Remote = proto, c.nc.RemoteAddr().String()
	if s.TLSConfig != nil {
		creds.Proto = "rtmps"
	}
	if err := s.Auth.CheckPublish(t.path, creds); err != nil {
		s.rejected.Add(1)
		s.authFailures.Add(1)
		// The message is ingest.ErrAuth's text, stable for fail2ban.
		c.log.Warn(ingest.ErrAuth.Error())
		_ = c.status(sc.id, "error", "NetStream.Publish.Unauthorized", ingest.ErrAuth.Error())
		return streamCommand{}, target{}, refusedError{err.Error()}
	}
	return sc, t, nil
}

// observe sees every message the connection reads, before gortmplib's
// Reader does.
func (c *conn) observe(msg message.Message) error {
	switch c.phase {
	case phaseProbe:
		if endsStream(msg) {
			return fmt.Errorf("%w before its tracks were known (the probe needs 2 s of media, or every track onMetaData declares)", errUnpublished)
		}
		c.an.observe(msg)
		if end := c.an.endOfProbe(); end != nil {
			c.mc.next = end
		}
	case phaseStream:
		if endsStream(msg) {
			return errUnpublished
		}
		if c.undeclared != nil && c.undeclared.drop(msg) {
			return errSkip
		}
		switch m := msg.(type) {
		case *message.VideoExSequenceStart:
			c.tracks.sequenceStart(0, m)
		case *message.VideoExMultitrack:
			if w, ok := m.Wrapped.(*message.VideoExSequenceStart); ok {
				c.tracks.sequenceStart(m.TrackID, w)
			}
		}
	}
	return nil
}

// logEnd writes the connection's last log line.
func (c *conn) logEnd(ctx context.Context, err error) {
	var refused refusedError
	switch {
	case errors.As(err, &refused):
		// Logged where it was refused.
	case errors.Is(err, errAdobeStep):
		c.log.Debug("adobe authentication challenge sent")
	case c.pub != nil:
		var frames uint64
		for _, st := range c.tracks.states {
			frames += st.frames
		}
		attrs := []any{
			"frames", frames,
			"bytes", c.mc.BytesReceived(),
			"duration", time.Since(c.start).Round(time.Millisecond),
		}
		switch {
		case ctx.Err() != nil:
			c.log.Info("publish ended: server shutting down", attrs...)
		case c.replaced.Load() || errors.Is(err, ingest.ErrReplaced):
			c.log.Info(ingest.ErrReplaced.Error(), attrs...)
		case endedByPublisher(err):
			c.log.Info("publish ended", attrs...)
		default:
			c.s.errs.Add(1)
			c.log.Warn("publish ended", append(attrs, "err", err)...)
		}
	case ctx.Err() != nil:
		c.log.Debug("connection closed: server shutting down")
	default:
		c.s.errs.Add(1)
		c.log.Warn("connection failed", "err", err)
	}
}

// endedByPublisher reports errors of a publisher that stopped.
func endedByPublisher(err error) bool {
	return errors.Is(err, errUnpublished) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// truncate bounds a client string in a log line.
func truncate(s string) string {
	const maxLogString = 256
	if len(s) > maxLogString {
		return s[:maxLogString] + "…"
	}
	return s
}
