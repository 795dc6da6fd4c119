package main

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
	"sort"
	"strings"
	"sync"
	"time"

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
	stdout    string
}

func runSub(ctx context.Context, args []string, stderr io.Writer) error {
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
	fs.StringVar(&o.draft, "draft", "auto", "MoQT draft: auto, 14 or 16")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify the server certificate (self-signed gateways)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&o.wait, "wait", 10*time.Second, "how long to keep trying while the namespace does not exist yet (0: fail at once)")
	fs.StringVar(&o.stdout, "stdout", "", "write this track (e.g. video) as fragmented MP4 to standard output instead of a file, for ffplay -")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.url == "" || (o.namespace == "") == (len(o.nsParts) == 0) || (o.out == "" && o.stdout == "") {
		fs.Usage()
		return usageError{errors.New("sub needs -url, -namespace (or -ns-part for each field) and -out (or -stdout TRACK)")}
	}
	versions := relayVersions(o.draft)
	if o.draft != "auto" && versions == nil {
		return usageError{fmt.Errorf("-draft %q is not auto, 14 or 16", o.draft)}
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	log := newLogger(stderr, o.logFormat, "info")
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
		Session: moq.SessionConfig{Implementation: implementation + " sub"},
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
	cat, err := subscribeWhenThere(ctx, sess, ns, o.wait)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	res := &subResult{version: sess.Version()}
	files := map[string]*trackFile{}
	var wg sync.WaitGroup
	defer wg.Wait()
	var firstErr error
	for {
		obj, err := cat.ReadObject(ctx)
		if err != nil {
			if normalEnd(err) {
				log.Info("stream ended", "reason", endReason(err))
				break
			}
			if ctx.Err() != nil {
				break
			}
			firstErr = fmt.Errorf("catalog: %w", err)
			break
		}
		if len(obj.Payload) == 0 {
			continue
		}
		c, err := packager.ParseCatalog(obj.Payload)
		if err != nil {
			firstErr = err
			break
		}
		if o.out != "" {
			if err := os.WriteFile(filepath.Join(o.out, "catalog.json"), obj.Payload, 0o644); err != nil {
				return res, err
			}
		}
		for i := range c.Tracks {
			ct := &c.Tracks[i]
			if ct.Packaging != packager.PackagingCMAF || (o.out == "" && ct.Name != o.stdout) {
				continue
			}
			init, err := c.Init(ct)
			if err != nil {
				return res, fmt.Errorf("track %s: %w", ct.Name, err)
			}
			if tf := files[ct.Name]; tf != nil {
				tf.setInit(ct.InitRef, init) // a new configuration starts a new file
				continue
			}
			tf := &trackFile{name: ct.Name, dir: o.out, log: log}
			if ct.Name == o.stdout {
				tf.stdout = os.Stdout
			}
			tf.setInit(ct.InitRef, init)
			files[ct.Name] = tf
			res.tracks = append(res.tracks, tf)
			// Start at the oldest group the server still has from the time
			// of this catalog: a subscriber that waited for the stream gets
			// its first seconds, one that joins late starts at a cached
			// keyframe.
			rt, err := sess.Subscribe(ctx, ns, ct.Name, moq.SubscribeOptions{
				Filter: wire.FilterAbsoluteStart, Start: moq.Location{Group: obj.Group},
			})
			if err != nil {
				return res, fmt.Errorf("track %s: %w", ct.Name, err)
			}
			wg.Go(func() {
				defer rt.Close()
				switch err := tf.consume(ctx, rt); {
				case err == nil || ctx.Err() != nil:
				case normalEnd(err):
					log.Info("track ended", "track", tf.name, "reason", endReason(err))
				default:
					log.Warn("track ended", "track", tf.name, "err", err)
				}
			})
		}
	}
	wg.Wait()
	for _, tf := range files {
		if err := tf.close(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return res, firstErr
}

// subscribeWhenThere subscribes to ns's catalog at once: a publisher that
// serves its client directly announces nothing. While the server says the
// namespace does not exist, it retries when ns is announced or every
// second, for up to wait.
func subscribeWhenThere(ctx context.Context, sess *moq.Session, ns moq.Namespace, wait time.Duration) (*moq.RemoteTrack, error) {
	deadline := time.Now().Add(wait)
	for {
		wasAnnounced := slices.ContainsFunc(sess.Announced(), ns.HasPrefix)
		cat, err := sess.Subscribe(ctx, ns, packager.CatalogTrackName, moq.SubscribeOptions{})
		if !errors.Is(err, moq.ErrTrackDoesNotExist) || !time.Now().Before(deadline) {
			return cat, err
		}
		wctx, cancel := context.WithTimeout(ctx, min(time.Second, time.Until(deadline)))
		if wasAnnounced {
			<-wctx.Done()
		} else {
			_ = sess.WaitAnnounced(wctx, ns) // announced, or a second passed: try again
		}
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// trackFile writes one track's objects into fragmented MP4: the init
// segment, then each group's chunks in object order, groups in ID order.
// Groups travel on parallel streams, so a later group may arrive before an
// earlier one ends; those objects wait in pending.
type trackFile struct {
	name string
	dir  string
	log  *slog.Logger

	mu         sync.Mutex
	stdout     io.Writer // set: write here instead of files
	f          io.WriteCloser
	initRef    string
	init       []byte
	files      int
	started    bool
	cur        uint64
	haveCur    bool
	pending    map[uint64][]moq.Object
	objects    int
	groups     int
	bytes      int
	firstGroup uint64
	lastGroup  uint64
}

// setInit switches to a new init segment; a change after the first one
// starts a new file (name.2.mp4 …) since one MP4 has one moov.
func (t *trackFile) setInit(ref string, init []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.init != nil && ref == t.initRef {
		return
	}
	t.initRef, t.init = ref, init
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

// nopCloser keeps standard output open when a track file "closes".
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (t *trackFile) ensureFile() error {
	if t.f != nil {
		return nil
	}
	t.files++
	if t.stdout != nil {
		t.f = nopCloser{t.stdout}
		_, err := t.f.Write(t.init)
		return err
	}
	name := t.name + ".mp4"
	if t.files > 1 {
		name = fmt.Sprintf("%s.%d.mp4", t.name, t.files)
	}
	f, err := os.Create(filepath.Join(t.dir, name))
	if err != nil {
		return err
	}
	t.f = f
	_, err = f.Write(t.init)
	return err
}

func (t *trackFile) consume(ctx context.Context, rt *moq.RemoteTrack) error {
	for {
		o, err := rt.ReadObject(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := t.add(o); err != nil {
			return err
		}
	}
}

// maxPendingGroups is how many later groups may wait for the current one
// to end before it is given up (its stream was reset). A subscriber that
// starts in the past receives the cached groups and the live one on
// parallel streams at once, so several may be under way.
const maxPendingGroups = 8

func (t *trackFile) add(o moq.Object) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		// The first groups arrive on parallel streams (cached ones and the
		// live one), in any order: wait until one has ended, or two are
		// under way, then begin at the oldest.
		if t.pending == nil {
			t.pending = map[uint64][]moq.Object{}
		}
		t.pending[o.Group] = append(t.pending[o.Group], o)
		if o.Status != wire.StatusEndOfGroup && !o.Datagram && len(t.pending) < 2 {
			return nil
		}
		t.started, t.firstGroup = true, o.Group
		for g := range t.pending {
			t.firstGroup = min(t.firstGroup, g)
		}
		return t.advanceLocked()
	}
	if !t.haveCur && o.Group >= t.cur {
		t.cur, t.haveCur = o.Group, true
		t.groups++
	}
	switch {
	case o.Group < t.cur:
		return nil // a group given up on
	case o.Group > t.cur:
		if o.Datagram {
			// Datagrams have no end-of-group marker: a newer group ends
			// the current one.
			if err := t.advanceLocked(); err != nil {
				return err
			}
			return t.writeLocked(o)
		}
		if t.pending == nil {
			t.pending = map[uint64][]moq.Object{}
		}
		t.pending[o.Group] = append(t.pending[o.Group], o)
		if len(t.pending) > maxPendingGroups {
			return t.advanceLocked()
		}
		return nil
	}
	return t.writeLocked(o)
}

func (t *trackFile) writeLocked(o moq.Object) error {
	switch o.Status {
	case wire.StatusEndOfGroup:
		return t.advanceLocked()
	case wire.StatusEndOfTrack:
		return nil
	}
	if len(o.Payload) == 0 {
		return nil
	}
	if err := t.ensureFile(); err != nil {
		return err
	}
	if _, err := t.f.Write(o.Payload); err != nil {
		return err
	}
	t.objects++
	t.bytes += len(o.Payload)
	t.lastGroup = o.Group
	return nil
}

// advanceLocked moves to the oldest pending group and writes what waited.
func (t *trackFile) advanceLocked() error {
	if len(t.pending) == 0 {
		t.cur++ // the next group to arrive starts after this one
		t.haveCur = false
		return nil
	}
	ids := make([]uint64, 0, len(t.pending))
	for g := range t.pending {
		ids = append(ids, g)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	next := ids[0]
	objs := t.pending[next]
	delete(t.pending, next)
	sort.Slice(objs, func(i, j int) bool { return objs[i].ID < objs[j].ID })
	t.cur, t.haveCur = next, true
	t.groups++
	for _, o := range objs {
		if err := t.writeLocked(o); err != nil {
			return err
		}
		if t.cur != next {
			return nil // that group ended and the next began
		}
	}
	return nil
}

func (t *trackFile) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.pending) > 0 {
		if err := t.advanceLocked(); err != nil {
			return err
		}
	}
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}
