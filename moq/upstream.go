package moq

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/moqgw/moq-gateway/moq/wire"
)

// UpstreamConfig configures the publishing of an origin to a MoQ relay.
type UpstreamConfig struct {
	// Name identifies the relay in logs and status.
	Name string
	// URL is moqt://host:port[/path] (raw QUIC) or https://host[:port]/path
	// (WebTransport). "{token}" in it is replaced by Token, for relays that
	// take the token in the URL (a JWT path segment, ?jwt={token}).
	URL string
	// Versions are the drafts offered (default 19, 18, 16, 14, newest preferred).
	Versions []wire.Version
	// Token is also sent as AUTHORIZATION_TOKEN in CLIENT_SETUP and each
	// PUBLISH_NAMESPACE.
	Token string
	// NamespacePrefix is prepended to every announced namespace.
	NamespacePrefix Namespace
	// Filter selects the broadcasts published to this relay (nil: all).
	Filter func(Namespace) bool
	// TLSConfig verifies the relay (nil: system roots).
	TLSConfig *tls.Config
	// Sessions spreads the broadcasts over at least this many parallel
	// sessions (default 1). Against a moq-rs draft-14 relay, which allows
	// 50 requests per session (one per announced namespace), more sessions
	// are opened as needed whatever this says.
	Sessions int
	// MoqRSDraft14 forces the moq-rs draft-14 quirks (see SessionConfig).
	MoqRSDraft14 bool
	// MinBackoff and MaxBackoff bound the reconnect delay, which doubles
	// per failure with jitter (defaults 250 ms and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// DialTimeout bounds one connection attempt including the MoQ SETUP
	// (default 10 s).
	DialTimeout time.Duration
	Logger      *slog.Logger
}

// Upstream keeps an origin published on a relay: it dials (Happy Eyeballs),
// announces every broadcast, serves the relay's subscriptions from the same
// track caches as direct subscribers, and reconnects with exponential
// backoff when the relay goes away. Ingest never waits on it.
type Upstream struct {
	cfg    UpstreamConfig
	origin *Origin
	log    *slog.Logger

	mu     sync.Mutex
	shards []*upstreamShard
	assign map[string]assignment // by broadcast namespace key
	counts []int                 // live broadcasts per shard
	// spent counts the announcements each shard's current session has made
	// or will make: a moq-rs draft-14 relay allows limit requests over a
	// session's whole life, so an ended broadcast does not give its request
	// back. A shard that has spent them all and carries nothing reconnects
	// for a fresh budget.
	spent     []int
	recycling []bool // the shard is to replace its spent session
	limit     int    // requests per session; 0: no limit
	spawn     func(*upstreamShard)
}

// assignment is the shard a live broadcast is announced on.
type assignment struct {
	shard int
	b     *Broadcast
}

// UpstreamStatus is the state of a relay connection.
type UpstreamStatus struct {
	Name       string
	URL        string // token redacted
	Connected  bool
	Version    string
	Since      time.Time
	Reconnects int
	BytesSent  uint64
	LastError  string
	// Session numbers the relay's sessions (0, 1, …: more than one when the
	// relay limits what one session may carry); Broadcasts counts the live
	// broadcasts assigned to it.
	Session    int
	Broadcasts int
}

// NewUpstream prepares an Upstream; Run drives it.
func NewUpstream(origin *Origin, cfg UpstreamConfig) *Upstream {
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.Sessions <= 0 {
		cfg.Sessions = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	u := &Upstream{
		cfg: cfg, origin: origin, log: cfg.Logger.With("relay", cfg.Name),
		assign: make(map[string]assignment),
	}
	if cfg.MoqRSDraft14 {
		u.limit = moqRSMaxRequests
	}
	for range cfg.Sessions {
		u.addShardLocked()
	}
	return u
}

func (u *Upstream) addShardLocked() *upstreamShard {
	sh := &upstreamShard{u: u, index: len(u.shards), recycle: make(chan struct{}, 1)}
	u.shards = append(u.shards, sh)
	u.counts = append(u.counts, 0)
	u.spent = append(u.spent, 0)
	u.recycling = append(u.recycling, false)
	return sh
}

// Run keeps the relay sessions up until ctx ends, then closes them
// gracefully.
func (u *Upstream) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	u.mu.Lock()
	u.spawn = func(sh *upstreamShard) { wg.Go(func() { sh.run(ctx) }) }
	for _, sh := range u.shards {
		u.spawn(sh)
	}
	u.mu.Unlock()
	wg.Go(func() { u.releaseEnded(ctx) })
	wg.Wait()
	return nil
}

