package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moqgw/moq-gateway/config"
	"github.com/moqgw/moq-gateway/ingest"
	"github.com/moqgw/moq-gateway/moq"
	"github.com/moqgw/moq-gateway/moq/wire"
)

// relaySet publishes the origin to every configured relay.
type relaySet struct {
	ups []*moq.Upstream
	log *slog.Logger
	err error
}

type relayStatus struct {
	Name       string    `json:"name"`
	URL        string    `json:"url"`
	Connected  bool      `json:"connected"`
	Version    string    `json:"version,omitempty"`
	Since      time.Time `json:"since,omitzero"`
	Reconnects int       `json:"reconnects"`
	BytesSent  uint64    `json:"bytes_sent"`
	LastError  string    `json:"last_error,omitempty"`
	Session    int       `json:"session"`
	Streams    int       `json:"streams"`
}

func relayTLS(r config.Relay) (*tls.Config, error) {
	switch r.TLS {
	case "", "system":
		return nil, nil
	case "insecure":
		return &tls.Config{InsecureSkipVerify: true}, nil //nolint:gosec // asked for by configuration, for development relays
	default:
		pem, err := os.ReadFile(r.TLS)
		if err != nil {
			return nil, fmt.Errorf("relay %s: CA file: %w", r.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("relay %s: no certificate in %s", r.Name, r.TLS)
		}
		return &tls.Config{RootCAs: pool}, nil
	}
}

func relayVersions(draft string) []wire.Version {
	switch draft {
	case "14":
		return []wire.Version{wire.Draft14}
	case "16":
		return []wire.Version{wire.Draft16}
	case "18":
		return []wire.Version{wire.Draft18}
	case "19":
		return []wire.Version{wire.Draft19}
	default:
		return nil // every draft, the newest preferred
	}
}

// newRelaySet builds an Upstream per relay. A stream rule's relays list
// selects the relays of its paths; paths without one go to every relay.
func newRelaySet(cfg config.Config, origin *moq.Origin, log *slog.Logger) *relaySet {
	rs := &relaySet{log: log}
	selection := make([]config.StreamRule, 0, len(cfg.Streams))
	for _, s := range cfg.Streams {
		if len(s.Relays) > 0 {
			selection = append(selection, s)
		}
	}
	auth := ingest.NewAuth(authRules(cfg))
	for i, r := range cfg.Relays {
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("relay%d", i)
		}
		tlsConf, err := relayTLS(r)
		if err != nil {
			rs.err = err
			continue
		}
		var prefix moq.Namespace
		if r.NamespacePrefix != "" {
			prefix = moq.Namespace(strings.Split(strings.Trim(r.NamespacePrefix, "/"), "/"))
		}
		filter := func(ns moq.Namespace) bool {
			rule, ok := auth.Rule(ns.String())
			if !ok || len(selection) == 0 {
				return true
			}
			for _, s := range selection {
				if s.Path == rule.Path {
					for _, n := range s.Relays {
						if n == name {
							return true
						}
					}
					return false
				}
			}
			return true
		}
		rs.ups = append(rs.ups, moq.NewUpstream(origin, moq.UpstreamConfig{
			Name: name, URL: r.URL, Versions: relayVersions(r.Draft), Token: r.Token,
			NamespacePrefix: prefix, Filter: filter, TLSConfig: tlsConf,
			Sessions: r.Sessions, MoqRSDraft14: r.Quirks == "moq-rs",
			Logger: log.With("component", "relay"),
		}))
	}
	return rs
}

func (rs *relaySet) run(ctx context.Context) error {
	if rs.err != nil {
		return rs.err
	}
	var wg sync.WaitGroup
	for _, u := range rs.ups {
		wg.Go(func() { _ = u.Run(ctx) })
	}
	wg.Wait()
	return nil
}

func (rs *relaySet) status() []relayStatus {
	out := []relayStatus{}
	for _, u := range rs.ups {
		for _, st := range u.Status() {
			out = append(out, relayStatus{
				Name: st.Name, URL: st.URL, Connected: st.Connected, Version: st.Version, Since: st.Since,
				Reconnects: st.Reconnects, BytesSent: st.BytesSent, LastError: st.LastError,
				Session: st.Session, Streams: st.Broadcasts,
			})
		}
	}
	return out
}
