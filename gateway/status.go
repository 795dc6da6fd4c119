package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/moqgw/moq-gateway/moq"
)

// statusHandler serves /health, /status (JSON: streams, MoQ sessions,
// relays), /metrics (Prometheus) and, when enabled, /debug/pprof.
func (g *Gateway) statusHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), g)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(g.status())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if g.cfg.HTTP.Pprof {
		// Profiles for performance reports, on request only: they expose
		// the process's internals.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// statusDoc is the /status document.
type statusDoc struct {
	Streams  []streamStatus  `json:"streams"`
	Sessions []sessionStatus `json:"sessions"`
	Relays   []relayStatus   `json:"relays"`
}

type streamStatus struct {
	Path      string    `json:"path"`
	Publisher string    `json:"publisher,omitempty"`
	Proto     string    `json:"proto,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Tracks    []string  `json:"tracks"`
	Frames    uint64    `json:"frames"`
	Replaced  int       `json:"replaced"`
}

type sessionStatus struct {
	Remote        string `json:"remote"`
	Transport     string `json:"transport"`
	Version       string `json:"version"`
	Peer          string `json:"peer_implementation,omitempty"`
	Subscriptions int    `json:"subscriptions"`
	ObjectsSent   uint64 `json:"objects_sent"`
	BytesSent     uint64 `json:"bytes_sent"`
	GroupsDropped uint64 `json:"groups_dropped"`
}

func sessionInfo(s *moq.Session) sessionStatus {
	st := s.Stats()
	return sessionStatus{
		Remote: s.RemoteAddr().String(), Transport: s.Transport(), Version: s.Version().String(),
		Peer: s.PeerImplementation(), Subscriptions: st.Subscriptions,
		ObjectsSent: st.ObjectsSent, BytesSent: st.BytesSent, GroupsDropped: st.GroupsDropped,
	}
}

func (g *Gateway) status() statusDoc {
	doc := statusDoc{Streams: []streamStatus{}, Sessions: []sessionStatus{}, Relays: g.relays.status()}
	for _, s := range g.reg.Streams() {
		doc.Streams = append(doc.Streams, streamStatus{
			Path: s.Path, Publisher: s.Publisher, Proto: s.Proto, Since: s.Since,
			Tracks: s.Tracks, Frames: s.Frames, Replaced: s.Replaced,
		})
	}
	if g.moq != nil {
		for _, s := range g.moq.Sessions() {
			doc.Sessions = append(doc.Sessions, sessionInfo(s))
		}
	}
	return doc
}

var (
	descStreams     = prometheus.NewDesc("moqgw_streams", "Live streams.", nil, nil)
	descPublishers  = prometheus.NewDesc("moqgw_publishers", "Streams with a connected publisher.", nil, nil)
	descFrames      = prometheus.NewDesc("moqgw_ingest_frames_total", "Frames ingested, by protocol.", []string{"proto"}, nil)
	descBytesIn     = prometheus.NewDesc("moqgw_ingest_bytes_total", "Bytes received from publishers, by protocol.", []string{"proto"}, nil)
	descRejected    = prometheus.NewDesc("moqgw_ingest_rejected_total", "Publishers refused (auth, policy, limits), by protocol.", []string{"proto"}, nil)
	descAuthFail    = prometheus.NewDesc("moqgw_ingest_auth_failures_total", "Failed publisher authentications, by protocol.", []string{"proto"}, nil)
	descSessions    = prometheus.NewDesc("moqgw_moq_sessions", "MoQ sessions served, by transport and version.", []string{"transport", "version"}, nil)
	descSubs        = prometheus.NewDesc("moqgw_moq_subscriptions", "Active MoQ subscriptions served.", nil, nil)
	descObjectsOut  = prometheus.NewDesc("moqgw_moq_objects_sent_total", "Objects sent to MoQ subscribers.", nil, nil)
	descBytesOut    = prometheus.NewDesc("moqgw_moq_bytes_sent_total", "Payload bytes sent to MoQ subscribers.", nil, nil)
	descGroupsDrop  = prometheus.NewDesc("moqgw_moq_groups_dropped_total", "Whole groups slow MoQ subscribers lost.", nil, nil)
	descRelayUp     = prometheus.NewDesc("moqgw_relay_connected", "1 when every session to the relay is up.", []string{"relay"}, nil)
	descRelayRetry  = prometheus.NewDesc("moqgw_relay_reconnects_total", "Relay reconnects.", []string{"relay"}, nil)
	descDecodeError = prometheus.NewDesc("moqgw_ingest_decode_errors_total", "Corrupt input skipped (SRT MPEG-TS).", []string{"proto"}, nil)
)

// Describe implements prometheus.Collector.
func (g *Gateway) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descStreams, descPublishers, descFrames, descBytesIn, descRejected, descAuthFail,
		descSessions, descSubs, descObjectsOut, descBytesOut, descGroupsDrop, descRelayUp, descRelayRetry, descDecodeError,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: figures are read at scrape time.
func (g *Gateway) Collect(ch chan<- prometheus.Metric) {
	streams := g.reg.Streams()
	pubs := 0
	for _, s := range streams {
		if s.Publisher != "" {
			pubs++
		}
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descStreams, float64(len(streams)))
	gauge(descPublishers, float64(pubs))
	for _, s := range g.rtmp {
		st := s.Stats()
		proto := "rtmp"
		if s.TLSConfig != nil {
			proto = "rtmps"
		}
		counter(descFrames, float64(st.Frames), proto)
		counter(descBytesIn, float64(st.BytesReceived), proto)
		counter(descRejected, float64(st.Rejected), proto)
		counter(descAuthFail, float64(st.AuthFailures), proto)
	}
	if g.srt != nil {
		st := g.srt.Stats()
		counter(descFrames, float64(st.Frames), "srt")
		counter(descBytesIn, float64(st.Bytes), "srt")
		counter(descRejected, float64(st.Rejected), "srt")
		counter(descAuthFail, float64(st.AuthFailures), "srt")
		counter(descDecodeError, float64(st.DecodeErrors), "srt")
	}
	for _, s := range g.rtsp {
		st := s.Stats()
		proto := "rtsp"
		if s.TLSConfig != nil {
			proto = "rtsps"
		}
		counter(descFrames, float64(st.Frames), proto)
		counter(descBytesIn, float64(st.Bytes), proto)
		counter(descRejected, float64(st.RefusedConns), proto)
		counter(descAuthFail, float64(st.AuthFailures), proto)
	}
	if g.moq != nil {
		type key struct{ transport, version string }
		n := map[key]int{}
		for _, s := range g.moq.Sessions() {
			n[key{s.Transport(), s.Version().String()}]++
		}
		for k, v := range n {
			gauge(descSessions, float64(v), k.transport, k.version)
		}
		t := g.moq.Totals()
		gauge(descSubs, float64(t.Subscriptions))
		counter(descObjectsOut, float64(t.ObjectsSent))
		counter(descBytesOut, float64(t.BytesSent))
		counter(descGroupsDrop, float64(t.GroupsDropped))
	}
	// A relay may have several sessions: up means all of them are.
	type relayAgg struct {
		up         bool
		reconnects int
	}
	relays := map[string]*relayAgg{}
	for _, r := range g.relays.status() {
		a := relays[r.Name]
		if a == nil {
			a = &relayAgg{up: true}
			relays[r.Name] = a
		}
		a.up = a.up && r.Connected
		a.reconnects += r.Reconnects
	}
	for name, a := range relays {
		up := 0.0
		if a.up {
			up = 1
		}
		gauge(descRelayUp, up, name)
		counter(descRelayRetry, float64(a.reconnects), name)
	}
}
