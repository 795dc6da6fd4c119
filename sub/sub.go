// Package sub is the bundled subscriber, `moq-gateway sub`: it reads a
// stream's catalog, subscribes to its tracks and writes one playable
// fragmented MP4 per track (or one track to standard output).
package sub

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
	"github.com/moqgw/moq-gateway/packager"
)

// subOptions are the flags of `moq-gateway sub`.
type subOptions struct {
	url       string
	namespace string
	nsParts   []string
	out       string
	duration  time.Duration
	draft     string
	insecure  bool
	logFormat string
	wait      time.Duration
	token     string
	stdout    string
	wallclock bool
}

// ErrUsage marks errors in the command line (exit status 2).
var ErrUsage = errors.New("usage")

// implementation is sub's MOQT_IMPLEMENTATION.
const implementation = "moq-gateway sub"

// Run runs `moq-gateway sub` with args (after "sub"), logging to stderr.
func Run(ctx context.Context, args []string, stderr io.Writer) error {
	var o subOptions
	fs := flag.NewFlagSet("moq-gateway sub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "", "MoQ server: moqt://host:port (raw QUIC) or https://host:port/moq (WebTransport)")
	fs.StringVar(&o.namespace, "namespace", "", "stream path, e.g. live/cam1: one namespace field per path segment")
	fs.Func("ns-part", "one namespace field, verbatim (repeat for each; instead of -namespace, e.g. -ns-part cmsf/clear for the tuple [\"cmsf/clear\"])", func(v string) error {
		o.nsParts = append(o.nsParts, v)
		return nil
	})
	fs.StringVar(&o.out, "out", "", "output directory for catalog.json and one MP4 per track")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until the stream ends or SIGINT)")
	fs.StringVar(&o.draft, "draft", "auto", "MoQT draft: auto, 14, 16, 18 or 19")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify the server certificate (self-signed gateways)")
	fs.StringVar(&o.token, "token", "", "authorization token (a JWT, or a stream key) sent as AUTHORIZATION_TOKEN in SETUP")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&o.wait, "wait", 10*time.Second, "how long to keep trying while the namespace does not exist yet (0: fail at once)")
	fs.BoolVar(&o.wallclock, "wallclock", false, "keep the gateway's decode times (the wall clock since 1970) instead of starting the files at 0")
	fs.StringVar(&o.stdout, "stdout", "", "write this track (e.g. video) as fragmented MP4 to standard output instead of a file, for ffplay -")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.url == "" || (o.namespace == "") == (len(o.nsParts) == 0) || (o.out == "" && o.stdout == "") {
		fs.Usage()
		return fmt.Errorf("%w: sub needs -url, -namespace (or -ns-part for each field) and -out (or -stdout TRACK)", ErrUsage)
	}
	var versions []wire.Version // auto: every draft, the newest preferred
	if o.draft != "auto" {
		v, err := wire.ParseDraft(o.draft)
		if err != nil {
			return fmt.Errorf("%w: -draft: %w", ErrUsage, err)
		}
		versions = []wire.Version{v}
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	log := config.Log{Format: o.logFormat, Level: "info"}.NewLogger(stderr)
	res, err := subscribeToFiles(ctx, o, versions, log)
	if res != nil {
		res.log(log)
	}
	return err
}

// normalEnd reports whether err ends a subscription the way a stream ends:
// the track or range is complete, the server is going away (PUBLISH_DONE
// GOING_AWAY when it shuts down), or it closed the session with NO_ERROR.
func normalEnd(err error) bool {
	if errors.Is(err, io.EOF) {
		return true
	}
	if pd, ok := errors.AsType[*moq.PublishDoneError](err); ok {
		return pd.Code == wire.DoneGoingAway
	}
	se, ok := errors.AsType[*moq.SessionError](err)
	return ok && se.Code == wire.SessionNoError
}

// endReason says how a subscription ended, for the log.
func endReason(err error) string {
	if err == nil || errors.Is(err, io.EOF) {
		return "track ended"
	}
	return err.Error()
}

// subResult summarises what sub received, per track.
type subResult struct {
	version wire.Version
	tracks  []*trackFile
}

