package moq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// SessionConfig tunes a session, accepted or dialed.
type SessionConfig struct {
	// RequestWindow is how many request IDs the peer may use ahead of its
	// last one (MAX_REQUEST_ID); default 1000.
	RequestWindow uint64
	// MaxSubscriptions bounds the subscriptions and fetches a peer may have
	// open at once (default 4096; a relay carrying a thousand streams needs
	// about three thousand); more are refused. MAX_REQUEST_ID keeps growing
	// as the peer uses IDs, so this is what bounds the state it creates.
	MaxSubscriptions int
	// MoqRSDraft14 forces the moq-rs draft-14 peer quirks (never send
	// MAX_REQUEST_ID, REQUESTS_BLOCKED or GOAWAY; at most 50 requests). They
	// are also switched on when the peer's MOQT_IMPLEMENTATION names moq-rs.
	MoqRSDraft14 bool
	// AuthorizationToken is sent in CLIENT_SETUP and PUBLISH_NAMESPACE
	// (draft-14 §9.2.1.1, as a USE_VALUE token of type 0).
	AuthorizationToken []byte
	// Implementation is sent as MOQT_IMPLEMENTATION.
	Implementation string
	// ControlMessageTimeout bounds the arrival of a control message once
	// its first byte came (default 10 s): a peer that announces a long
	// message and stalls would otherwise hold the session open forever.
	ControlMessageTimeout time.Duration
	// StrictLargestObject makes a Largest Object subscription start after
	// the newest object as draft-14 §9.7 says. By default it starts at the
	// newest group's first object, as moq-rs relays do, so a subscriber can
	// decode at once without a joining FETCH.
	StrictLargestObject bool
	// NamespacePrefix is prepended to every namespace announced to this peer
	// (a relay's namespace_prefix); requests for prefixed namespaces are
	// mapped back.
	NamespacePrefix Namespace
	// AnnounceFilter, when set, selects the broadcasts this peer is told of
	// and may subscribe to (per-path relay selection).
	AnnounceFilter func(*Broadcast) bool
	// Authorize, when set, is asked once a peer's SETUP arrived what that
	// session may read; see Credentials and ReadAccess. An error closes the
	// session with UNAUTHORIZED.
	Authorize func(Credentials) (ReadAccess, error)
	// NoAnnounce announces to the peer only the broadcasts under a prefix
	// it asked for with SUBSCRIBE_NAMESPACE, instead of all of them.
	NoAnnounce bool
	// AcceptNamespaces lets a server session record the namespaces its peer
	// announces (PUBLISH_NAMESPACE); by default a server refuses them with
	// NOT_SUPPORTED, since an origin takes no MoQ publishers. Dialed
	// sessions always accept them, up to a bound.
	AcceptNamespaces bool
	// SetupTimeout bounds the SETUP exchange (default 10 s).
	SetupTimeout time.Duration

	// afterSetup runs when SETUP is done, before the session announces
	// anything (the relay client learns the peer's limits there).
	afterSetup func(*Session)
}

// moq-rs draft-14 allows 100 request IDs per session: 50 for each side.
const moqRSMaxRequests = 50

