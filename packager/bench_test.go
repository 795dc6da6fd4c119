package packager

import (
	"testing"

	"github.com/moqgw/moq-gateway/ingest"
)

// discard is an Output that drops everything, so that benchmarks measure the
// packager alone.
type discard struct{}

func (discard) Object(string, uint64, uint64, []byte) {}
func (discard) EndTrack(string)                       {}

// nal returns a NAL unit of n bytes with the given header byte.
func nal(hdr byte, n int) []byte {
	b := make([]byte, n)
	b[0] = hdr
	for i := 1; i < n; i++ {
		b[i] = byte(i*7 + 1)
	}
	return b
}

// BenchmarkPackageVideoFrame packages a 20 KB H.264 P-frame (SEI + slice)
// from an RTMP publication: the per-frame path of the gateway's target.
func BenchmarkPackageVideoFrame(b *testing.B) {
	s := New(Config{FirstGroupID: 1}, discard{})
	if err := s.SetTracks([]ingest.Track{rtmpH264}); err != nil {
		b.Fatal(err)
	}
	key := ingest.Frame{Keyframe: true, AU: [][]byte{nal(0x65, 40000)}}
	if err := s.WriteFrame(key); err != nil {
		b.Fatal(err)
	}
	f := ingest.Frame{AU: [][]byte{nal(0x06, 40), nal(0x41, 20000)}}
	b.SetBytes(20040)
	b.ReportAllocs()
	for b.Loop() {
		f.DTS += 33
		f.PTS = f.DTS + 66
		if err := s.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPackageAudioFrame packages a 48 kHz AAC frame with RTMP
// millisecond timestamps.
func BenchmarkPackageAudioFrame(b *testing.B) {
	s := New(Config{FirstGroupID: 1}, discard{})
	if err := s.SetTracks([]ingest.Track{rtmpAAC}); err != nil {
		b.Fatal(err)
	}
	f := ingest.Frame{Keyframe: true, AU: [][]byte{nal(0x21, 340)}}
	n := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		f.DTS = n * 1024 * 1000 / 48000
		f.PTS = f.DTS
		n++
		if err := s.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllocCopyBaseline is the floor of the per-frame path: a fresh
// 20 KB payload, since objects are handed off and shared, and one copy of
// the frame into it. The packager's own work is the difference to
// BenchmarkPackageVideoFrame.
func BenchmarkAllocCopyBaseline(b *testing.B) {
	frame := nal(0x41, 20040)
	var sink []byte
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		p := make([]byte, 100+len(frame))
		copy(p[100:], frame)
		sink = p
	}
	_ = sink
}
