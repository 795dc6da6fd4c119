package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"golang.org/x/sync/errgroup"

	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

// attackFinding is one attack's outcome.
type attackFinding struct {
	name    string
	outcome string
	// defended says the gateway held: the attack got no more than its
	// bounds allow.
	defended bool
	rssPeak  int64
}

// attackFunc runs one attack and says what it achieved.
type attackFunc func(context.Context, *gatewayProc) (outcome string, defended bool, err error)

// runAttack is `moq-bench -attack`: the gateway child with its default
// limits, one healthy RTMP stream with a MoQ subscriber, and, one after
// another, the attacks the limits answer (loopback, bounded). It prints
// what each attack achieved and what the healthy stream lost meanwhile.
func runAttack(ctx context.Context, o *benchOptions, log *slog.Logger, stdout, stderr io.Writer) error {
	o.proto = "rtmp"
	path := o.file
	if path == "" {
		var err error
		if path, err = cachedClip(ctx, defaultClip(o.bitrate), log); err != nil {
			return err
		}
	}
	c, err := loadClip(path)
	if err != nil {
		return err
	}
	gw, err := startGateway(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = gw.stop() }()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	eg, egCtx := errgroup.WithContext(runCtx)
	var phase atomic.Int32
	healthy := &pusher{path: "attack/healthy", clip: c, phase: &phase}
	eg.Go(func() error { return healthy.runRTMP(egCtx, gw.addrs.rtmp) })
	watcher := newSubscriber("attack/healthy#1", moq.Namespace{"attack", "healthy"}, "moqt://"+gw.addrs.moq, nil, &phase, c,
		slog.New(levelFilter{log.Handler(), slog.LevelWarn}))
	eg.Go(func() error { return watcher.run(egCtx) })
	select {
	case <-watcher.ready:
	case <-time.After(30 * time.Second):
		return errors.New("the healthy stream did not reach its subscriber within 30 s")
	case <-egCtx.Done():
		return eg.Wait()
	}
	phase.Store(phaseMeasure)

	attacks := []struct {
		name string
		run  attackFunc
	}{
		{"rtmp lock-out: 2,000 idle TCP connections", attackRTMPIdle},
		{"rtsp slowloris: 1,000 unfinished requests", attackRTSPSlowloris},
		{"quic: 1,000 handshakes without SETUP", attackQUICHandshakes},
		{"moq amplification: one session subscribes 2,500 times to one track", attackDuplicateSubscribe},
		{"moq partial control message: 10 of 65,535 bytes", attackPartialControl},
	}
	var found []attackFinding
	for _, a := range attacks {
		peak := atomic.Int64{}
		sample, stopSample := context.WithCancel(ctx)
		go func() {
			for sample.Err() == nil {
				if rss, _, err := gw.memory(); err == nil && rss > peak.Load() {
					peak.Store(rss)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		outcome, defended, err := a.run(ctx, gw)
		stopSample()
		if err != nil {
			outcome = "error: " + err.Error()
		}
		found = append(found, attackFinding{a.name, outcome, defended && err == nil, peak.Load()})
		log.Info("attack done", "attack", a.name, "outcome", outcome)
	}
	phase.Store(phaseDone)
	stop()
	if err := eg.Wait(); err != nil {
		return err
	}
	var lost, received int64
	for _, t := range watcher.tracks {
		objects, _ := t.lost()
		lost += objects
		received += t.received
	}
	var failed []string
	for _, f := range found {
		verdict := "held"
		if !f.defended {
			verdict = "NOT HELD"
			failed = append(failed, f.name)
		}
		fmt.Fprintf(stdout, "%-8s %-68s %s (gateway RSS peak %d MiB)\n", verdict, f.name+":", f.outcome, f.rssPeak>>20)
	}
	fmt.Fprintf(stdout, "healthy stream meanwhile: %d frames sent, %d objects received, %d lost\n",
		healthy.sentVideo.Load()+healthy.sentAudio.Load(), received, lost)
	if lost > 0 {
		failed = append(failed, "the healthy stream lost objects")
	}
	if len(failed) > 0 {
		return fmt.Errorf("attack check failed: %s", strings.Join(failed, "; "))
	}
	return nil
}

// The gateway's default per-address bounds the attacks meet.
const (
	perAddressBound    = 32
	moqPerAddressBound = 256
)

// attackRTMPIdle opens 2,000 TCP connections to RTMP that never
// handshake and counts those the gateway holds: past the per-address
// bound the rest of its 1,000 slots stay free for other addresses (on
// loopback there is no other to publish from; ingest/rtmp's
// TestMaxConnsPerIP publishes over ::1 meanwhile).
func attackRTMPIdle(_ context.Context, gw *gatewayProc) (string, bool, error) {
	var conns []net.Conn
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	for range 2000 {
		nc, err := net.DialTimeout("tcp", gw.addrs.rtmp, time.Second)
		if err != nil {
			continue
		}
		conns = append(conns, nc)
	}
	time.Sleep(time.Second)
	held := 0
	for _, nc := range conns {
		_ = nc.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := nc.Read(make([]byte, 1)); err != nil && isTimeout(err) {
			held++ // still open: the gateway waits for its handshake
		}
	}
	return fmt.Sprintf("%d of %d connections held open, %d of the 1,000 slots left for other addresses", held, len(conns), 1000-held),
		held <= perAddressBound, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// attackRTSPSlowloris sends 1,000 request lines that never end and counts
// how many the gateway holds after 2 s and after its 10 s request bound.
func attackRTSPSlowloris(_ context.Context, gw *gatewayProc) (string, bool, error) {
	var conns []net.Conn
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	for range 1000 {
		nc, err := net.DialTimeout("tcp", gw.addrs.rtsp, time.Second)
		if err != nil {
			continue
		}
		_, _ = nc.Write([]byte("OPTIONS rtsp://x/ RTSP/1.0\r\n"))
		conns = append(conns, nc)
	}
	open := func() int {
		n := 0
		for _, nc := range conns {
			_ = nc.SetReadDeadline(time.Now().Add(time.Millisecond))
			if _, err := nc.Read(make([]byte, 1)); err != nil && isTimeout(err) {
				n++
			}
		}
		return n
	}
	start := time.Now()
	time.Sleep(2 * time.Second)
	early := open()
	// The gateway closes an unfinished request after its 10 s read
	// timeout; a loaded machine may take a little longer, so wait up to
	// three times that and report when the last one went.
	late := early
	for late > 0 && time.Since(start) < 30*time.Second {
		time.Sleep(250 * time.Millisecond)
		late = open()
	}
	gone := time.Since(start).Round(100 * time.Millisecond)
	if late > 0 {
		return fmt.Sprintf("%d of %d held after 2 s, %d still held after %s", early, len(conns), late, gone), false, nil
	}
	return fmt.Sprintf("%d of %d held after 2 s, all closed after %s", early, len(conns), gone), early <= perAddressBound, nil
}

// attackQUICHandshakes completes 1,000 QUIC handshakes (ALPN moqt-16)
// and never sends SETUP.
func attackQUICHandshakes(ctx context.Context, gw *gatewayProc) (string, bool, error) {
	var mu sync.Mutex
	var conns []*quic.Conn
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			qc, err := quic.DialAddr(hctx, gw.addrs.moq, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{wire.ALPNDraft16}}, //nolint:gosec // loopback, self-signed
				&quic.Config{MaxIdleTimeout: 30 * time.Second, KeepAlivePeriod: 5 * time.Second})
			if err == nil {
				mu.Lock()
				conns = append(conns, qc)
				mu.Unlock()
			}
		})
		if i%50 == 49 {
			wg.Wait()
		}
	}
	wg.Wait()
	defer func() {
		for _, qc := range conns {
			_ = qc.CloseWithError(0, "")
		}
	}()
	alive := func() int {
		n := 0
		for _, qc := range conns {
			if qc.Context().Err() == nil {
				n++
			}
		}
		return n
	}
	start := time.Now()
	time.Sleep(2 * time.Second)
	open := alive()
	// Past the 10 s SETUP deadline; as for RTSP, allow a loaded machine
	// three times that and report when the last one went.
	late := open
	for late > 0 && time.Since(start) < 30*time.Second {
		time.Sleep(250 * time.Millisecond)
		late = alive()
	}
	gone := time.Since(start).Round(100 * time.Millisecond)
	if late > 0 {
		return fmt.Sprintf("%d handshakes done, %d kept after 2 s, %d still kept after %s", len(conns), open, late, gone), false, nil
	}
	return fmt.Sprintf("%d handshakes done, %d kept after 2 s, all closed after %s", len(conns), open, gone), open <= moqPerAddressBound, nil
}

