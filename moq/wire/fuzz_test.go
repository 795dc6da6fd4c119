package wire

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false,
	"rewrite testdata/fuzz/*/seed-* from the test vector tables")

// TestWriteFuzzSeeds writes every test vector as a seed file, so that the
// committed corpora under testdata/fuzz start from the vectors of the draft
// text; plain go test replays them (and whatever fuzzing added there).
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateFuzzSeeds {
		t.Skip("run with -update-fuzz-seeds")
	}
	type seed struct {
		target, name string
		data         []byte
		v            Version
	}
	var seeds []seed
	for _, c := range allControlCases() {
		target := "FuzzControl14"
		if c.v == Draft16 {
			target = "FuzzControl16"
		}
		seeds = append(seeds, seed{target, c.name, c.wire, 0})
	}
	for _, c := range subgroupCases {
		seeds = append(seeds, seed{"FuzzSubgroupStream", c.name, c.wire, c.v})
	}
	for _, c := range datagramCases {
		seeds = append(seeds, seed{"FuzzDatagram", c.name, c.wire, c.v})
	}
	for _, c := range fetchStreamCases {
		seeds = append(seeds, seed{"FuzzFetchStream", c.name, c.wire, c.v})
	}
	for _, c := range keyValuesCases {
		seeds = append(seeds, seed{"FuzzKeyValues", c.name, c.wire, c.v})
	}
	for _, s := range seeds {
		dir := filepath.Join("testdata", "fuzz", s.target)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.data)
		if s.v != 0 {
			body += fmt.Sprintf("bool(%t)\n", s.v == Draft16)
		}
		name := "seed-" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, s.name)
		if s.v != 0 {
			name += "-" + s.v.String()
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
}
