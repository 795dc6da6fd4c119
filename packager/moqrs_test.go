package packager

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"
)

func TestMoqRSTrackNames(t *testing.T) {
	require.Equal(t, "1.m4s", MoqRSTrackName(0))
	for name, want := range map[string]int{"1.m4s": 0, "2.m4s": 1, "12.m4s": 11} {
		i, ok := MoqRSTrackIndex(name)
		require.True(t, ok, name)
		require.Equal(t, want, i, name)
	}
	for _, name := range []string{"0.m4s", "01.m4s", "-1.m4s", "x.m4s", "1.mp4", "video", ".m4s"} {
		_, ok := MoqRSTrackIndex(name)
		require.False(t, ok, name)
	}
}

// The moq-rs layout of a packaged H.264+AAC stream: one init with both
// tracks (IDs 1 and 2), every chunk renumbered. ffmpeg reads the
// interleaved result as moq-sub writes it (init, then chunks as they
// arrive) and decodes every frame of both tracks.
func TestMoqRSLayout(t *testing.T) {
	requireFFmpeg(t)
	ts := filepath.Join(t.TempDir(), "in.ts")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30",
		"-c:a", "aac", "-ac", "2", "-b:a", "96k", ts)
	s, rec := pack(t, readTS(t, ts), Config{ProducerReferenceTime: true})
	tracks := s.Tracks()
	require.Len(t, tracks, 2)
	init, err := MoqRSInit(tracks)
	require.NoError(t, err)
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	require.NoError(t, err)
	require.Len(t, f.Init.Moov.Traks, 2)
	for i, trak := range f.Init.Moov.Traks {
		require.Equal(t, uint32(i+1), trak.Tkhd.TrackID)
		require.Equal(t, uint32(i+1), f.Init.Moov.Mvex.Trexs[i].TrackID)
	}

	var file bytes.Buffer
	file.Write(init)
	frames := map[string]int{}
	for _, o := range rec.objects {
		i := map[string]int{"video": 0, "audio": 1}[o.track]
		if o.track == CatalogTrackName {
			continue
		}
		c, err := RetrackChunk(nil, o.payload, uint32(i+1))
		require.NoError(t, err)
		require.Len(t, c, len(o.payload))
		require.Equal(t, i == 0, bytes.Equal(o.payload, c), "%s: renumbered to track %d", o.track, i+1)
		file.Write(c)
		frames[o.track]++
	}
	path := filepath.Join(t.TempDir(), "moq-rs.mp4")
	require.NoError(t, os.WriteFile(path, file.Bytes(), 0o644))
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, strings.TrimSpace(string(out)))
	require.Equal(t, frames["video"], ffprobe(t, path, "v:0").frames(t))
	require.Equal(t, frames["audio"], ffprobe(t, path, "a:0").frames(t))

	cat, err := MoqRSCatalog("live/cam1", tracks)
	require.NoError(t, err)
	var c struct {
		Version int `json:"version"`
		Tracks  []struct {
			Name            string `json:"name"`
			InitTrack       string `json:"initTrack"`
			SelectionParams struct {
				Codec         string `json:"codec"`
				Width         int    `json:"width"`
				ChannelConfig string `json:"channelConfig"`
			} `json:"selectionParams"`
		} `json:"tracks"`
	}
	require.NoError(t, json.Unmarshal(cat, &c), "%s", cat)
	require.Equal(t, 1, c.Version)
	require.Len(t, c.Tracks, 2)
	require.Equal(t, "1.m4s", c.Tracks[0].Name)
	require.Equal(t, MoqRSInitTrack, c.Tracks[0].InitTrack)
	require.Equal(t, 320, c.Tracks[0].SelectionParams.Width)
	require.Equal(t, "2", c.Tracks[1].SelectionParams.ChannelConfig)
}

func TestRetrackChunkRefusesJunk(t *testing.T) {
	for _, b := range [][]byte{nil, {0, 0, 0, 9, 'm', 'o', 'o', 'f'}, {0, 0, 0, 8, 'm', 'd', 'a', 't'}, {0, 0, 0, 16, 'm', 'o', 'o', 'f', 0, 0, 0, 8, 't', 'r', 'a', 'f'}} {
		got, err := RetrackChunk([]byte("x"), b, 2)
		require.Error(t, err, "%x", b)
		require.Equal(t, []byte("x"), got, "dst unchanged")
	}
}

// FuzzRetrackChunk: any input gets an error or a copy of the same length.
func FuzzRetrackChunk(f *testing.F) {
	f.Add([]byte{0, 0, 0, 32, 'm', 'o', 'o', 'f', 0, 0, 0, 24, 't', 'r', 'a', 'f', 0, 0, 0, 16, 't', 'f', 'h', 'd', 0, 2, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := RetrackChunk(nil, b, 7)
		if err == nil {
			require.Len(t, got, len(b))
		}
	})
}