// Session is one MoQT session over raw QUIC or WebTransport. It serves its
// origin's broadcasts to the peer and subscribes to the peer's tracks.
type Session struct {
	c        conn
	isClient bool
	version  wire.Version
	origin   *Origin
	cfg      SessionConfig
	log      *slog.Logger

	ctrl stream
	// ctrlW and ctrlIn are the control stream's directions: ctrl's on
	// drafts 14 and 16, the two unidirectional streams of draft-18.
	ctrlW  sendStream
	ctrlIn receiveStream
	// streams18 are the draft-18 request streams, by Request ID (under mu).
	streams18 map[uint64]*request18
	reqMu     sync.Mutex // a request's ID allocation and its write, in order
	ctrlR     *bufio.Reader
	wmu       sync.Mutex
	wbuf      []byte

	ids       *requestIDs
	moqRS     bool
	peerImpl  string
	path      string // PATH of a raw QUIC client, or a WebTransport request's path and query
	pathToken string // a token a WebTransport client put after the path (/moq/TOKEN)
	read      ReadAccess
	authority string // AUTHORITY a raw QUIC client sends

	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	ready  chan struct{}

	mu          sync.Mutex
	subs        map[uint64]*subscription // publisher side, by request ID
	fetches     map[uint64]*fetchServe
	nextAlias   uint64
	announces   map[string]*announcement // ours, by namespace key
	announceIDs map[uint64]*announcement
	nsPrefixes  map[uint64]nsPrefix // the peer's SUBSCRIBE_NAMESPACE prefixes
	nsSig       chan struct{}       // a draft-14 namespace subscription arrived
	nsSubs      map[*NamespaceSubscription]struct{}
	goingAway   bool // no new requests: we or the peer sent GOAWAY
	peerGoAway  bool
	closing     bool                       // CloseGracefully has started
	pending     map[uint64]*pendingRequest // our requests awaiting a response
	abandoned   map[uint64]bool            // requests whose caller gave up waiting
	remote      map[uint64]*RemoteTrack    // our subscriptions, by request ID
	aliases     map[uint64]*RemoteTrack    // our subscriptions, by track alias
	fetchesOut  map[uint64]*FetchResult
	peerAnn     []Namespace // namespaces the peer announced
	peerAnnIDs  map[uint64]Namespace
	peerAnnSig  chan struct{}
	lastRefusal *RequestError
	errMu       sync.Mutex
	stats       SessionStats // announce counters; the hot ones are in counters
	counters    counters
	err         error

	// legacy16 marks a draft-16 peer that speaks draft-14 layouts for some
	// messages (Eyevinn/moqtransport v0.9.0): answer those in kind.
	legacy16 atomic.Bool

	goawayURI atomic.Pointer[string]
	goawayCh  chan struct{} // closed on the peer's GOAWAY
	refusedCh chan struct{} // signalled when the peer refuses an announcement
	idleSig   chan struct{} // see poke
	// registered is closed and replaced (under mu) when a subscription's
	// alias or a fetch becomes known: stream readers wait on it.
	registered chan struct{}
}

// SessionStats counts what a session did.
type SessionStats struct {
	Subscriptions  int // active subscriptions served
	ObjectsSent    uint64
	BytesSent      uint64
	GroupsDropped  uint64 // whole groups a slow subscriber lost
	DatagramsLost  uint64 // objects too large for a datagram where a stream was not allowed
	StreamsOpened  uint64
	ObjectsRecvd   uint64
	AnnouncesSent  int
	AnnouncesAcked int
}

// add sums o's counters into st.
func (st *SessionStats) add(o SessionStats) {
	st.Subscriptions += o.Subscriptions
	st.ObjectsSent += o.ObjectsSent
	st.BytesSent += o.BytesSent
	st.GroupsDropped += o.GroupsDropped
	st.DatagramsLost += o.DatagramsLost
	st.StreamsOpened += o.StreamsOpened
	st.ObjectsRecvd += o.ObjectsRecvd
	st.AnnouncesSent += o.AnnouncesSent
	st.AnnouncesAcked += o.AnnouncesAcked
}