func (r *subResult) log(log *slog.Logger) {
	for _, t := range r.tracks {
		t.mu.Lock()
		log.Info("track received", "track", t.name, "objects", t.objects, "groups", t.groups, "bytes", t.bytes,
			"files", t.files, "first_group", t.firstGroup, "last_group", t.lastGroup)
		t.mu.Unlock()
	}
}

func subscribeToFiles(ctx context.Context, o subOptions, versions []wire.Version, log *slog.Logger) (*subResult, error) {
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return nil, err
		}
	}
	var tlsConf *tls.Config
	if o.insecure {
		tlsConf = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it (-insecure)
	}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	sess, err := moq.Dial(dialCtx, o.url, moq.DialOptions{
		Versions: versions, TLSConfig: tlsConf, Logger: log,
		Session: moq.SessionConfig{Implementation: implementation, AuthorizationToken: []byte(o.token)},
	})
	cancel()
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	log.Info("connected", "url", o.url, "version", sess.Version().String(), "transport", sess.Transport())
	ns := moq.Namespace(o.nsParts)
	if len(ns) == 0 {
		ns = moq.Namespace(strings.Split(strings.Trim(o.namespace, "/"), "/"))
	}
	cat, first, layout, err := subscribeWhenThere(ctx, sess, ns, o.wait)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer cat.Close()
	r := &recording{o: o, sess: sess, ns: ns, log: log, res: &subResult{version: sess.Version()}, files: map[string]*trackFile{}}
	if layout == layoutMoqRS {
		log.Info("the stream uses the moq-rs layout (no MSF catalog): reading its init track")
		err = r.readCatalogs(ctx, cat, first, r.onMoqRSInit)
	} else {
		err = r.readCatalogs(ctx, cat, first, r.onCatalog)
	}
	r.wg.Wait()
	for _, tf := range r.files {
		if cerr := tf.close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return r.res, err
}

// recording is one run of sub: the tracks it writes.
type recording struct {
	o     subOptions
	sess  *moq.Session
	ns    moq.Namespace
	log   *slog.Logger
	res   *subResult
	files map[string]*trackFile
	tb    *timeBase // the start the track files share
	wg    sync.WaitGroup
}

// readCatalogs hands each version of the stream's description (the MSF
// catalog, or the moq-rs init track) to onVersion until the track ends.
func (r *recording) readCatalogs(ctx context.Context, cat *moq.RemoteTrack, first moq.Object, onVersion func(context.Context, moq.Object) error) error {
	if err := onVersion(ctx, first); err != nil {
		return err
	}
	for {
		obj, err := cat.ReadObject(ctx)
		if ctx.Err() != nil { // stopped by the caller (a signal, -duration)
			return nil //nolint:nilerr // the caller stopped the run: not a failure
		}
		switch {
		case err != nil && normalEnd(err):
			r.log.Info("stream ended", "reason", endReason(err))
			return nil
		case err != nil:
			return fmt.Errorf("catalog: %w", err)
		}
		if len(obj.Payload) == 0 {
			continue
		}
		if err := onVersion(ctx, obj); err != nil {
			return err
		}
	}
}

// onCatalog follows an MSF catalog version.
func (r *recording) onCatalog(ctx context.Context, obj moq.Object) error {
	c, err := packager.ParseCatalog(obj.Payload)
	if err != nil {
		return err
	}
	if r.o.out != "" {
		if err := os.WriteFile(filepath.Join(r.o.out, "catalog.json"), obj.Payload, 0o644); err != nil {
			return err
		}
	}
	var specs []trackSpec
	for i := range c.Tracks {
		ct := &c.Tracks[i]
		if ct.Packaging != packager.PackagingCMAF {
			continue
		}
		init, err := c.Init(ct)
		if err != nil {
			return fmt.Errorf("track %s: %w", ct.Name, err)
		}
		// Start at the oldest group the server still has from the time of
		// this catalog: a subscriber that waited for the stream gets its
		// first seconds, one that joins late starts at a cached keyframe.
		specs = append(specs, trackSpec{ct.Name, ct.Name, ct.InitRef, init, moq.SubscribeOptions{
			Filter: wire.FilterAbsoluteStart, Start: moq.Location{Group: obj.Group},
		}})
	}
	return r.record(ctx, specs)
}

