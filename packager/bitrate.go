package packager

import "github.com/moqgw/moq-gateway/ingest"

// bitrateWindow is how much media a track's bitrate is measured over before
// the gateway publishes the figure, in seconds.
const bitrateWindow = 5

// bitrateMeter measures a track's peak and average bitrate over its first
// bitrateWindow seconds of media: the peak over whole one-second buckets is
// the catalog's bitrate (a maximum), the mean its avgBitrate.
type bitrateMeter struct {
	rate   int64 // media timescale
	start  int64 // media time of the first chunk
	bucket int64 // index of the current one-second bucket
	inBkt  int64 // bytes in the current bucket
	total  int64
	peak   int64 // bytes in the fullest completed bucket
	begun  bool
	done   bool
}

func newBitrateMeter(rate uint32) bitrateMeter {
	return bitrateMeter{rate: int64(rate)}
}

// add counts a chunk of n bytes at media time t and reports whether the
// measurement completed with it.
func (m *bitrateMeter) add(t int64, n int) bool {
	if m.done || m.rate <= 0 {
		return false
	}
	if !m.begun {
		m.begun, m.start = true, t
	}
	b := (t - m.start) / m.rate
	if b < 0 {
		b = 0
	}
	if b != m.bucket {
		m.peak = max(m.peak, m.inBkt)
		m.bucket, m.inBkt = b, 0
	}
	if b >= bitrateWindow {
		m.done = true
		return true
	}
	m.inBkt += int64(n)
	m.total += int64(n)
	return false
}

// peakBitrate is the measured maximum in bit/s.
func (m *bitrateMeter) peakBitrate() int { return int(m.peak * 8) }

// avgBitrate is the measured mean in bit/s.
func (m *bitrateMeter) avgBitrate() int { return int(m.total * 8 / bitrateWindow) }

// estimateBitrate is the catalog's bitrate before anything is measured:
// MSF requires one for audio and video. The figures are typical encoder
// settings, good enough for a player to pick a rendition.
func estimateBitrate(c *decoderConfig) int {
	switch c.codec {
	case ingest.CodecAAC:
		return 64000 * max(c.channels, 1)
	case ingest.CodecOpus:
		return 32000 * max(c.channels, 1)
	}
	fps := c.framerate
	if fps == 0 {
		fps = 30
	}
	bpp := 0.1 // bits per pixel for H.264; newer codecs need less
	if c.codec != ingest.CodecH264 {
		bpp = 0.07
	}
	return max(int(float64(c.width*c.height)*fps*bpp), 100_000)
}