func newSession(c conn, isClient bool, v wire.Version, origin *Origin, cfg SessionConfig, log *slog.Logger) *Session {
	if cfg.RequestWindow == 0 {
		cfg.RequestWindow = 1000
	}
	if cfg.ControlMessageTimeout <= 0 {
		cfg.ControlMessageTimeout = defaultControlMessageTimeout
	}
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = 4096
	}
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = 10 * time.Second
	}
	if origin == nil {
		origin = NewOrigin()
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &Session{
		c:           c,
		isClient:    isClient,
		version:     v,
		origin:      origin,
		cfg:         cfg,
		log:         log.With("remote", c.RemoteAddr().String(), "transport", c.Transport(), "version", v.String()),
		ids:         newRequestIDs(isClient, cfg.RequestWindow),
		ctx:         ctx,
		cancel:      cancel,
		ready:       make(chan struct{}),
		subs:        make(map[uint64]*subscription),
		fetches:     make(map[uint64]*fetchServe),
		announces:   make(map[string]*announcement),
		announceIDs: make(map[uint64]*announcement),
		nsPrefixes:  make(map[uint64]nsPrefix),
		nsSig:       make(chan struct{}, 1),
		nsSubs:      make(map[*NamespaceSubscription]struct{}),
		pending:     make(map[uint64]*pendingRequest),
		abandoned:   make(map[uint64]bool),
		remote:      make(map[uint64]*RemoteTrack),
		aliases:     make(map[uint64]*RemoteTrack),
		fetchesOut:  make(map[uint64]*FetchResult),
		peerAnnIDs:  make(map[uint64]Namespace),
		peerAnnSig:  make(chan struct{}, 1),
		goawayCh:    make(chan struct{}),
		refusedCh:   make(chan struct{}, 1),
		idleSig:     make(chan struct{}, 1),
		registered:  make(chan struct{}),
	}
	if cfg.MoqRSDraft14 {
		s.setMoqRS()
	}
	switch {
	case v.RequestStreams():
		// Every request has a stream of its own: as many may be in
		// flight as the peer may hold subscriptions.
		s.ids.allowReorder(cfg.MaxSubscriptions)
	case v != wire.Draft14:
		s.ids.allowReorder(maxReorderedRequests)
	}
	if v.RequestStreams() {
		// No MAX_REQUEST_ID from draft-17 on (draft-18 §10.1): the
		// subscription bound is what limits a peer.
		s.ids.unlimited()
		s.streams18 = make(map[uint64]*request18)
	}
	return s
}

// setMoqRS switches the moq-rs draft-14 quirks on (see
// SessionConfig.MoqRSDraft14); it runs before the session's goroutines start.
func (s *Session) setMoqRS() {
	s.moqRS = true
	if s.isClient {
		// We dialed a moq-rs relay: it cannot receive MAX_REQUEST_ID, so
		// its requests to us cannot be limited. A moq-rs client of ours
		// keeps the limit it got in SETUP.
		s.ids.unlimited()
	}
}

// Version is the negotiated MoQT version (known once the session runs).
func (s *Session) Version() wire.Version { return s.version }

// RemoteAddr is the peer's address.
func (s *Session) RemoteAddr() net.Addr { return s.c.RemoteAddr() }

// Transport is "quic" or "webtransport".
func (s *Session) Transport() string { return s.c.Transport() }

// PeerImplementation is the peer's MOQT_IMPLEMENTATION, if it sent one
// ("" until SETUP is done).
func (s *Session) PeerImplementation() string {
	select {
	case <-s.ready:
		return s.peerImpl
	default:
		return ""
	}
}

// Context is done when the session has ended; its cause is the error that
// ended it (a *SessionError for MoQT terminations).
func (s *Session) Context() context.Context { return s.ctx }

// Err is why the session ended (nil while it runs).
func (s *Session) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// counters are the per-object statistics, atomic so that delivery never
// takes the session's lock for them.
type counters struct {
	objectsSent, bytesSent, groupsDropped, datagramsLost, streamsOpened, objectsRecvd atomic.Uint64
}

// Stats returns the session's counters.
func (s *Session) Stats() SessionStats {
	s.mu.Lock()
	st := s.stats
	st.Subscriptions = len(s.subs)
	s.mu.Unlock()
	c := &s.counters
	st.ObjectsSent, st.BytesSent = c.objectsSent.Load(), c.bytesSent.Load()
	st.GroupsDropped, st.DatagramsLost = c.groupsDropped.Load(), c.datagramsLost.Load()
	st.StreamsOpened, st.ObjectsRecvd = c.streamsOpened.Load(), c.objectsRecvd.Load()
	return st
}

// run performs the setup (server side: accept the control stream) and serves
// the session until it ends. It returns when every goroutine has ended.
func (s *Session) run(ctx context.Context) {
	defer s.wg.Wait()
	if err := s.setup(ctx); err != nil {
		s.fail(err)
		return
	}
	s.start()
	select {
	case <-s.ctx.Done():
	case <-ctx.Done():
		// The owner closes us gracefully before cancelling ctx; this is the
		// backstop.
		s.fail(&SessionError{Code: wire.SessionNoError, Reason: "shutting down"})
	}
}