// releaseEnded forgets the broadcasts that end, and has a shard whose
// session can announce no more and carries nothing reconnect.
func (u *Upstream) releaseEnded(ctx context.Context) {
	w := u.origin.watch()
	defer u.origin.unwatch(w)
	for {
		for _, ev := range w.take() {
			if ev.live {
				continue
			}
			u.mu.Lock()
			key := ev.b.Namespace().key()
			// Only the broadcast that was assigned: a newer one on the same
			// namespace keeps its own assignment.
			if a, ok := u.assign[key]; ok && a.b == ev.b {
				i := a.shard
				delete(u.assign, key)
				u.counts[i]--
				if u.exhaustedLocked(i) {
					// The next session has the full budget: streams that
					// start while it connects may go to it already.
					u.spent[i], u.recycling[i] = 0, true
					select {
					case u.shards[i].recycle <- struct{}{}:
					default:
					}
				}
			}
			u.mu.Unlock()
		}
		select {
		case <-w.signal:
		case <-ctx.Done():
			return
		}
	}
}

// exhaustedLocked reports whether shard i's session has no request left
// and no broadcast to carry.
func (u *Upstream) exhaustedLocked(i int) bool {
	return u.limit > 0 && u.counts[i] == 0 && u.spent[i] >= u.limit
}

// sessionStarted resets a shard's request budget for a new session, which
// re-announces the shard's live broadcasts.
func (u *Upstream) sessionStarted(i int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.spent[i] = u.counts[i]
	u.recycling[i] = false
	select { // a recycle asked for while disconnected is done
	case <-u.shards[i].recycle:
	default:
	}
}

// takeRecycle reports whether shard i was asked to replace its session.
func (u *Upstream) takeRecycle(i int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.recycling[i]
	u.recycling[i] = false
	return r
}

// shardOf returns the session a broadcast goes to, assigning it to the
// least loaded one with requests left and opening another when none has.
func (u *Upstream) shardOf(b *Broadcast) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	key := b.Namespace().key()
	if a, ok := u.assign[key]; ok && a.b == b {
		return a.shard
	}
	select {
	case <-b.Done():
		// Ended: assigning it now would outlive releaseEnded, which has
		// forgotten it or is about to, and pin a session slot for ever.
		return -1
	default:
	}
	if a, ok := u.assign[key]; ok {
		// The previous broadcast on this namespace ended and its end is
		// not processed yet: hand its slot to this one.
		u.counts[a.shard]--
	}
	best := -1
	for i, n := range u.counts {
		if (u.limit == 0 || u.spent[i] < u.limit) && (best < 0 || n < u.counts[best]) {
			best = i
		}
	}
	if best < 0 {
		sh := u.addShardLocked()
		best = sh.index
		u.log.Info("opening another relay session: the relay takes at most this many namespaces per session",
			"limit", u.limit, "sessions", len(u.shards))
		if u.spawn != nil {
			u.spawn(sh)
		}
	}
	u.assign[key] = assignment{shard: best, b: b}
	u.counts[best]++
	u.spent[best]++
	return best
}

// peerIsMoqRS applies the moq-rs draft-14 limit once a session detects
// such a relay (before it announces anything).
func (u *Upstream) peerIsMoqRS() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.limit == 0 {
		u.limit = moqRSMaxRequests
		u.log.Info("relay is moq-rs draft-14: at most 50 namespaces per session")
	}
}

