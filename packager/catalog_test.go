package packager

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseCatalog(t *testing.T) {
	initB64 := base64.StdEncoding.EncodeToString([]byte("init"))
	tests := []struct {
		name    string
		in      string
		check   func(t *testing.T, c *Catalog)
		wantErr string
	}{
		{
			name: "draft-01 with unknown fields",
			in: `{"version":"draft-01","generatedAt":1756728000000,"future":{"x":1},
				"tracks":[{"name":"video","packaging":"cmaf","isLive":true,"role":"video","codec":"avc1.64001F",
				"width":1280,"height":720,"framerate":29.97,"bitrate":3000000,"initRef":"i1","newField":[1]},
				{"name":"audio","packaging":"cmaf","isLive":true,"samplerate":48000,"channelConfig":"2","initRef":"i2"}],
				"initDataList":[{"id":"i1","type":"inline","data":"` + initB64 + `"},{"id":"i2","type":"url","data":"x"}]}`,
			check: func(t *testing.T, c *Catalog) {
				require.EqualValues(t, "draft-01", c.Version)
				require.Len(t, c.Tracks, 2)
				v := c.Track("video")
				require.Equal(t, 29.97, v.Framerate)
				init, err := c.Init(v)
				require.NoError(t, err)
				require.Equal(t, []byte("init"), init)
				_, err = c.Init(c.Track("audio"))
				require.ErrorContains(t, err, `of type "url"`)
				require.Nil(t, c.Track("nope"))
			},
		},
		{
			name: "draft-00 numeric version and inline initData",
			in:   `{"version":1,"tracks":[{"name":"v","packaging":"cmaf","initData":"` + initB64 + `"}]}`,
			check: func(t *testing.T, c *Catalog) {
				require.EqualValues(t, "1", c.Version)
				init, err := c.Init(&c.Tracks[0])
				require.NoError(t, err)
				require.Equal(t, []byte("init"), init)
			},
		},
		{
			name: "delta update",
			in:   `{"version":"draft-01","generatedAt":2,"deltaUpdate":[{"op":"remove","name":"audio"}]}`,
			check: func(t *testing.T, c *Catalog) {
				require.Len(t, c.DeltaUpdate, 1)
				require.Empty(t, c.Tracks)
			},
		},
		{
			name: "missing init",
			in:   `{"version":"draft-01","tracks":[{"name":"v","packaging":"cmaf","initRef":"gone"},{"name":"w","packaging":"loc"}]}`,
			check: func(t *testing.T, c *Catalog) {
				_, err := c.Init(c.Track("v"))
				require.ErrorIs(t, err, ErrNoInit)
				_, err = c.Init(c.Track("w"))
				require.ErrorIs(t, err, ErrNoInit)
			},
		},
		{name: "no version", in: `{"tracks":[{"name":"v","packaging":"cmaf"}]}`, wantErr: "no version"},
		{name: "version object", in: `{"version":{},"tracks":[]}`, wantErr: "neither string nor integer"},
		{name: "no tracks", in: `{"version":"draft-01"}`, wantErr: "no tracks"},
		{name: "unnamed track", in: `{"version":"draft-01","tracks":[{"packaging":"cmaf"}]}`, wantErr: "no name"},
		{name: "no packaging", in: `{"version":"draft-01","tracks":[{"name":"v"}]}`, wantErr: "no packaging"},
		{
			name:    "duplicate track",
			in:      `{"version":"draft-01","tracks":[{"name":"v","packaging":"cmaf"},{"name":"v","packaging":"cmaf"}]}`,
			wantErr: "duplicate",
		},
		{name: "trailing data", in: `{"version":"draft-01","isComplete":true} {}`, wantErr: "trailing"},
		{name: "not json", in: `version: 1`, wantErr: "catalog"},
		{name: "too large", in: `{"version":"` + strings.Repeat("x", maxCatalogLen) + `"}`, wantErr: "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCatalog([]byte(tt.in))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestCatalogVersionJSON(t *testing.T) {
	for _, tt := range []struct {
		v    CatalogVersion
		json string
	}{
		{"draft-01", `"draft-01"`},
		{"1", `1`},
		{"01", `"01"`},
	} {
		b, err := tt.v.MarshalJSON()
		require.NoError(t, err)
		require.JSONEq(t, tt.json, string(b))
	}
}
