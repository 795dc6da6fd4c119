package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Validate reports every problem of c at once (errors.Join), so a user
// fixes a config file in one pass.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format: %q is not text or json", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: %q is not debug, info, warn or error", c.Log.Level)
	}
	for _, a := range []struct{ key, addr string }{
		{"rtmp.listen", c.RTMP.Listen},
		{"rtmp.rtmps_listen", c.RTMP.RTMPSListen},
		{"srt.listen", c.SRT.Listen},
		{"rtsp.listen", c.RTSP.Listen},
		{"rtsp.udp_rtp", c.RTSP.UDPRTP},
		{"rtsp.udp_rtcp", c.RTSP.UDPRTCP},
		{"rtsp.rtsps_listen", c.RTSP.RTSPSListen},
		{"moq.listen", c.MoQ.Listen},
		{"http.listen", c.HTTP.Listen},
	} {
		if a.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a.addr); err != nil || port == "" {
			add("%s: %q is not host:port", a.key, a.addr)
		}
	}
	if (c.RTSP.UDPRTP == "") != (c.RTSP.UDPRTCP == "") {
		add("rtsp.udp_rtp and rtsp.udp_rtcp: set both or neither")
	}
	if c.SRT.Latency < 0 || time.Duration(c.SRT.Latency) > 10*time.Second {
		add("srt.latency: %v is outside 0..10s", time.Duration(c.SRT.Latency))
	}
	if !strings.HasPrefix(c.MoQ.WebTransportPath, "/") {
		add("moq.webtransport_path: %q must start with /", c.MoQ.WebTransportPath)
	}
	switch c.MoQ.AudioDelivery {
	case "stream", "datagram":
	default:
		add("moq.audio_delivery: %q is not stream or datagram", c.MoQ.AudioDelivery)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		add("tls.cert and tls.key: set both or neither")
	}
	if c.Grace < 0 {
		add("grace: must not be negative")
	}
	relayNames := map[string]bool{}
	for i, r := range c.Relays {
		errs = append(errs, r.validate(fmt.Sprintf("relays[%d]", i))...)
		if r.Name != "" {
			if relayNames[r.Name] {
				add("relays[%d].name: %q is used twice", i, r.Name)
			}
			relayNames[r.Name] = true
		}
	}
	paths := map[string]bool{}
	for i, s := range c.Streams {
		key := fmt.Sprintf("streams[%d]", i)
		switch {
		case s.Path == "":
			add("%s.path: empty", key)
		case paths[s.Path]:
			add("%s.path: %q is listed twice", key, s.Path)
		default:
			if err := checkPathPattern(s.Path); err != nil {
				add("%s.path: %v", key, err)
			}
		}
		paths[s.Path] = true
		if s.Key != "" && s.Pass != "" {
			add("%s: set key or user/pass, not both", key)
		}
		if s.User != "" && s.Pass == "" {
			add("%s.pass: a user needs a password", key)
		}
		if n := len(s.Passphrase); n != 0 && (n < 10 || n > 79) {
			add("%s.passphrase: SRT passphrases are 10 to 79 bytes, got %d", key, n)
		}
		switch s.Policy {
		case "", "replace", "reject":
		default:
			add("%s.policy: %q is not replace or reject", key, s.Policy)
		}
		for _, name := range s.Relays {
			if !relayNames[name] {
				add("%s.relays: no relay named %q", key, name)
			}
		}
		switch s.Read {
		case "", "open":
		case "key":
			switch s.ReadKey {
			case "":
				add("%s.read: key needs read_key", key)
			case s.Key, s.Pass:
				add("%s.read_key: the same as the publish key would let viewers publish", key)
			}
		case "token":
			if len(c.Tokens) == 0 {
				add("%s.read: token needs a key in tokens", key)
			}
		default:
			add("%s.read: %q is not open, key or token", key, s.Read)
		}
	}
	if u := c.AuthHook.URL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			add("auth_hook.url: %q is not an http(s) URL", u)
		}
	}
	if c.AuthHook.Timeout < 0 {
		add("auth_hook.timeout: negative")
	}
	for i, k := range c.Tokens {
		key := fmt.Sprintf("tokens[%d]", i)
		switch k.Alg {
		case "HS256":
			if (k.Secret == "") == (k.SecretFile == "") {
				add("%s: an HS256 key needs secret or secret_file", key)
			}
		case "EdDSA":
			if (k.PublicKey == "") == (k.PublicKeyFile == "") {
				add("%s: an EdDSA key needs public_key or public_key_file", key)
			}
		default:
			add("%s.alg: %q is not HS256 or EdDSA", key, k.Alg)
		}
	}
	return errors.Join(errs...)
}

// checkPathPattern accepts what ingest.Auth matches: "*", "prefix/*" or a
// clean stream path. Anything else would never match a publisher.
func checkPathPattern(p string) error {
	if p == "*" {
		return nil
	}
	base := strings.TrimSuffix(p, "/*")
	if strings.Contains(base, "*") {
		return fmt.Errorf("%q: * only as the whole path or as the last segment (prefix/*)", p)
	}
	clean, err := CleanPath(base)
	if err != nil {
		return fmt.Errorf("%q: %w", p, err)
	}
	if clean != base {
		return fmt.Errorf("%q: publishers' paths are matched clean; write %q", p, strings.Replace(p, base, clean, 1))
	}
	return nil
}

func (r Relay) validate(key string) []error {
	var errs []error
	u, err := url.Parse(r.URL)
	switch {
	case r.URL == "":
		errs = append(errs, fmt.Errorf("%s.url: empty", key))
	case err != nil:
		errs = append(errs, fmt.Errorf("%s.url: %w", key, err))
	case u.Scheme != "moqt" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("%s.url: scheme %q is not moqt or https", key, u.Scheme))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("%s.url: no host", key))
	}
	if r.Sessions < 0 || r.Sessions > 64 {
		errs = append(errs, fmt.Errorf("%s.sessions: %d is outside 0..64", key, r.Sessions))
	}
	switch r.Quirks {
	case "", "moq-rs":
	default:
		errs = append(errs, fmt.Errorf("%s.quirks: %q is not moq-rs", key, r.Quirks))
	}
	switch r.Draft {
	case "", "auto", "14", "16", "18", "19":
	default:
		errs = append(errs, fmt.Errorf("%s.draft: %q is not auto, 14, 16, 18 or 19", key, r.Draft))
	}
	switch r.TLS {
	case "", "system", "insecure":
	default:
		if _, err := os.Stat(r.TLS); err != nil {
			errs = append(errs, fmt.Errorf("%s.tls: not system or insecure, and not a CA file: %w", key, err))
		}
	}
	return errs
}