// trackSpec says what to record: the MoQ track name into the file of track
// file, with the init segment its ref names.
type trackSpec struct {
	file, name, ref string
	init            []byte
	opts            moq.SubscribeOptions
}

// wanted reports whether the options ask for the track file.
func (r *recording) wanted(file string) bool { return r.o.out != "" || file == r.o.stdout }

// record records the tracks of one catalog version. The new ones decide
// the recording's start together.
func (r *recording) record(ctx context.Context, specs []trackSpec) error {
	if r.tb == nil {
		r.tb = newTimeBase()
	}
	n := 0
	for _, sp := range specs {
		if r.files[sp.file] == nil && r.wanted(sp.file) {
			n++
		}
	}
	r.tb.expect(n)
	for _, sp := range specs {
		if err := r.track(ctx, sp); err != nil {
			return err
		}
	}
	return nil
}

// track records one track (a new init segment, told by its ref, starts a
// new file), subscribing on first use.
func (r *recording) track(ctx context.Context, sp trackSpec) error {
	file, name, ref, init, opts := sp.file, sp.name, sp.ref, sp.init, sp.opts
	if !r.wanted(file) {
		return nil
	}
	if tf := r.files[file]; tf != nil {
		tf.setInit(ref, init) // a new configuration starts a new file
		return nil
	}
	tf := &trackFile{name: file, dir: r.o.out, log: r.log, tb: r.tb, wallclock: r.o.wallclock}
	if file == r.o.stdout {
		tf.stdout = os.Stdout
	}
	tf.setInit(ref, init)
	r.files[file] = tf
	r.res.tracks = append(r.res.tracks, tf)
	rt, err := r.sess.Subscribe(ctx, r.ns, name, opts)
	if err != nil {
		return fmt.Errorf("track %s: %w", name, err)
	}
	r.wg.Go(func() {
		defer rt.Close()
		switch err := tf.consume(ctx, rt); {
		case err == nil || ctx.Err() != nil:
		case normalEnd(err):
			r.log.Info("track ended", "track", tf.name, "reason", endReason(err))
		default:
			r.log.Warn("track ended", "track", tf.name, "err", err)
		}
	})
	return nil
}

// layout is how a stream names its tracks.
type layout int

const (
	layoutMSF   layout = iota // an MSF/CMSF "catalog" track (the gateway's)
	layoutMoqRS               // moq-rs's moq-pub: "0.mp4" and "<trackID>.m4s"
)

// subscribeWhenThere subscribes to ns's catalog at once (a publisher that
// serves its client directly announces nothing) and returns it with its
// first object. A stream without an MSF catalog but with a moq-rs init track
// is read in that layout: both are asked for at once. While neither gives
// an object — refused, accepted and ended without one (moq-rs relays), or
// silent for attemptWait — it retries when ns is announced or every second,
// for up to wait.
func subscribeWhenThere(ctx context.Context, sess *moq.Session, ns moq.Namespace, wait time.Duration) (*moq.RemoteTrack, moq.Object, layout, error) {
	deadline := time.Now().Add(wait)
	for {
		wasAnnounced := slices.ContainsFunc(sess.Announced(), ns.HasPrefix)
		rt, first, l, err := subscribeEither(ctx, sess, ns, min(attemptWait, max(time.Until(deadline), time.Second)))
		if err == nil || !errors.Is(err, errNoSuchTrack) || !time.Now().Before(deadline) {
			return rt, first, l, err
		}
		wctx, cancel := context.WithTimeout(ctx, min(time.Second, time.Until(deadline)))
		if wasAnnounced {
			<-wctx.Done()
		} else {
			_ = sess.WaitAnnounced(wctx, ns) // announced, or a second passed: try again
		}
		cancel()
		if ctx.Err() != nil {
			return nil, moq.Object{}, layoutMSF, ctx.Err()
		}
	}
}

// attemptWait bounds one attempt at a stream's catalog: a relay may accept
// a subscription it cannot serve and never answer it.
const attemptWait = 3 * time.Second

