package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// clipSpec describes the clip bench encodes when no -file is given.
type clipSpec struct {
	width, height int
	fps           int
	gop           int // frames per keyframe
	seconds       int
	bitrate       int64 // video, bits per second
}

// defaultClip is DESIGN's target stream: 1080p30 H.264 High with B-frames,
// one keyframe a second, 10 s looped.
func defaultClip(bitrate int64) clipSpec {
	return clipSpec{width: 1920, height: 1080, fps: 30, gop: 30, seconds: 10, bitrate: bitrate}
}

func (c clipSpec) fileName() string {
	return fmt.Sprintf("clip-%dx%d-%dfps-gop%d-%dk-%ds.mp4", c.width, c.height, c.fps, c.gop, c.bitrate/1000, c.seconds)
}

// cachedClip returns the path of the clip for spec in the user cache
// directory, encoding it first when it is not there: encoding 1080p takes
// far longer than a run's warm-up, and every run at one bitrate can share it.
func cachedClip(ctx context.Context, spec clipSpec, log *slog.Logger) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "moq-gateway", "bench")
	path := filepath.Join(dir, spec.fileName())
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	log.Info("encoding the bench clip once", "path", path, "size", fmt.Sprintf("%dx%d", spec.width, spec.height), "bitrate", spec.bitrate)
	// Encode to a temporary name and rename, so a concurrent or interrupted
	// run never sees half a file.
	tmp, err := os.CreateTemp(dir, "encoding-*.mp4")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := encodeClip(ctx, spec, tmp.Name()); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// encodeClip runs ffmpeg to write spec into path. Temporal noise over the
// test pattern keeps x264 at the requested rate: a clean testsrc2 encodes to
// a fraction of it and would understate the load.
func encodeClip(ctx context.Context, spec clipSpec, path string) error {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return errors.New("bench needs ffmpeg to encode its clip (or pass -file): apt-get install -y ffmpeg")
	}
	rate := fmt.Sprint(spec.bitrate)
	args := []string{
		"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", spec.width, spec.height, spec.fps),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(spec.seconds),
		"-vf", "noise=alls=12:allf=t",
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "2", "-pix_fmt", "yuv420p",
		"-g", fmt.Sprint(spec.gop), "-keyint_min", fmt.Sprint(spec.gop), "-sc_threshold", "0",
		"-b:v", rate, "-maxrate", rate, "-bufsize", fmt.Sprint(spec.bitrate / 2),
		"-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
		"-f", "mp4", path,
	}
	out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffmpeg: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// clipFrame is one access unit of the clip, timed from the clip's start.
type clipFrame struct {
	video    bool
	key      bool
	dts, pts time.Duration
	// nalus holds a video frame's NAL units; audio holds one raw AAC frame.
	nalus [][]byte
	audio []byte
	size  int
}

// clip is a demuxed MP4 that pushers replay in a loop without re-encoding.
type clip struct {
	path   string
	frames []clipFrame // in DTS order, video and audio interleaved
	// period is the loop length (the video track's duration): the n-th
	// loop adds n·period to every timestamp, so timelines stay continuous.
	period        time.Duration
	sps, pps      []byte
	asc           *mpeg4audio.AudioSpecificConfig // nil: no audio track
	width, height int
	videoFrames   int
	audioFrames   int
	keyframes     int
	bytes         int64
}

// bitrate is the clip's media bit rate, video and audio.
func (c *clip) bitrate() int64 {
	return c.bytes * 8 * int64(time.Second) / int64(c.period)
}

// fps is the video frame rate.
func (c *clip) fps() float64 {
	return float64(c.videoFrames) / c.period.Seconds()
}

// gopFrames is the mean number of video frames per group, which is what one
// skipped group costs.
func (c *clip) gopFrames() float64 { return float64(c.videoFrames) / float64(c.keyframes) }

// audioPerGOP is the mean number of audio frames per group (audio groups
// follow video's).
func (c *clip) audioPerGOP() float64 { return float64(c.audioFrames) / float64(c.keyframes) }