// attackDuplicateSubscribe subscribes 2,500 times to the healthy video
// track in one session.
func attackDuplicateSubscribe(ctx context.Context, gw *gatewayProc) (string, bool, error) {
	dctx, cancel := context.WithTimeout(ctx, connectTimeout)
	sess, err := moq.Dial(dctx, "moqt://"+gw.addrs.moq, moq.DialOptions{
		TLSConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback, self-signed
		Logger:    slog.New(slog.DiscardHandler),
	})
	cancel()
	if err != nil {
		return "", false, err
	}
	defer sess.Close()
	accepted, refused := 0, 0
	for range 2500 {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := sess.Subscribe(sctx, moq.Namespace{"attack", "healthy"}, "video", moq.SubscribeOptions{})
		cancel()
		switch {
		case err == nil:
			accepted++
		case errors.As(err, new(*moq.RequestError)):
			refused++
		default:
			return fmt.Sprintf("%d accepted, %d refused, then: %v", accepted, refused, err), false, nil
		}
	}
	// The gateway keeps one subscription per track on drafts 16 and 18
	// (their §5.1) and at most four on 14 and 19, which allow more.
	return fmt.Sprintf("%d accepted, %d refused (%v)", accepted, refused, sess.Version()), accepted >= 1 && accepted <= perTrackBound, nil
}

