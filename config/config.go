// Package config is the gateway's configuration: defaults that run out of
// the box, a YAML file, MOQGW_* environment overrides and a Validate that
// reports every problem at once. Only the commands import it; the packages
// it configures take plain values.
package config

import (
	"io"
	"log/slog"
	"time"
)

// Config is the whole configuration. YAML keys are the lower-case names in
// the tags; every scalar can also be set from the environment as MOQGW_
// followed by the key path in upper case joined by underscores
// (MOQGW_RTMP_LISTEN, MOQGW_LOG_FORMAT).
type Config struct {
	Log      Log          `yaml:"log"`
	RTMP     RTMP         `yaml:"rtmp"`
	SRT      SRT          `yaml:"srt"`
	RTSP     RTSP         `yaml:"rtsp"`
	MoQ      MoQ          `yaml:"moq"`
	TLS      TLS          `yaml:"tls"`
	HTTP     HTTP         `yaml:"http"`
	Packager Packager     `yaml:"packager"`
	Streams  []StreamRule `yaml:"streams"`
	// Tokens are the keys that sign the JWTs subscribers (and publishers)
	// may present.
	Tokens []TokenKey `yaml:"tokens"`
	// AuthHook, when its URL is set, decides every publish and read.
	AuthHook AuthHook `yaml:"auth_hook"`
	// Grace is how long a stream waits for its publisher to reconnect.
	Grace Duration `yaml:"grace"`
	// Relays are upstream MoQ relays every stream (or a selection) is
	// published to.
	Relays []Relay `yaml:"relays"`
}

// Log configures logging.
type Log struct {
	Format string `yaml:"format"` // text or json
	Level  string `yaml:"level"`  // debug, info, warn, error
}

// NewLogger builds the slog logger l describes, writing to w (text format
// and info level when unset or unknown).
func (l Log) NewLogger(w io.Writer) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// RTMP configures the RTMP listeners.
type RTMP struct {
	Listen string `yaml:"listen"` // "" disables RTMP
	// RTMPSListen serves RTMPS when tls.cert is set.
	RTMPSListen string `yaml:"rtmps_listen"`
	// MaxConnsPerIP bounds the connections one address may hold (RTMP and
	// RTMPS together); 0 means 32, -1 no bound.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
}

// SRT configures the SRT listener.
type SRT struct {
	Listen  string   `yaml:"listen"` // "" disables SRT
	Latency Duration `yaml:"latency"`
	// MaxConnsPerIP bounds the connections one address may hold, and the
	// rate of new ones; 0 means 32, -1 no bound.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
}

// RTSP configures the RTSP listeners.
type RTSP struct {
	Listen string `yaml:"listen"` // "" disables RTSP
	// UDPRTP and UDPRTCP enable the UDP transport; empty means TCP only.
	UDPRTP  string `yaml:"udp_rtp"`
	UDPRTCP string `yaml:"udp_rtcp"`
	// RTSPSListen serves RTSPS when tls.cert is set.
	RTSPSListen string `yaml:"rtsps_listen"`
	// MaxConnsPerIP bounds the connections one address may hold; 0 means
	// 32, -1 no bound.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
}

// MoQ configures the MoQ server.
type MoQ struct {
	Listen           string `yaml:"listen"` // UDP; "" disables serving subscribers
	WebTransportPath string `yaml:"webtransport_path"`
	// AudioDelivery is "stream" or "datagram".
	AudioDelivery string `yaml:"audio_delivery"`
	// MaxConnsPerIP bounds the QUIC connections (raw QUIC and
	// WebTransport) one address may hold, and the rate of new ones; 0
	// means 256 (an office of viewers behind one NAT), -1 no bound.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
}

// TLS holds the certificate of the MoQ server (and RTMPS/RTSPS). Without
// one, the gateway generates a self-signed ECDSA certificate at start,
// valid for less than 14 days so browsers accept its SHA-256 hash.
type TLS struct {
	Cert string `yaml:"cert"` // PEM file
	Key  string `yaml:"key"`  // PEM file
	// Hosts are the names and addresses of the self-signed certificate.
	Hosts []string `yaml:"hosts"`
}

// HTTP configures the status, metrics and health endpoints.
type HTTP struct {
	Listen string `yaml:"listen"` // "" disables
	// Pprof serves /debug/pprof on the same listener.
	Pprof bool `yaml:"pprof"`
}

// Packager configures CMAF packaging.
type Packager struct {
	// ProducerReferenceTime puts a prft box (wall clock at ingest) in every
	// chunk so players and the load tool can measure latency.
	ProducerReferenceTime bool `yaml:"prft"`
	// ExactDurations holds one video frame back to write exact sample
	// durations, at one frame of latency.
	ExactDurations bool `yaml:"exact_durations"`
}