// start launches the session's loops once SETUP is done.
func (s *Session) start() {
	if s.cfg.afterSetup != nil {
		s.cfg.afterSetup(s)
	}
	if !s.isClient {
		s.log.Info("moq session established", "peer_impl", s.peerImpl)
	}
	s.goSafe(s.readControl)
	s.goSafe(s.acceptUniStreams)
	s.goSafe(s.acceptBidiStreams)
	s.goSafe(s.readDatagrams)
	s.goSafe(s.announceLoop)
	s.goSafe(func() {
		<-s.c.Context().Done()
		s.fail(transportError(s.c))
	})
	// Ready only now: Close waits for the session's goroutines once it is
	// ready, and must not race their start.
	close(s.ready)
}

// transportError turns the transport's close cause into the session error.
func transportError(c conn) error {
	cause := c.CloseCause()
	if se, ok := closeError(cause); ok {
		return se
	}
	if cause == nil {
		return errTransportClosed
	}
	return cause
}

// peerVanished reports whether err is the transport noticing that the peer
// is gone without closing (idle timeout, stateless reset).
func peerVanished(err error) bool {
	if _, ok := errors.AsType[*quic.IdleTimeoutError](err); ok {
		return true
	}
	_, ok := errors.AsType[*quic.StatelessResetError](err)
	return ok
}

// errTransportClosed stands for a close whose cause is not known yet.
var errTransportClosed = errors.New("moq: transport closed")

// fail ends the session with err: it records the first error, closes the
// transport with err's code, and cancels every goroutine.
func (s *Session) fail(err error) {
	if err == nil {
		err = sessionErrorf(wire.SessionInternalError, "session failed without a cause")
	}
	// errMu, not mu: a panic recovered while mu was held must still be
	// able to end the session.
	s.errMu.Lock()
	if s.err != nil {
		s.errMu.Unlock()
		return
	}
	s.err = err
	s.errMu.Unlock()

	var se *SessionError
	code, reason := wire.SessionInternalError, err.Error()
	switch {
	case errors.As(err, &se):
		code, reason = se.Code, se.Reason
	case wire.SessionCode(err) != wire.SessionInternalError:
		code = wire.SessionCode(err)
	}
	if se == nil || !se.Remote {
		if len(reason) > 1024 {
			reason = reason[:1024]
		}
		s.c.CloseWithError(uint64(code), reason)
	}
	switch {
	case code == wire.SessionNoError || (se != nil && se.Remote):
		s.log.Debug("moq session closed", "code", uint64(code), "reason", reason)
	case peerVanished(err):
		// A subscriber whose network went away: routine for a server.
		s.log.Info("moq session ended: the peer stopped answering", "err", err)
	default:
		s.log.Warn("moq session failed", "code", uint64(code), "err", err)
	}
	s.cancel(err)
}

// Close ends the session at once with NO_ERROR and waits for its goroutines.
func (s *Session) Close() error {
	s.fail(&SessionError{Code: wire.SessionNoError, Reason: "closed"})
	select {
	case <-s.ready:
		s.wg.Wait()
	default:
		// Still in SETUP: the goroutine running it (Server or Dial) waits.
	}
	return nil
}

// CloseGracefully ends every subscription with PUBLISH_DONE (GOING_AWAY),
// sends GOAWAY where the peer allows it, waits up to timeout for the
// PUBLISH_DONEs to be written, then closes with NO_ERROR.
func (s *Session) CloseGracefully(timeout time.Duration) {
	select {
	case <-s.ready:
	default:
		s.Close()
		return
	}
	deadline := time.Now().Add(timeout)
	s.mu.Lock()
	first := !s.closing
	s.closing, s.goingAway = true, true
	subs := make([]*subscription, 0, len(s.subs))
	for _, sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	if !first {
		// Another caller is closing: wait for it.
		select {
		case <-s.ctx.Done():
		case <-time.After(time.Until(deadline)):
			s.Close()
		}
		s.wg.Wait()
		return
	}
	sentGoAway := false
	if !s.isClient && !s.moqRS {
		if err := s.writeControl(&wire.GoAway{}); err != nil {
			s.log.Debug("cannot send GOAWAY", "err", err)
		} else {
			sentGoAway = true
		}
	}
	for _, sub := range subs {
		sub.stop(wire.DoneGoingAway, "gateway shutting down")
	}
	for _, sub := range subs {
		select {
		case <-sub.done:
		case <-time.After(time.Until(deadline)):
		case <-s.ctx.Done():
		}
	}
	// Closing the transport discards control messages not yet sent, so give
	// GOAWAY and the PUBLISH_DONEs time to leave: a client that got GOAWAY
	// closes the session itself once its subscriptions have ended (draft-16
	// §3.5); other peers get closeLinger.
	wait := time.Until(deadline)
	if !sentGoAway {
		wait = min(wait, closeLinger)
	}
	select {
	case <-s.ctx.Done():
	case <-time.After(wait):
	}
	s.fail(&SessionError{Code: wire.SessionNoError, Reason: "going away"})
	s.wg.Wait()
}

