package ingesttest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moqgw/moq-gateway/ingest"
)

// CheckVideo asserts what the packager relies on from an ffmpeg push of
// H.264/H.265 with B-frames and a 1 s GOP: a keyframe with in-band
// parameter sets first (in front of every keyframe when everyKeyframe),
// DTS increasing, PTS never before DTS, B-frames visible as PTS > DTS.
func CheckVideo(t *testing.T, frames []ingest.Frame, codec ingest.Codec, minFrames int, everyKeyframe bool) {
	t.Helper()
	require.GreaterOrEqual(t, len(frames), minFrames)
	require.True(t, frames[0].Keyframe, "stream starts with a keyframe")
	require.Subset(t, naluTypes(codec, frames[0].AU), paramSetTypes(codec), "parameter sets in band")
	keyframes, reordered := 0, 0
	for i, f := range frames {
		require.GreaterOrEqual(t, f.PTS, f.DTS, "frame %d", i)
		if i > 0 {
			require.Greater(t, f.DTS, frames[i-1].DTS, "frame %d", i)
		}
		if f.Keyframe {
			keyframes++
			if everyKeyframe {
				require.Subset(t, naluTypes(codec, f.AU), paramSetTypes(codec), "parameter sets in front of keyframe %d", i)
			}
		}
		if f.PTS > f.DTS {
			reordered++
		}
	}
	require.GreaterOrEqual(t, keyframes, 2, "-g 30 gives a keyframe per second")
	require.Positive(t, reordered, "B-frames")
}

// CheckAudio asserts audio frames: each a keyframe of one unit, PTS = DTS,
// DTS increasing.
func CheckAudio(t *testing.T, frames []ingest.Frame, minFrames int) {
	t.Helper()
	require.GreaterOrEqual(t, len(frames), minFrames)
	for i, f := range frames {
		require.True(t, f.Keyframe)
		require.Equal(t, f.DTS, f.PTS)
		require.Len(t, f.AU, 1)
		require.NotEmpty(t, f.AU[0])
		if i > 0 {
			require.Greater(t, f.DTS, frames[i-1].DTS, "frame %d", i)
		}
	}
}

func naluTypes(codec ingest.Codec, au [][]byte) []int {
	out := make([]int, len(au))
	for i, n := range au {
		if codec == ingest.CodecH265 {
			out[i] = int(n[0]>>1) & 0x3F
		} else {
			out[i] = int(n[0]) & 0x1F
		}
	}
	return out
}

func paramSetTypes(codec ingest.Codec) []int {
	if codec == ingest.CodecH265 {
		return []int{32, 33, 34} // VPS, SPS, PPS
	}
	return []int{7, 8} // SPS, PPS
}