// StreamRule allows publishing on a path. With no rules at all, publishing
// is open to anyone.
type StreamRule struct {
	// Path is "live/cam1", "live/*" (every path below live/) or "*".
	Path string `yaml:"path"`
	// Key is a stream key: accepted as ?key=, as a password with any user
	// name, or as SRT's s=.
	Key string `yaml:"key"`
	// User and Pass require both (RTSP basic auth, ?user=&pass=, SRT u= s=).
	User string `yaml:"user"`
	Pass string `yaml:"pass"`
	// Passphrase is the SRT encryption passphrase (10–79 bytes).
	Passphrase string `yaml:"passphrase"`
	// Policy is "replace" (default) or "reject" for a second publisher.
	Policy string `yaml:"policy"`
	// Relays names the relays this path goes to; empty means all.
	Relays []string `yaml:"relays"`
	// Read is who may watch over MoQ: "open" (default), "key" (ReadKey
	// as AUTHORIZATION_TOKEN or ?jwt=) or "token" (a JWT signed by one of
	// tokens whose get claim covers the path).
	Read string `yaml:"read"`
	// ReadKey is the viewers' key for read: key; it must differ from the
	// publish key, which a viewer must not learn.
	ReadKey string `yaml:"read_key"`
}

// AuthHook is an HTTP endpoint asked before each publish and read: a POST
// of JSON {action, protocol, path, user, password, tokens, remote}; 2xx
// allows.
type AuthHook struct {
	URL     string   `yaml:"url"`
	Timeout Duration `yaml:"timeout"` // default 2s
}

// TokenKey is a key that signs JWTs in moq-dev's scheme (claims root,
// put, get, exp).
type TokenKey struct {
	// Alg is HS256 or EdDSA.
	Alg string `yaml:"alg"`
	// Secret is the HS256 secret (at least 16 bytes), or SecretFile names
	// a file holding it.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// PublicKey is the Ed25519 public key as base64 (standard or URL) of
	// its 32 bytes, or PublicKeyFile a PEM "PUBLIC KEY" file.
	PublicKey     string `yaml:"public_key"`
	PublicKeyFile string `yaml:"public_key_file"`
}

// Relay is an upstream MoQ relay.
type Relay struct {
	Name string `yaml:"name"`
	// URL is moqt://host:port[/path] (raw QUIC) or https://host[:port]/path
	// (WebTransport).
	URL string `yaml:"url"`
	// Draft is auto (the newest both sides speak), 14, 16, 18 or 19.
	Draft string `yaml:"draft"`
	// Token is sent as AUTHORIZATION_TOKEN in SETUP and PUBLISH_NAMESPACE.
	Token string `yaml:"token"`
	// NamespacePrefix is prepended to each stream's namespace ("a/b").
	NamespacePrefix string `yaml:"namespace_prefix"`
	// TLS is "system" (default), "insecure", or a CA file path.
	TLS string `yaml:"tls"`
	// Sessions spreads the streams over at least this many parallel
	// sessions; against a moq-rs draft-14 relay (50 announced namespaces
	// per session) more are opened as needed.
	Sessions int `yaml:"sessions"`
	// Quirks is "" or "moq-rs": never send MAX_REQUEST_ID,
	// REQUESTS_BLOCKED or GOAWAY, at most 50 requests per session
	// (detected automatically from the relay's MOQT_IMPLEMENTATION too).
	Quirks string `yaml:"quirks"`
}

// Duration is a time.Duration written as "10s" in YAML and the environment.
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText formats the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Default is the configuration `moq-gateway` runs with when given nothing.
func Default() Config {
	return Config{
		Log:      Log{Format: "text", Level: "info"},
		RTMP:     RTMP{Listen: ":1935", RTMPSListen: ":1936"},
		SRT:      SRT{Listen: ":8890", Latency: Duration(120 * time.Millisecond)},
		RTSP:     RTSP{Listen: ":8554", UDPRTP: ":8000", UDPRTCP: ":8001", RTSPSListen: ":8322"},
		MoQ:      MoQ{Listen: ":4443", WebTransportPath: "/moq", AudioDelivery: "stream"},
		TLS:      TLS{Hosts: []string{"localhost", "127.0.0.1", "::1"}},
		HTTP:     HTTP{Listen: "127.0.0.1:9090"},
		Packager: Packager{ProducerReferenceTime: true},
		Grace:    Duration(10 * time.Second),
	}
}