// closeLinger is how long a graceful close waits for its last control
// messages to be sent when the peer is not expected to close first.
const closeLinger = 100 * time.Millisecond

// poke tells closeWhenIdle that a subscription or request has ended.
func (s *Session) poke() {
	select {
	case s.idleSig <- struct{}{}:
	default:
	}
}

// idle reports that no subscription, fetch or request is open either way.
func (s *Session) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs) == 0 && len(s.remote) == 0 && len(s.fetches) == 0 &&
		len(s.fetchesOut) == 0 && len(s.pending) == 0
}

// closeWhenIdle closes a client session with NO_ERROR once nothing is open
// after the server's GOAWAY, as draft-16 §3.5 recommends: the application
// then reconnects (to GoAwayURI if set).
func (s *Session) closeWhenIdle() {
	for {
		for !s.idle() {
			select {
			case <-s.idleSig:
			case <-s.ctx.Done():
				return
			}
		}
		// Closing the connection discards stream data not yet
		// acknowledged: the tail of the last group a subscription
		// finished, its PUBLISH_DONE.
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(idleLinger):
		}
		if s.idle() { // else a request came in meanwhile: wait for it too
			s.fail(&SessionError{Code: wire.SessionNoError, Reason: "GOAWAY received, nothing left open"})
			return
		}
	}
}

// idleLinger is how long a session emptied by GOAWAY waits before closing,
// so what it sent last can be delivered and acknowledged.
const idleLinger = 500 * time.Millisecond

// writeControl writes one control message; writes from all goroutines are
// serialised so messages never interleave.
func (s *Session) writeControl(m wire.Message) error {
	return s.writeControlAs(s.version, m)
}

// writeControlAs writes m in version v's layout: a draft-16 peer that sent a
// request in the draft-14 layout gets its answer in that layout.
func (s *Session) writeControlAs(v wire.Version, m wire.Message) error {
	if v.RequestStreams() {
		return s.writeControl18(m)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	b, err := wire.AppendControl(s.wbuf[:0], v, m)
	if err != nil {
		return fmt.Errorf("encode %T: %w", m, err)
	}
	s.wbuf = b
	if _, err := s.ctrlW.Write(b); err != nil {
		return fmt.Errorf("write control stream: %w", err)
	}
	return nil
}

// readControl reads and dispatches control messages until the session ends.
func (s *Session) readControl() {
	for {
		m, err := s.readControlMessage()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			if errors.Is(err, errPartialControl) {
				s.fail(sessionErrorf(wire.SessionControlMessageTimeout,
					"a control message was not complete within %v", s.cfg.ControlMessageTimeout))
				return
			}
			if errors.Is(err, io.EOF) {
				s.fail(sessionErrorf(wire.SessionProtocolViolation, "control stream closed"))
				return
			}
			if se, ok := s.closeCause(err); ok {
				s.fail(se)
				return
			}
			s.fail(fmt.Errorf("control stream: %w", err))
			return
		}
		if _, goAway := m.(*wire.GoAway); !goAway && s.version.RequestStreams() {
			// Draft-18 §3.3: the control stream carries SETUP and GOAWAY;
			// everything else has a request stream.
			s.fail(sessionErrorf(wire.SessionProtocolViolation, "%T on the control stream", m))
			return
		}
		if err := s.handle(m); err != nil {
			s.fail(err)
			return
		}
	}
}

