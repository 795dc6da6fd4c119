// Package buildinfo names the build of moq-gateway that is running.
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// Version is the module version (v1.2.3) of a released build, else the
// commit it was built from ("1a2b3c4d5e6f", "-dirty" with uncommitted
// changes), else "devel".
var Version = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return version(bi)
})

func version(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "devel"
	}
	return rev[:min(len(rev), 12)] + dirty
}
