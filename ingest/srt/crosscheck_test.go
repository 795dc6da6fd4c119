package srt

import (
	"bytes"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/ingest/ingesttest"
)

// unit is one access unit as a demuxer hands it on, raw 33-bit clocks.
type unit struct {
	pts, dts int64
	data     [][]byte
}

// TestDemuxMatchesMediacommon demuxes ffmpeg's MPEG-TS with the gateway's
// PES assembly (which ends a video PES at its stuffed last packet) and with
// mediacommon's own Reader (go-astits, which waits for the next PES), and
// requires the same access units, byte for byte.
func TestDemuxMatchesMediacommon(t *testing.T) {
	ingesttest.RequireFFmpeg(t)
	cases := []struct {
		name  string
		codec []string
	}{
		{"H.264 AAC", []string{"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30", "-c:a", "aac"}},
		{"H.265 Opus", []string{
			"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:bframes=2", "-g", "30",
			"-c:a", "libopus", "-ar", "48000",
		}},
		{"H.264 large frames", []string{"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-g", "10", "-c:a", "aac"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := ffmpegTSWith(t, tc.codec...)
			ours := demux(t, data)
			require.Zero(t, ours.errors)
			require.Zero(t, ours.lost)
			require.Zero(t, ours.atClose, "every video PES ended at its stuffed packet, none waited for the close")
			theirs := mediacommonDemux(t, data)
			require.Len(t, theirs, len(ours.tracks))
			for i, tr := range ours.tracks {
				var got []unit
				for _, f := range ours.track(i) {
					got = append(got, unit{f.PTS, f.DTS, f.AU})
				}
				want := theirs[i]
				if tr.Kind() == ingest.KindAudio {
					// mediacommon hands on a PES of several audio frames at
					// a time; the gateway one frame each. Compare the
					// frames.
					require.Equal(t, frames(want), frames(got), "track %d (%s)", i, tr.Codec)
					continue
				}
				require.Len(t, got, len(want), "track %d (%s)", i, tr.Codec)
				require.Equal(t, want, got, "track %d (%s)", i, tr.Codec)
			}
		})
	}
}

// frames flattens units into their frames.
func frames(us []unit) [][]byte {
	var out [][]byte
	for _, u := range us {
		out = append(out, u.data...)
	}
	return out
}

// mediacommonDemux reads data with mediacommon's Reader and returns the
// video access units per track in PMT order, audio split per frame as the
// gateway splits it.
func mediacommonDemux(t *testing.T, data []byte) [][]unit {
	t.Helper()
	src := bytes.NewReader(data)
	r := &mpegts.Reader{R: src}
	require.NoError(t, r.Initialize())
	out := make([][]unit, len(r.Tracks()))
	for i, tr := range r.Tracks() {
		add := func(pts, dts int64, au [][]byte) error {
			c := make([][]byte, len(au))
			for j, n := range au {
				c[j] = bytes.Clone(n)
			}
			out[i] = append(out[i], unit{pts, dts, c})
			return nil
		}
		switch tr.Codec.(type) {
		case *codecs.H264:
			r.OnDataH264(tr, add)
		case *codecs.H265:
			r.OnDataH265(tr, add)
		case *codecs.MPEG4Audio:
			r.OnDataMPEG4Audio(tr, func(pts int64, aus [][]byte) error { return add(pts, pts, aus) })
		case *codecs.Opus:
			r.OnDataOpus(tr, func(pts int64, pkts [][]byte) error { return add(pts, pts, pkts) })
		}
	}
	for {
		// The Reader ends with go-astits' "no more packets": any error
		// with the input all read is the end.
		if err := r.Read(); err != nil {
			require.Zero(t, src.Len(), "mediacommon stopped early: %v", err)
			return out
		}
	}
}