// defaultControlMessageTimeout is SessionConfig.ControlMessageTimeout's
// default.
const defaultControlMessageTimeout = 10 * time.Second

// readControlMessage waits without a bound for the next control message to
// begin and reads the rest of it within controlMessageTimeout.
func (s *Session) readControlMessage() (wire.Message, error) {
	if _, err := s.ctrlR.Peek(1); err != nil {
		return nil, err
	}
	_ = s.ctrlIn.SetReadDeadline(time.Now().Add(s.cfg.ControlMessageTimeout))
	defer func() { _ = s.ctrlIn.SetReadDeadline(time.Time{}) }()
	m, err := wire.ReadControl(s.ctrlR, s.version)
	if errors.Is(err, os.ErrDeadlineExceeded) { // the stream's deadline, not the connection's idle timeout
		return nil, errPartialControl
	}
	return m, err
}

var errPartialControl = errors.New("partial control message")

// handle dispatches one control message. An error ends the session.
func (s *Session) handle(m wire.Message) error {
	if legacyLayout(m) && !s.legacy16.Swap(true) {
		s.log.Info("peer sends draft-14 layouts on draft-16; answering in kind")
	}
	switch m := m.(type) {
	case *wire.Subscribe:
		return s.onSubscribe(m)
	case *wire.Unsubscribe:
		return s.onUnsubscribe(m)
	case *wire.RequestUpdate:
		return s.onRequestUpdate(m)
	case *wire.TrackStatus:
		return s.onTrackStatus(m)
	case *wire.Fetch:
		return s.onFetch(m)
	case *wire.FetchCancel:
		s.onFetchCancel(m)
		return nil
	case *wire.SubscribeNamespace:
		return s.onSubscribeNamespace(m, nil)
	case *wire.UnsubscribeNamespace:
		s.onUnsubscribeNamespace(m)
		return nil
	case *wire.PublishNamespaceCancel:
		s.onPublishNamespaceCancel(m)
		return nil
	case *wire.PublishNamespace:
		return s.onPeerPublishNamespace(m)
	case *wire.PublishNamespaceDone:
		s.onPeerPublishNamespaceDone(m)
		return nil
	case *wire.Publish:
		if err := s.acceptRequest(m.RequestID); err != nil {
			return err
		}
		return s.writeControl(&wire.RequestError{
			Kind: wire.KindPublish, RequestID: m.RequestID,
			Code: wire.RequestNotSupported, Reason: "this endpoint does not accept PUBLISH",
		})
	case *wire.RequestOK:
		return s.onRequestOK(m)
	case *wire.RequestError:
		return s.onRequestError(m)
	case *wire.SubscribeOK:
		return s.onSubscribeOK(m)
	case *wire.FetchOK:
		return s.onFetchOK(m)
	case *wire.PublishDone:
		s.onPublishDone(m)
		return nil
	case *wire.MaxRequestID:
		return s.ids.onMaxRequestID(m.RequestID)
	case *wire.RequestsBlocked:
		s.log.Debug("peer is blocked on request IDs", "max", m.MaximumRequestID)
		s.maybeGrowRequests(true)
		return nil
	case *wire.GoAway:
		return s.onGoAway(m)
	case *wire.ClientSetup, *wire.ServerSetup:
		return sessionErrorf(wire.SessionProtocolViolation, "second SETUP message")
	default:
		return sessionErrorf(wire.SessionProtocolViolation, "unexpected %T", m)
	}
}

// maybeGrowRequests raises the peer's request limit when it has used half
// of it (or is blocked), unless the peer is a moq-rs draft-14 endpoint,
// which closes the session on MAX_REQUEST_ID.
func (s *Session) maybeGrowRequests(blocked bool) {
	if s.moqRS {
		return
	}
	window := s.cfg.RequestWindow
	if blocked {
		window *= 2
	}
	if m := s.ids.grow(window); m != 0 {
		if err := s.writeControl(&wire.MaxRequestID{RequestID: m}); err != nil {
			s.fail(err)
		}
	}
}

