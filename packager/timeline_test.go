package packager

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClockToMedia(t *testing.T) {
	tests := []struct {
		name           string
		srcRate, media uint64
		in, want       int64
	}{
		{"same rate", 90000, 90000, 12345, 12345},
		{"rtmp ms to 90k", 1000, 90000, 33, 2970},
		{"90k to 44.1k floors", 90000, 44100, 1920, 940}, // 940.8
		{"negative floors", 90000, 44100, -1920, -941},
		{"ms to 48k", 1000, 48000, 21, 1008},
		{"large distance", 90000, 48000, 90000 * 86400 * 365, 48000 * 86400 * 365},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock{srcRate: tt.srcRate, mediaRate: tt.media}
			got, ok := c.toMedia(tt.in)
			require.True(t, ok)
			require.Equal(t, tt.want, got)
		})
	}
	c := clock{srcRate: 1, mediaRate: 90000, src: -1 << 62}
	_, ok := c.toMedia(1 << 62)
	require.False(t, ok, "overflowing distance")
}

func TestVideoTimeline(t *testing.T) {
	type frame struct{ dts, pts int64 }
	type want struct {
		dts   int64
		cto   int32
		dur   uint32
		delta uint32
		ev    timelineEvent
	}
	tests := []struct {
		name   string
		frames []frame
		want   []want
	}{
		{
			// ffmpeg's FLV muxer: B-frame streams start with two frames at
			// DTS 0; ms timestamps become 90 kHz.
			name:   "flv b-frames",
			frames: []frame{{0, 67}, {0, 133}, {33, 100}, {67, 200}, {100, 167}},
			want: []want{
				{0, 6030, 3000, 0, eventNone},
				{1, 11969, 3000, 1, eventClamped},
				{2970, 6030, 2969, 2969, eventNone},
				{6030, 11970, 3060, 3060, eventNone},
				{9000, 6030, 2970, 2970, eventNone},
			},
		},
		{
			name:   "jump forward",
			frames: []frame{{0, 0}, {33, 33}, {20000, 20000}, {20033, 20033}},
			want: []want{
				{0, 0, 3000, 0, eventNone},
				{2970, 0, 2970, 2970, eventNone},
				{5940, 0, 2970, 2970, eventReanchor},
				{8910, 0, 2970, 2970, eventNone},
			},
		},
		{
			name:   "jump backward",
			frames: []frame{{5000, 5000}, {5033, 5033}, {100, 100}, {133, 133}},
			want: []want{
				{0, 0, 3000, 0, eventNone},
				{2970, 0, 2970, 2970, eventNone},
				{5940, 0, 2970, 2970, eventReanchor},
				{8910, 0, 2970, 2970, eventNone},
			},
		},
		{
			name:   "small step back clamps",
			frames: []frame{{0, 0}, {40, 40}, {30, 30}, {80, 80}},
			want: []want{
				{0, 0, 3000, 0, eventNone},
				{3600, 0, 3600, 3600, eventNone},
				{3601, -901, 3600, 1, eventClamped},
				{7200, 0, 3599, 3599, eventNone},
			},
		},
		{
			name:   "garbage pts",
			frames: []frame{{0, 1 << 40}},
			want:   []want{{0, 0, 3000, 0, eventBadCTO}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := videoTimeline{clk: clock{srcRate: 1000, mediaRate: videoTimescale}, dur: 3000}
			v.anchor(tt.frames[0].dts, 0)
			for i, f := range tt.frames {
				p := v.place(f.dts, f.pts)
				w := tt.want[i]
				require.Equal(t, videoPlace{dts: w.dts, cto: w.cto, dur: w.dur, delta: w.delta, event: w.ev}, p, "frame %d", i)
			}
		})
	}
}

func TestAudioTimeline(t *testing.T) {
	const frame = 1024
	// rtmpMS is the millisecond timestamp RTMP gives AAC frame n at 44.1
	// kHz, with the jitter of a real encoder's rounding.
	rtmpMS := func(n int64, jitter int64) int64 { return n*frame*1000/44100 + jitter }
	tests := []struct {
		name  string
		dts   []int64
		wantT []int64 // -1: dropped
		wantE []timelineEvent
	}{
		{
			name:  "rtmp jitter keeps the count",
			dts:   []int64{rtmpMS(0, 0), rtmpMS(1, 1), rtmpMS(2, -1), rtmpMS(3, 0), rtmpMS(4, 2)},
			wantT: []int64{0, 1024, 2048, 3072, 4096},
			wantE: []timelineEvent{eventNone, eventNone, eventNone, eventNone, eventNone},
		},
		{
			name:  "gap resyncs",
			dts:   []int64{rtmpMS(0, 0), rtmpMS(1, 0), rtmpMS(10, 0), rtmpMS(11, 0)},
			wantT: []int64{0, 1024, 10231, 11255}, // 232 ms is 10231.2 samples
			wantE: []timelineEvent{eventNone, eventNone, eventResync, eventNone},
		},
		{
			name:  "source behind drops",
			dts:   []int64{rtmpMS(0, 0), rtmpMS(1, 0), rtmpMS(2, 0), rtmpMS(0, 0), rtmpMS(3, 0)},
			wantT: []int64{0, 1024, 2048, -1, 3072},
			wantE: []timelineEvent{eventNone, eventNone, eventNone, eventAudioLate, eventNone},
		},
		{
			name:  "jump continues the count",
			dts:   []int64{rtmpMS(0, 0), rtmpMS(1, 0), 60000, 60000 + 23},
			wantT: []int64{0, 1024, 2048, 3072},
			wantE: []timelineEvent{eventNone, eventNone, eventReanchor, eventNone},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := audioTimeline{clk: clock{srcRate: 1000, mediaRate: 44100}}
			a.anchor(tt.dts[0], 0)
			for i, d := range tt.dts {
				tm, ev := a.place(d, frame)
				require.Equal(t, tt.wantE[i], ev, "frame %d", i)
				if tt.wantT[i] >= 0 {
					require.Equal(t, tt.wantT[i], tm, "frame %d", i)
				}
			}
		})
	}
}

func TestAudioRescale(t *testing.T) {
	a := audioTimeline{clk: clock{srcRate: 1000, mediaRate: 48000}, started: true, next: 48001}
	a.rescale(44100)
	require.EqualValues(t, 44101, a.next, "rounds up: never rewinds")
	require.EqualValues(t, 44100, a.clkRate())
}

func TestAnchorTicks(t *testing.T) {
	origin := big.NewRat(1000, 1000) // the first frame out was at source time 1 s
	resume := big.NewRat(1_700_000_000_500, 1000)
	// A 90 kHz frame 0.5 s after the origin lands 0.5 s after resume.
	require.EqualValues(t, (1_700_000_000_500+500)*90, anchorTicks(135000, 90000, 90000, origin, resume))
	// 44.1 kHz floors.
	require.EqualValues(t, 74970000044100, anchorTicks(1500, 1000, 44100, origin, resume))
	require.Zero(t, anchorTicks(0, 1000, 90000, origin, big.NewRat(0, 1)), "negative clamps to 0")
}

func TestAtOrAfter(t *testing.T) {
	require.True(t, atOrAfter(48000, 48000, 90000, 90000))
	require.False(t, atOrAfter(47999, 48000, 90000, 90000))
	require.True(t, atOrAfter(1<<62, 48000, 1<<62, 90000))
	require.False(t, atOrAfter(-1, 48000, 0, 90000))
	require.True(t, atOrAfter(0, 48000, -5, 90000))
	require.True(t, atOrAfter(-1, 1, -2, 1))
}
