package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortmplib"
	rtmpcodecs "github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	srt "github.com/datarhei/gosrt"
)

// Phases of a run, shared by pushers and subscribers so that only what
// happens inside the measurement window is counted.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseDone
)

// pusher publishes one stream from the clip in real time (as ffmpeg -re
// does), looping it with continuous timestamps.
type pusher struct {
	path  string // bench/sN
	clip  *clip
	phase *atomic.Int32
	// sentVideo and sentAudio count the frames written inside the window.
	sentVideo, sentAudio atomic.Int64
}

// count records a frame written.
func (p *pusher) count(f *clipFrame) {
	if p.phase.Load() != phaseMeasure {
		return
	}
	if f.video {
		p.sentVideo.Add(1)
	} else {
		p.sentAudio.Add(1)
	}
}

// replay calls write for every frame of the looped clip at its DTS on the
// wall clock, until ctx ends. Between frames it calls idle, when set, and
// again idleEvery later while idle reports more pending (the SRT pacer).
func (p *pusher) replay(ctx context.Context, write func(f *clipFrame, dts, pts time.Duration) error, idle func(time.Time) (bool, error), idleEvery time.Duration) error {
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for loop := 0; ; loop++ {
		off := time.Duration(loop) * p.clip.period
		for i := range p.clip.frames {
			f := &p.clip.frames[i]
			dts := f.dts + off
			due := start.Add(dts)
			for {
				now := time.Now()
				pending := false
				if idle != nil {
					var err error
					if pending, err = idle(now); err != nil {
						return err
					}
				}
				wait := due.Sub(now)
				if wait <= 0 {
					break
				}
				if pending {
					wait = min(wait, idleEvery)
				}
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					return nil
				case <-timer.C:
				}
			}
			if err := write(f, dts, f.pts+off); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			p.count(f)
		}
	}
}

// runRTMP publishes rtmp://addr/bench with stream key sN through
// gortmplib's client, as OBS would with "Stream Key" sN.
func (p *pusher) runRTMP(ctx context.Context, addr string) error {
	app, key, _ := strings.Cut(p.path, "/")
	u := &url.URL{Scheme: "rtmp", Host: addr, Path: "/" + app, Fragment: key}
	c := &gortmplib.Client{URL: u, Publish: true}
	dctx, cancel := context.WithTimeout(ctx, connectTimeout)
	err := c.Initialize(dctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("rtmp pusher %s: connect: %w", p.path, err)
	}
	defer c.Close()
	// A write blocked on a full socket returns once the connection closes.
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()
	video := &gortmplib.Track{Codec: &rtmpcodecs.H264{SPS: p.clip.sps, PPS: p.clip.pps}}
	tracks := []*gortmplib.Track{video}
	var audio *gortmplib.Track
	if p.clip.asc != nil {
		audio = &gortmplib.Track{Codec: &rtmpcodecs.MPEG4Audio{Config: p.clip.asc}}
		tracks = append(tracks, audio)
	}
	w := &gortmplib.Writer{Conn: c, Tracks: tracks}
	if err := w.Initialize(); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("rtmp pusher %s: %w", p.path, err)
	}
	err = p.replay(ctx, func(f *clipFrame, dts, pts time.Duration) error {
		if f.video {
			return w.WriteH264(video, pts, dts, f.nalus)
		}
		return w.WriteMPEG4Audio(audio, dts, f.audio)
	}, nil, 0)
	if err != nil {
		return fmt.Errorf("rtmp pusher %s: %w", p.path, err)
	}
	return nil
}

// SRT pacing: TS goes out in SRT payloads of seven TS packets (what ffmpeg
// and OBS send), at srtPaceFactor times the clip's bit rate. gosrt sends
// whatever was written in one burst per 10 ms tick, and a keyframe written
// at once overflows the receiver's default UDP buffer (gosrt cannot raise
// it); libsrt paces by its own bandwidth estimate instead.
const (
	tsPacketSize  = 188
	srtPayload    = 7 * tsPacketSize
	srtPaceTick   = 5 * time.Millisecond
	srtPaceFactor = 2
)

