package rtmp

import (
	"net/url"
	"strings"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
)

// target is where a publisher asked to publish and the credentials it put in
// its URL.
type target struct {
	path  string
	creds ingest.Credentials
}

// hasCreds reports whether the URL carried ?user=, ?pass= or ?key=.
func (t target) hasCreds() bool { return t.creds.User != "" || t.creds.Pass != "" }

// Query parameters that carry credentials. A stream key is a password with
// any user name (ingest.Credentials).
const (
	paramUser = "user"
	paramPass = "pass"
	paramKey  = "key"
)

// parseTarget joins the connect command's tcUrl (or its app when the tcUrl is
// missing) with the publish command's stream name, the way publishers split
// one URL between them:
//
//	OBS      Server rtmp://h/live            Key cam1?key=k  → live/cam1
//	OBS      Server rtmp://h/live?key=k      Key cam1        → live/cam1
//	OBS      Server rtmp://h/live/cam1?key=k Key (empty)     → live/cam1
//	ffmpeg   rtmp://h/live/cam1?key=k  (tcUrl rtmp://h/live, name cam1?key=k)
//
// The query of either part is never part of the path; parameters of the
// stream name win over those of the tcUrl. Adobe authentication parameters
// (authmod=adobe&user=…) in the tcUrl are not credentials here: adobe.go
// verifies them.
func parseTarget(tcURL, app, name string) (target, error) {
	basePath, baseQuery := connectPath(tcURL, app)
	namePath, nameQuery, _ := strings.Cut(name, "?")

	q := make(map[string]string)
	parseQuery(baseQuery, q)
	if q["authmod"] != "" {
		// The user= of an Adobe login is not a ?user= credential.
		for _, k := range adobeParams {
			delete(q, k)
		}
	}
	parseQuery(nameQuery, q)

	path, err := config.CleanPath(basePath + "/" + namePath)
	if err != nil {
		return target{}, err
	}
	t := target{path: path, creds: ingest.Credentials{User: q[paramUser], Pass: q[paramPass]}}
	if t.creds.Pass == "" {
		t.creds.Pass = q[paramKey]
	}
	return t, nil
}

// connectPath splits the connect command's tcUrl ("rtmp://host:1935/live?a=b")
// into its path and query. Without a usable tcUrl it falls back to app, which
// holds the same path without scheme and host. It is deliberately lenient:
// publishers send what users typed, escaped or not.
func connectPath(tcURL, app string) (path, query string) {
	u := strings.Trim(strings.TrimSpace(tcURL), `'"`)
	if _, rest, ok := strings.Cut(u, "://"); ok {
		// Skip the authority: everything up to the first '/' or '?'.
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			path, query, _ = strings.Cut(rest[i:], "?")
		}
		path = unescape(path, url.PathUnescape)
		if strings.Trim(path, "/") != "" || query != "" {
			return path, query
		}
	}
	path, query, _ = strings.Cut(app, "?")
	return unescape(path, url.PathUnescape), query
}

// parseQuery adds the parameters of a raw query to into; later ones win.
// Values are unescaped when they are valid escapes and kept as typed
// otherwise; '+' stays '+', since stream keys are not form-encoded.
func parseQuery(raw string, into map[string]string) {
	for kv := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k = unescape(k, url.PathUnescape)
		if k == "" {
			continue
		}
		into[k] = unescape(v, url.PathUnescape)
	}
}

func unescape(s string, f func(string) (string, error)) string {
	if !strings.Contains(s, "%") {
		return s
	}
	if u, err := f(s); err == nil {
		return u
	}
	return s
}