// Status reports each session of the relay (one per shard).
func (u *Upstream) Status() []UpstreamStatus {
	u.mu.Lock()
	shards := append([]*upstreamShard(nil), u.shards...)
	counts := append([]int(nil), u.counts...)
	u.mu.Unlock()
	out := make([]UpstreamStatus, 0, len(shards))
	for i, sh := range shards {
		st := sh.status()
		st.Session = sh.index
		if i < len(counts) {
			st.Broadcasts = counts[i]
		}
		out = append(out, st)
	}
	return out
}

// redacted is the URL with the token hidden.
func (u *Upstream) redacted() string {
	s := strings.ReplaceAll(u.cfg.URL, "{token}", "…")
	if p, err := url.Parse(s); err == nil {
		return redactURL(p, "")
	}
	return s
}

// scrub hides the token in an error from the dial or the session, which
// may quote the URL it was put into.
func (u *Upstream) scrub(err error) string {
	if err == nil {
		return ""
	}
	return hideSecret(err.Error(), u.cfg.Token)
}

// upstreamShard is one session to the relay, carrying the broadcasts
// assigned to it (Upstream.shardOf).
type upstreamShard struct {
	u     *Upstream
	index int

	// recycle asks the shard to replace a session that has used all its
	// requests (Upstream.exhaustedLocked).
	recycle chan struct{}

	mu         sync.Mutex
	sess       *Session
	since      time.Time
	reconnects int
	lastErr    string
}

func (sh *upstreamShard) status() UpstreamStatus {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := UpstreamStatus{
		Name: sh.u.cfg.Name, URL: sh.u.redacted(), Reconnects: sh.reconnects, LastError: sh.lastErr, Since: sh.since,
	}
	if sh.sess != nil {
		st.Connected = true
		st.Version = sh.sess.Version().String()
		st.BytesSent = sh.sess.Stats().BytesSent
	}
	return st
}

func (sh *upstreamShard) filter(b *Broadcast) bool {
	if f := sh.u.cfg.Filter; f != nil && !f(b.Namespace()) {
		return false
	}
	return sh.u.shardOf(b) == sh.index
}

func (sh *upstreamShard) setErr(err error) {
	sh.mu.Lock()
	sh.lastErr = sh.u.scrub(err)
	sh.mu.Unlock()
}

// backoff is the delay before attempt n (0-based): doubling from
// MinBackoff up to MaxBackoff, with equal jitter so a fleet of gateways
// does not reconnect in lockstep.
func (u *Upstream) backoff(n int) time.Duration {
	d := u.cfg.MinBackoff
	for range n {
		d *= 2
		if d >= u.cfg.MaxBackoff {
			d = u.cfg.MaxBackoff
			break
		}
	}
	return d/2 + rand.N(d/2+1)
}

// stableAfter is how long a session must live before a failure restarts
// the backoff from its minimum: a relay that accepts and then drops us at
// once (a rejected token, say) is not hammered.
const stableAfter = 10 * time.Second

func (sh *upstreamShard) run(ctx context.Context) {
	u := sh.u
	target := strings.ReplaceAll(u.cfg.URL, "{token}", url.PathEscape(u.cfg.Token))
	failures := 0
	for ctx.Err() == nil {
		sess, err := sh.dial(ctx, target)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			sh.setErr(err)
			wait := u.backoff(failures)
			failures++
			u.log.Warn("relay connection failed", "url", u.redacted(), "err", u.scrub(err), "retry_in", wait.Round(time.Millisecond))
			if !sleepCtx(ctx, wait) {
				return
			}
			continue
		}
		started := time.Now()
		u.sessionStarted(sh.index)
		sh.mu.Lock()
		sh.sess, sh.since = sess, started
		sh.mu.Unlock()
		u.log.Info("relay connected", "url", u.redacted(), "version", sess.Version().String(), "transport", sess.Transport(), "peer_impl", sess.PeerImplementation())

		newURL, goaway := sh.watch(ctx, sess)

		sh.mu.Lock()
		sh.sess = nil
		sh.reconnects++
		sh.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if goaway {
			// GOAWAY: the session was drained; move to the new URI (or
			// back to the same one) without waiting.
			if newURL != "" {
				target = newURL
			}
			failures = 0
			continue
		}
		if time.Since(started) > stableAfter {
			failures = 0
		}
		wait := u.backoff(failures)
		failures++
		u.log.Warn("relay session ended", "url", u.redacted(), "err", u.scrub(sess.Err()), "retry_in", wait.Round(time.Millisecond))
		if !sleepCtx(ctx, wait) {
			return
		}
	}
}