func (s *Session) onGoAway(m *wire.GoAway) error {
	if !s.isClient && m.NewSessionURI != "" {
		return sessionErrorf(wire.SessionProtocolViolation, "GOAWAY from a client with a URI")
	}
	s.mu.Lock()
	if s.peerGoAway {
		s.mu.Unlock()
		return sessionErrorf(wire.SessionProtocolViolation, "second GOAWAY")
	}
	s.peerGoAway = true
	s.goingAway = true
	s.mu.Unlock()
	s.log.Info("peer sent GOAWAY", "new_uri", m.NewSessionURI)
	s.goawayURI.Store(&m.NewSessionURI)
	close(s.goawayCh)
	if s.isClient {
		s.goSafe(s.closeWhenIdle)
	}
	return nil
}

// peerSentGoAway reports whether the peer has sent GOAWAY.
func (s *Session) peerSentGoAway() bool {
	select {
	case <-s.goawayCh:
		return true
	default:
		return false
	}
}

// GoAwayURI reports whether the peer sent GOAWAY, and the URI it named.
func (s *Session) GoAwayURI() (string, bool) {
	p := s.goawayURI.Load()
	if p == nil {
		return "", false
	}
	return *p, true
}

// isMoqRS reports whether an implementation string names a moq-rs build.
func isMoqRS(impl string) bool {
	impl = strings.ToLower(impl)
	return strings.Contains(impl, "moq-rs") || strings.Contains(impl, "moq-transport-rs")
}

// isMoqLite reports whether an implementation string names moq-dev's
// moq-lite-rs (its relay and CLI). It sends a draft-14 SUBSCRIBE_NAMESPACE
// with an empty prefix to mean every namespace, and joins a track as the
// text has it, SUBSCRIBE (Largest Object) plus a joining FETCH, refusing a
// group that arrives twice: its Largest Object subscriptions start after
// the largest object (SessionConfig.StrictLargestObject).
func isMoqLite(impl string) bool {
	return strings.HasPrefix(strings.ToLower(impl), "moq-lite")
}

// moqRS14Setup reports whether a draft-14 SETUP looks like moq-rs's, which
// names no implementation: moq-transport 0.12–0.14 (the draft-14 releases
// of cloudflare/moq-rs, session/mod.rs) send MAX_REQUEST_ID 100 and, from a
// client, PATH — nothing else.
func moqRS14Setup(p wire.SetupParams) bool {
	return p.Implementation == "" && p.MaxRequestID == moqRSMaxRequests*2 && p.Authority == nil &&
		len(p.AuthorizationTokens) == 0 && p.MaxAuthTokenCacheSize == 0 && len(p.Unknown) == 0
}

// supportedVersions are the draft-14-layout versions this package speaks.
var supportedVersions = []wire.Version{wire.Draft14}

func versionList(vs []wire.Version) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return "[" + strings.Join(out, ", ") + "]"
}

func containsVersion(vs []wire.Version, v wire.Version) bool { return slices.Contains(vs, v) }

// legacyLayout reports a draft-16 message that arrived in its draft-14
// layout (see wire's Draft14Layout).
func legacyLayout(m wire.Message) bool {
	switch m := m.(type) {
	case *wire.TrackStatus:
		return m.Draft14Layout
	case *wire.Fetch:
		return m.Draft14Layout
	case *wire.RequestUpdate:
		return m.Draft14Layout
	case *wire.SubscribeNamespace:
		return m.Draft14Layout
	case *wire.PublishNamespaceDone:
		return m.NamespaceForm
	case *wire.PublishNamespaceCancel:
		return m.NamespaceForm
	}
	return false
}

// answerVersion is the layout to answer a request in.
func (s *Session) answerVersion(draft14Layout bool) wire.Version {
	if draft14Layout {
		return wire.Draft14
	}
	return s.version
}

// goSafe runs f on a session goroutine that the session waits for. A panic
// there (a bug a peer triggered) ends this session only, with
// INTERNAL_ERROR, instead of the whole process.
func (s *Session) goSafe(f func()) {
	s.wg.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("moq session panic", "panic", p, "stack", string(debug.Stack()))
				s.fail(sessionErrorf(wire.SessionInternalError, "internal error"))
			}
		}()
		f()
	})
}

// full reports whether the peer has as many subscriptions and fetches open
// as it may.
func (s *Session) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)+len(s.fetches) >= s.cfg.MaxSubscriptions
}