// perTrackBound is the most subscriptions to one track the gateway keeps
// in one session, on any draft.
const perTrackBound = 4

// attackPartialControl completes SETUP on raw QUIC, then sends a
// SUBSCRIBE whose length says 65,535 bytes and only 10 of them, and times
// the gateway closing the session.
func attackPartialControl(ctx context.Context, gw *gatewayProc) (string, bool, error) {
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	qc, err := quic.DialAddr(hctx, gw.addrs.moq, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{wire.ALPNDraft16}}, //nolint:gosec // loopback, self-signed
		&quic.Config{MaxIdleTimeout: 60 * time.Second, KeepAlivePeriod: 5 * time.Second})
	if err != nil {
		return "", false, err
	}
	defer qc.CloseWithError(0, "")
	st, err := qc.OpenStreamSync(hctx)
	if err != nil {
		return "", false, err
	}
	path := "/"
	setup, err := wire.AppendControl(nil, wire.Draft16, &wire.ClientSetup{Params: wire.SetupParams{Path: &path, MaxRequestID: 100}})
	if err != nil {
		return "", false, err
	}
	if _, err := st.Write(setup); err != nil {
		return "", false, err
	}
	if _, err := io.ReadAtLeast(st, make([]byte, 64), 1); err != nil {
		return "", false, fmt.Errorf("no SERVER_SETUP: %w", err)
	}
	// Type SUBSCRIBE (0x03), a 16-bit length of 0xFFFF, then 10 bytes.
	if _, err := st.Write(append([]byte{0x03, 0xff, 0xff}, make([]byte, 10)...)); err != nil {
		return "", false, err
	}
	start := time.Now()
	select {
	case <-qc.Context().Done():
		reason := ""
		if ae, ok := errors.AsType[*quic.ApplicationError](context.Cause(qc.Context())); ok {
			reason = fmt.Sprintf(" with code 0x%x %q", uint64(ae.ErrorCode), strings.TrimSpace(ae.ErrorMessage))
		}
		return fmt.Sprintf("session closed after %v%s", time.Since(start).Round(100*time.Millisecond), reason), true, nil
	case <-time.After(30 * time.Second):
		return "session still open after 30 s", false, nil
	}
}