func (sh *upstreamShard) dial(ctx context.Context, target string) (*Session, error) {
	u := sh.u
	dctx, cancel := context.WithTimeout(ctx, u.cfg.DialTimeout)
	defer cancel()
	var token []byte
	if u.cfg.Token != "" {
		token = []byte(u.cfg.Token)
	}
	return Dial(dctx, target, DialOptions{
		Origin: u.origin,
		Session: SessionConfig{
			AuthorizationToken: token,
			Implementation:     "moq-gateway",
			NamespacePrefix:    u.cfg.NamespacePrefix,
			AnnounceFilter:     sh.filter,
			MoqRSDraft14:       u.cfg.MoqRSDraft14,
			afterSetup: func(s *Session) {
				if s.moqRS {
					u.peerIsMoqRS()
				}
			},
		},
		Versions:  u.cfg.Versions,
		TLSConfig: u.cfg.TLSConfig,
		DialQUIC:  DialHappyEyeballs,
		Logger:    u.log,
		Secret:    u.cfg.Token,
	})
}

// watch waits for the session to end. A refused token closes it (the
// reconnect then backs off); GOAWAY drains it and reports the new URI.
func (sh *upstreamShard) watch(ctx context.Context, sess *Session) (newURL string, goaway bool) {
	for {
		select {
		case <-ctx.Done():
			sess.CloseGracefully(2 * time.Second)
			return "", false
		case <-sess.Context().Done():
			// A session that got GOAWAY may close itself once idle.
			if uri, ok := sess.GoAwayURI(); ok {
				return uri, true
			}
			if err := sess.Err(); err != nil {
				sh.setErr(err)
			}
			return "", false
		case <-sess.goawayCh:
			uri, _ := sess.GoAwayURI()
			sh.u.log.Info("relay sent GOAWAY: finishing in-flight groups, then reconnecting", "new_uri", uri)
			// Subscriptions end at their group boundaries and the session
			// closes itself once empty (Session.closeWhenIdle); a group
			// that takes longer than goAwayDrain is cut.
			drain, stop := context.WithCancel(ctx)
			context.AfterFunc(sess.Context(), stop)
			sleepCtx(drain, goAwayDrain)
			stop()
			sess.CloseGracefully(2 * time.Second)
			return uri, true
		case <-sh.recycle:
			if !sh.u.takeRecycle(sh.index) {
				continue // a stale signal
			}
			sh.u.log.Info("relay session has used its requests and carries no stream: reconnecting for new ones",
				"limit", sh.u.limit)
			sess.CloseGracefully(2 * time.Second)
			return "", true
		case <-sess.refusedCh:
			re := sess.LastRefusal()
			if re == nil || !authRefusal(re.Code) {
				continue
			}
			err := fmt.Errorf("relay rejected our token: %w", re)
			sh.setErr(err)
			sh.u.log.Error("relay rejected the token; check relays[].token", "url", sh.u.redacted(), "code", uint64(re.Code),
				"reason", hideSecret(re.Reason, sh.u.cfg.Token)) // a relay may quote the token back
			sess.fail(&SessionError{Code: wire.SessionNoError, Reason: "token rejected"})
			sess.wg.Wait()
			return "", false
		}
	}
}

// goAwayDrain bounds how long a session that received GOAWAY keeps sending
// the groups in flight: longer than a keyframe interval of any sane stream.
const goAwayDrain = 10 * time.Second

func authRefusal(c wire.RequestErrorCode) bool {
	return c == wire.RequestUnauthorized || c == wire.RequestMalformedAuthToken || c == wire.RequestExpiredAuthToken
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
