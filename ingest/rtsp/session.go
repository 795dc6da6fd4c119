package rtsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
)

// errWrite marks an error of the sink, which ends the session, apart from
// decode errors, which cost a frame.
var errWrite = errors.New("write")

// handler receives gortsplib's callbacks. They run on gortsplib's
// goroutines: a session's requests on its own, its TCP packets on the
// connection's reader, UDP packets on the shared UDP reader.
type handler struct {
	s   *Server
	ctx context.Context // Serve's, for Sink.Publish

	mu       sync.Mutex
	sessions map[*gortsplib.ServerSession]*session
	// wg counts the goroutines the handler starts (publication watchers).
	wg sync.WaitGroup
}

// session is one publishing RTSP session, from ANNOUNCE to its close.
type session struct {
	h      *handler
	ss     *gortsplib.ServerSession
	path   string
	remote string
	log    *slog.Logger
	tracks []*track

	// mu serializes WriteFrame and Close: packets of a session may be
	// handled on different goroutines over its life (TCP reader, UDP
	// reader), and Close comes from the session's own.
	mu         sync.Mutex
	pub        ingest.Publication
	closed     bool
	stop       chan struct{} // closed with the session; ends the watcher
	decodeErrs *ingest.RateLog
	frames     int
	errors     int
}

// guard recovers a panic in one of our callbacks: the session that caused it
// is closed and logged, the process and other sessions carry on.
func (h *handler) guard(ss *gortsplib.ServerSession, what string) {
	if r := recover(); r != nil {
		h.s.log.Error("rtsp: panic in "+what, "panic", r, "stack", string(debug.Stack()))
		if ss != nil {
			ss.Close()
		}
	}
}

// OnConnClose counts connections that ended on a protocol error.
func (h *handler) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	defer h.guard(nil, "OnConnClose")
	if benignClose(ctx.Error) {
		return
	}
	h.s.stats.connErrors.Add(1)
	h.s.connErrs.Log("remote", ctx.Conn.NetConn().RemoteAddr().String(), "error", ctx.Error)
}

// benignClose reports the ways a connection ends without anything wrong.
func benignClose(err error) bool {
	var (
		terminated liberrors.ErrServerTerminated
		tornDown   liberrors.ErrServerSessionTornDown
		auth       liberrors.ErrServerAuth
	)
	return err == nil || errors.Is(err, io.EOF) || errors.As(err, &terminated) ||
		errors.As(err, &tornDown) || errors.As(err, &auth) || errors.Is(err, errNotPublishing)
}

// OnRequest logs playback attempts: the gateway is ingest only, and
// gortsplib answers them 501 Not Implemented since no play handler exists.
func (h *handler) OnRequest(c *gortsplib.ServerConn, req *base.Request) {
	defer h.guard(nil, "OnRequest")
	if req.Method == base.Describe || req.Method == base.Play {
		path := ""
		if req.URL != nil {
			path = req.URL.Path
		}
		h.s.playback.Log("method", string(req.Method), "path", path, "remote", c.NetConn().RemoteAddr().String())
	}
}

// errNotPublishing refuses a SETUP that does not follow an ANNOUNCE (a
// reader).
var errNotPublishing = errors.New("SETUP without ANNOUNCE: the gateway only ingests")

