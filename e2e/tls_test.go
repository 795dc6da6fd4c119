//go:build e2e

package e2e

import "crypto/tls"

// insecureTLS accepts the gateway's self-signed certificate.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
