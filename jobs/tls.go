package jobs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSConfig is the TLS the native protocol runs over: nil without
// secure: true. Its errors name the key and the file at fault; Validate
// reports them.
func (c ClickHouse) TLSConfig() (*tls.Config, error) {
	if !c.Secure {
		var errs []error
		for _, k := range []struct {
			key string
			set bool
		}{{"ca_file", c.CAFile != ""}, {"cert_file", c.CertFile != ""}, {"key_file", c.KeyFile != ""}, {"insecure_skip_verify", c.InsecureSkipVerify}} {
			if k.set {
				errs = append(errs, fmt.Errorf("target.clickhouse.%s: takes effect only over TLS; set target.clickhouse.secure: true (and use the server's secure port, usually 9440)", k.key))
			}
		}
		return nil, errors.Join(errs...)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	var errs []error
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("target.clickhouse.ca_file: read %s: %w", c.CAFile, err))
		default:
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("target.clickhouse.ca_file: %s holds no PEM certificate", c.CAFile))
			}
		}
	}
	switch {
	case c.CertFile != "" && c.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("target.clickhouse.cert_file, key_file: load the client certificate %s with key %s: %w", c.CertFile, c.KeyFile, err))
		} else {
			cfg.Certificates = []tls.Certificate{cert}
		}
	case c.CertFile != "":
		errs = append(errs, errors.New("target.clickhouse.key_file: required with cert_file: the client certificate's private key"))
	case c.KeyFile != "":
		errs = append(errs, errors.New("target.clickhouse.cert_file: required with key_file: the client certificate"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}