// OnAnnounce checks the path and credentials and maps the announced medias.
func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (_ *base.Response, err error) {
	defer h.guard(ctx.Session, "OnAnnounce")
	remote := ctx.Conn.NetConn().RemoteAddr().String()
	log := h.s.log.With("remote", remote)
	path, err := config.CleanPath(ctx.Path)
	if err != nil {
		log.Warn("rtsp: bad path", "error", err)
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	log = log.With("path", path)

	switch err := authorize(h.s.Auth, ctx.Conn, ctx.Request, path, h.s.proto()); {
	case errors.Is(err, errNoCredentials):
		return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	case err != nil:
		h.s.stats.authFailures.Add(1)
		log.Warn(ingest.ErrAuth.Error())
		return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}

	tracks, skipped := announcedTracks(ctx.Description)
	for _, sk := range skipped {
		log.Warn("rtsp: ignoring unsupported format", "format", sk)
	}
	if len(tracks) == 0 {
		err := errors.New("no supported format (H.264, H.265, AAC, Opus)")
		log.Warn("rtsp: announce refused", "error", err)
		return &base.Response{StatusCode: base.StatusUnsupportedMediaType}, err
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if old := h.sessions[ctx.Session]; old != nil && old.pub != nil {
		return &base.Response{StatusCode: base.StatusMethodNotValidInThisState}, errors.New("ANNOUNCE while recording")
	}
	h.sessions[ctx.Session] = &session{
		h: h, ss: ctx.Session, path: path, remote: remote, log: log, tracks: tracks,
		stop: make(chan struct{}),
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSetup accepts the transports of an announced session and refuses
// readers.
func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (_ *base.Response, _ *gortsplib.ServerStream, err error) {
	defer h.guard(ctx.Session, "OnSetup")
	if ctx.Session.State() == gortsplib.ServerSessionStateInitial {
		h.s.playback.Log("method", string(base.Setup), "path", ctx.Path, "remote", ctx.Conn.NetConn().RemoteAddr().String())
		return &base.Response{StatusCode: base.StatusMethodNotValidInThisState}, nil, errNotPublishing
	}
	return &base.Response{StatusCode: base.StatusOK}, nil, nil
}

// OnRecord publishes the session and routes its packets.
func (h *handler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (_ *base.Response, err error) {
	defer h.guard(ctx.Session, "OnRecord")
	h.mu.Lock()
	st := h.sessions[ctx.Session]
	h.mu.Unlock()
	if st == nil {
		return &base.Response{StatusCode: base.StatusMethodNotValidInThisState}, errors.New("RECORD without ANNOUNCE")
	}
	resp, err := st.record()
	if err == nil {
		if lc, ok := ctx.Conn.NetConn().(*limitConn); ok {
			// Publishing over UDP leaves the connection quiet between
			// keep-alives; gortsplib bounds a TCP publication's reads.
			lc.startPublishing()
		}
	}
	return resp, err
}

// OnSessionClose ends the session's publication.
func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	defer h.guard(nil, "OnSessionClose")
	h.mu.Lock()
	st := h.sessions[ctx.Session]
	delete(h.sessions, ctx.Session)
	h.mu.Unlock()
	if st != nil {
		st.close(ctx.Error)
	}
}

// OnPacketsLost counts RTP sequence gaps.
func (h *handler) OnPacketsLost(ctx *gortsplib.ServerHandlerOnPacketsLostCtx) {
	defer h.guard(ctx.Session, "OnPacketsLost")
	h.s.stats.lostPackets.Add(ctx.Lost)
	if st := h.session(ctx.Session); st != nil {
		st.decodeError(fmt.Errorf("%d RTP packets lost", ctx.Lost))
	}
}

// OnDecodeError counts packets gortsplib could not decode.
func (h *handler) OnDecodeError(ctx *gortsplib.ServerHandlerOnDecodeErrorCtx) {
	defer h.guard(ctx.Session, "OnDecodeError")
	h.s.stats.decodeErrors.Add(1)
	if st := h.session(ctx.Session); st != nil {
		st.decodeError(ctx.Error)
	}
}

func (h *handler) session(ss *gortsplib.ServerSession) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[ss]
}

// record publishes the session to the sink and starts routing packets.
func (st *session) record() (*base.Response, error) {
	setup := make(map[*description.Media]bool)
	for _, m := range st.ss.Medias() {
		setup[m] = true
	}
	var infos []ingest.Track
	var used []*track
	for _, t := range st.tracks {
		if setup[t.media] {
			infos = append(infos, t.info)
			used = append(used, t)
		}
	}
	if len(used) == 0 {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("no supported media set up")
	}
	pub, err := st.h.s.Sink.Publish(st.h.ctx, ingest.PublishRequest{
		Path: st.path, Proto: "rtsp", Remote: st.remote, Tracks: infos,
	})
	if err != nil {
		st.log.Warn("rtsp: publish refused", "error", err)
		res := &base.Response{StatusCode: base.StatusBadRequest}
		if errors.Is(err, ingest.ErrPathInUse) {
			res.StatusMessage = "Path Already Has A Publisher"
		}
		return res, fmt.Errorf("rtsp %s: publish: %w", st.path, err)
	}
	st.mu.Lock()
	st.pub = pub
	st.decodeErrs = ingest.NewRateLog(st.log, slog.LevelWarn, "rtsp: corrupt input skipped")
	st.mu.Unlock()
	st.h.s.stats.published.Add(1)
	st.log.Info("rtsp: publishing", "tracks", trackList(infos), "transport", transportName(st.ss))

	for i, t := range used {
		st.ss.OnPacketRTP(t.media, t.format, func(pkt *rtp.Packet) {
			defer st.h.guard(st.ss, "RTP handler")
			st.packet(i, t, pkt)
		})
	}

	// A publication the sink ends (replaced, shutdown) ends the session.
	st.h.wg.Add(1)
	go func() {
		defer st.h.wg.Done()
		select {
		case <-pub.Done():
			st.ss.Close()
		case <-st.stop:
		}
	}()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func transportName(ss *gortsplib.ServerSession) string {
	if tr := ss.Transport(); tr != nil {
		return tr.Protocol.String()
	}
	return ""
}

// packet decodes one RTP packet of track i and writes the frames it
// completes.
func (st *session) packet(i int, t *track, pkt *rtp.Packet) {
	st.h.s.stats.bytes.Add(uint64(pkt.MarshalSize()))
	pts, ok := st.ss.PacketPTS(t.media, pkt)
	if !ok {
		// gortsplib starts a track's timeline at a packet that can begin
		// decoding; earlier ones are skipped.
		return
	}
	err := t.dep.decode(pkt, pts, func(dts, pts int64, key bool, au [][]byte) error {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.closed {
			return fmt.Errorf("%w: session closed", errWrite)
		}
		st.frames++
		st.h.s.stats.frames.Add(1)
		if err := st.pub.WriteFrame(ingest.Frame{
			Track: i, DTS: dts, PTS: pts, Keyframe: key, AU: au, Received: time.Now(),
		}); err != nil {
			return fmt.Errorf("%w: %w", errWrite, err)
		}
		return nil
	})
	switch {
	case err == nil:
	case errors.Is(err, errWrite):
		if !errors.Is(err, ingest.ErrReplaced) {
			st.log.Warn("rtsp: write failed", "error", err)
		}
		st.ss.Close()
	default:
		st.h.s.stats.decodeErrors.Add(1)
		st.decodeError(err)
	}
}

func (st *session) decodeError(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.errors++
	if st.pub != nil {
		st.decodeErrs.Log("error", err)
	}
}

// close ends the publication once the session is gone.
func (st *session) close(reason error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	st.closed = true
	close(st.stop)
	if st.pub == nil {
		return
	}
	replaced := false
	select {
	case <-st.pub.Done():
		replaced = true
	default:
	}
	if err := st.pub.Close(); err != nil {
		st.log.Warn("rtsp: closing publication", "error", err)
	}
	summary := []any{"frames", st.frames, "decode_errors", st.errors}
	switch {
	case replaced:
		st.log.Info("rtsp: publication ended by the sink", summary...)
	case benignClose(reason) || isTimeout(reason):
		st.log.Info("rtsp: publisher disconnected", append(summary, "reason", fmt.Sprint(reason))...)
	default:
		st.log.Warn("rtsp: session closed", append(summary, "error", reason)...)
	}
}

func isTimeout(err error) bool {
	var to liberrors.ErrServerSessionTimedOut
	return errors.As(err, &to)
}

// trackList is a log-friendly list of codecs, e.g. "H264,AAC".
func trackList(ts []ingest.Track) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t.Codec)
	}
	return strings.Join(names, ",")
}