// subscribeEither subscribes to the catalog track of each layout at once
// and returns the MSF catalog if it gives an object within limit, else the
// moq-rs init track if that did: a gateway serves both.
func subscribeEither(ctx context.Context, sess *moq.Session, ns moq.Namespace, limit time.Duration) (*moq.RemoteTrack, moq.Object, layout, error) {
	actx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	type result struct {
		rt    *moq.RemoteTrack
		first moq.Object
		l     layout
		err   error
	}
	layouts := []layout{layoutMSF, layoutMoqRS}
	results := make(chan result, len(layouts))
	for _, l := range layouts {
		go func() {
			rt, first, err := subscribeFirst(actx, sess, ns, l.catalogTrack(), l.catalogOptions())
			results <- result{rt, first, l, err}
		}()
	}
	var won *result
	var msfErr error
	err := fmt.Errorf("no catalog: %w", errNoSuchTrack)
	for range layouts {
		r := <-results
		switch {
		case r.err == nil && (won == nil || r.l == layoutMSF):
			if won != nil {
				won.rt.Close()
			}
			won = &r
			if r.l == layoutMSF {
				cancel() // the preferred one: the other attempt gives up
			}
		case r.err == nil:
			r.rt.Close()
		case r.l == layoutMSF && errors.Is(r.err, errNoSuchTrack):
			msfErr = r.err
		case !errors.Is(r.err, errNoSuchTrack) && !errors.Is(r.err, context.DeadlineExceeded) && !errors.Is(r.err, context.Canceled):
			err = r.err
		}
	}
	if won != nil {
		return won.rt, won.first, won.l, nil
	}
	if ctx.Err() != nil {
		return nil, moq.Object{}, layoutMSF, ctx.Err()
	}
	if msfErr != nil && errors.Is(err, errNoSuchTrack) {
		err = msfErr // names the server's answer (DOES_NOT_EXIST …)
	}
	return nil, moq.Object{}, layoutMSF, err
}

// errNoSuchTrack says a track does not exist, or ended before its first
// object.
var errNoSuchTrack = errors.New("no such track")

// catalogTrack is the track that describes a stream in layout l.
func (l layout) catalogTrack() string {
	if l == layoutMoqRS {
		return packager.MoqRSInitTrack
	}
	return packager.CatalogTrackName
}

// catalogOptions is how the catalog track of layout l is subscribed to.
// moq-pub writes its init track's one object once, at start: a Largest
// Object subscription made later starts after it (draft-14 §5.1.2, which
// moq-rs follows) and moq-pub keeps no init for FETCH, so — as moq-sub
// does — that track is read from its start.
func (l layout) catalogOptions() moq.SubscribeOptions {
	if l == layoutMoqRS {
		return moq.SubscribeOptions{Filter: wire.FilterAbsoluteStart}
	}
	return moq.SubscribeOptions{Join: true}
}

// subscribeFirst subscribes to name and waits for its first object.
func subscribeFirst(ctx context.Context, sess *moq.Session, ns moq.Namespace, name string, opts moq.SubscribeOptions) (*moq.RemoteTrack, moq.Object, error) {
	rt, err := sess.Subscribe(ctx, ns, name, opts)
	if errors.Is(err, moq.ErrTrackDoesNotExist) {
		return nil, moq.Object{}, fmt.Errorf("%s: %w: %w", name, errNoSuchTrack, err)
	}
	if err != nil {
		return nil, moq.Object{}, err
	}
	for {
		o, err := rt.ReadObject(ctx)
		switch {
		case err == nil && len(o.Payload) == 0:
			continue
		case err == nil:
			return rt, o, nil
		case ctx.Err() != nil:
			rt.Close()
			return nil, moq.Object{}, ctx.Err()
		}
		rt.Close()
		if _, done := errors.AsType[*moq.PublishDoneError](err); done || errors.Is(err, io.EOF) {
			return nil, moq.Object{}, fmt.Errorf("%s ended before its first object (%w): %w", name, err, errNoSuchTrack)
		}
		return nil, moq.Object{}, err
	}
}