// tsPacer holds muxed TS and writes it to an SRT connection at a bounded
// rate (a token bucket refilled at rate bytes per second).
type tsPacer struct {
	conn    srt.Conn
	pending []byte
	off     int
	rate    float64
	burst   float64
	tokens  float64
	last    time.Time
}

func newTSPacer(conn srt.Conn, bitrate int64) *tsPacer {
	rate := float64(bitrate) / 8 * srtPaceFactor
	burst := max(rate*2*srtPaceTick.Seconds(), srtPayload)
	return &tsPacer{conn: conn, rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

// Write queues TS packets from the muxer.
func (t *tsPacer) Write(b []byte) (int, error) {
	t.pending = append(t.pending, b...)
	return len(b), nil
}

// send writes what the bucket allows, whole TS packets only, and reports
// whether data is left.
func (t *tsPacer) send(now time.Time) (bool, error) {
	t.tokens = min(t.tokens+now.Sub(t.last).Seconds()*t.rate, t.burst)
	t.last = now
	for t.tokens > 0 {
		n := min(len(t.pending)-t.off, srtPayload)
		n -= n % tsPacketSize
		if n == 0 {
			break
		}
		if _, err := t.conn.Write(t.pending[t.off : t.off+n]); err != nil {
			return false, err
		}
		t.off += n
		t.tokens -= float64(n)
	}
	if t.off == len(t.pending) {
		t.pending, t.off = t.pending[:0], 0
		return false, nil
	}
	return true, nil
}

// runSRT publishes MPEG-TS over SRT with stream ID publish:bench/sN
// (MediaMTX's form, which the gateway accepts).
func (p *pusher) runSRT(ctx context.Context, addr string) error {
	cfg := srt.DefaultConfig()
	cfg.StreamId = "publish:" + p.path
	cfg.ConnectionTimeout = connectTimeout
	conn, err := srt.Dial("srt", addr, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("srt pusher %s: connect: %w", p.path, err)
	}
	defer conn.Close()
	pace := newTSPacer(conn, p.clip.bitrate())
	video := &mpegts.Track{Codec: &tscodecs.H264{}}
	tracks := []*mpegts.Track{video}
	var audio *mpegts.Track
	if p.clip.asc != nil {
		audio = &mpegts.Track{Codec: &tscodecs.MPEG4Audio{Config: *p.clip.asc}}
		tracks = append(tracks, audio)
	}
	w := &mpegts.Writer{W: pace, Tracks: tracks}
	if err := w.Initialize(); err != nil {
		return fmt.Errorf("srt pusher %s: %w", p.path, err)
	}
	paramSets := [][]byte{p.clip.sps, p.clip.pps}
	err = p.replay(ctx, func(f *clipFrame, dts, pts time.Duration) error {
		if !f.video {
			return w.WriteMPEG4Audio(audio, ts90k(dts), [][]byte{f.audio})
		}
		au := f.nalus
		if f.key {
			// MPEG-TS has no out-of-band configuration: repeat SPS and
			// PPS in front of every keyframe, as encoders do.
			au = append(append(make([][]byte, 0, len(au)+2), paramSets...), au...)
		}
		return w.WriteH264(video, ts90k(pts), ts90k(dts), au)
	}, pace.send, srtPaceTick)
	if err != nil {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("srt pusher %s: %w", p.path, err)
	}
	return nil
}

// ts90k converts a clip time to the 33-bit 90 kHz MPEG-TS clock, starting
// at one second so the first B-frame's DTS is not negative.
func ts90k(d time.Duration) int64 {
	return (int64(time.Second+d) * 90000 / int64(time.Second)) & (1<<33 - 1)
}