// loadClip demuxes an MP4 with one H.264 video track and optionally one AAC
// track, holding every sample in memory.
func loadClip(path string) (*clip, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := mp4.DecodeFile(bytes.NewReader(data), mp4.WithDecodeMode(mp4.DecModeLazyMdat))
	if err != nil {
		return nil, fmt.Errorf("clip %s: %w", path, err)
	}
	if f.Moov == nil {
		return nil, fmt.Errorf("clip %s: no moov (fragmented MP4 is not supported)", path)
	}
	c := &clip{path: path}
	var videoEnd time.Duration
	for _, trak := range f.Moov.Traks {
		stsd := trak.Mdia.Minf.Stbl.Stsd
		switch {
		case trak.Mdia.Hdlr.HandlerType == "vide" && stsd.AvcX != nil && stsd.AvcX.AvcC != nil && c.sps == nil:
			rec := stsd.AvcX.AvcC.DecConfRec
			if len(rec.SPSnalus) == 0 || len(rec.PPSnalus) == 0 {
				return nil, fmt.Errorf("clip %s: avcC carries no SPS/PPS", path)
			}
			c.sps, c.pps = rec.SPSnalus[0], rec.PPSnalus[0]
			c.width, c.height = int(stsd.AvcX.Width), int(stsd.AvcX.Height)
			if videoEnd, err = c.addTrack(trak, data, true); err != nil {
				return nil, fmt.Errorf("clip %s: video: %w", path, err)
			}
		case trak.Mdia.Hdlr.HandlerType == "soun" && stsd.Mp4a != nil && c.asc == nil:
			esds := stsd.Mp4a.Esds
			if esds == nil || esds.DecConfigDescriptor == nil || esds.DecConfigDescriptor.DecSpecificInfo == nil {
				return nil, fmt.Errorf("clip %s: AAC track without AudioSpecificConfig", path)
			}
			var asc mpeg4audio.AudioSpecificConfig
			if err := asc.Unmarshal(esds.DecConfigDescriptor.DecSpecificInfo.DecConfig); err != nil {
				return nil, fmt.Errorf("clip %s: AudioSpecificConfig: %w", path, err)
			}
			c.asc = &asc
			if _, err := c.addTrack(trak, data, false); err != nil {
				return nil, fmt.Errorf("clip %s: audio: %w", path, err)
			}
		}
	}
	if c.sps == nil {
		return nil, fmt.Errorf("clip %s: no H.264 track (bench pushes H.264 and AAC)", path)
	}
	if c.keyframes == 0 {
		return nil, fmt.Errorf("clip %s: no keyframe", path)
	}
	c.period = videoEnd
	c.finish()
	return c, nil
}

// addTrack appends one track's samples to c.frames and returns the end of
// its last sample.
func (c *clip) addTrack(trak *mp4.TrakBox, data []byte, video bool) (time.Duration, error) {
	stbl := trak.Mdia.Minf.Stbl
	n := stbl.Stsz.GetNrSamples()
	if n == 0 {
		return 0, errors.New("no samples")
	}
	timescale := int64(trak.Mdia.Mdhd.Timescale)
	if timescale == 0 {
		return 0, errors.New("timescale 0")
	}
	toDur := func(t int64) time.Duration { return time.Duration(t * int64(time.Second) / timescale) }
	chunks, err := stbl.Stsc.GetContainingChunks(1, n)
	if err != nil {
		return 0, err
	}
	var end time.Duration
	for _, ch := range chunks {
		var off uint64
		switch {
		case stbl.Stco != nil:
			off, err = stbl.Stco.GetOffset(int(ch.ChunkNr))
		case stbl.Co64 != nil:
			off, err = stbl.Co64.GetOffset(int(ch.ChunkNr))
		default:
			err = errors.New("no chunk offsets")
		}
		if err != nil {
			return 0, err
		}
		for nr := ch.StartSampleNr; nr < ch.StartSampleNr+ch.NrSamples && nr <= n; nr++ {
			size := uint64(stbl.Stsz.GetSampleSize(int(nr)))
			if off+size > uint64(len(data)) {
				return 0, fmt.Errorf("sample %d lies outside the file", nr)
			}
			sample := data[off : off+size]
			off += size
			dts, dur := stbl.Stts.GetDecodeTime(nr)
			var cto int64
			if stbl.Ctts != nil {
				cto = int64(stbl.Ctts.GetCompositionTimeOffset(nr))
			}
			fr := clipFrame{
				video: video, size: len(sample),
				dts: toDur(int64(dts)), pts: toDur(int64(dts) + cto),
			}
			end = max(end, toDur(int64(dts)+int64(dur)))
			if video {
				fr.key = stbl.Stss == nil || stbl.Stss.IsSyncSample(nr)
				if fr.nalus, err = avc.GetNalusFromSample(sample); err != nil {
					return 0, fmt.Errorf("sample %d: %w", nr, err)
				}
				c.videoFrames++
				if fr.key {
					c.keyframes++
				}
			} else {
				fr.key = true
				fr.audio = sample
				c.audioFrames++
			}
			c.frames = append(c.frames, fr)
		}
	}
	return end, nil
}

// finish drops audio beyond the loop period, makes every PTS at least its
// DTS (negative composition offsets would otherwise give RTMP a negative
// PTS delta), sorts by DTS and totals the bytes.
func (c *clip) finish() {
	var shift time.Duration
	for _, f := range c.frames {
		shift = max(shift, f.dts-f.pts)
	}
	kept := c.frames[:0]
	c.audioFrames = 0
	for _, f := range c.frames {
		if !f.video && f.dts >= c.period {
			continue
		}
		// Video keeps its DTS and gains shift in PTS; audio moves whole
		// so the tracks stay in sync.
		f.pts += shift
		if !f.video {
			f.dts += shift
			c.audioFrames++
		}
		c.bytes += int64(f.size)
		kept = append(kept, f)
	}
	c.frames = kept
	sort.SliceStable(c.frames, func(i, j int) bool { return c.frames[i].dts < c.frames[j].dts })
}
