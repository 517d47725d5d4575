package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// EnvOptions returns the credentials and TLS settings given in the
// environment, as workers started by Main and `braid cluster status` read
// them (never from the command line, which other users of a machine can
// read):
//
//	BRAID_CLUSTER_USER, BRAID_CLUSTER_PASSWORD   WithUserPassword
//	BRAID_CLUSTER_TOKEN                          WithToken
//	BRAID_CLUSTER_NKEY_SEED                      WithNKeySeedFile (a seed file)
//	BRAID_CLUSTER_CREDS                          WithCredentialsFile
//	BRAID_CLUSTER_TLS_CA                         WithTLS: the CA file that signs the server's certificate
//	BRAID_CLUSTER_TLS_CERT, BRAID_CLUSTER_TLS_KEY   WithTLS: this client's certificate and key files
//
// The first credential set in that order is used. A TLS file that cannot
// be read is an error.
func EnvOptions() ([]Option, error) {
	var o []Option
	switch {
	case os.Getenv("BRAID_CLUSTER_USER") != "":
		o = append(o, WithUserPassword(os.Getenv("BRAID_CLUSTER_USER"), os.Getenv("BRAID_CLUSTER_PASSWORD")))
	case os.Getenv("BRAID_CLUSTER_TOKEN") != "":
		o = append(o, WithToken(os.Getenv("BRAID_CLUSTER_TOKEN")))
	case os.Getenv("BRAID_CLUSTER_NKEY_SEED") != "":
		o = append(o, WithNKeySeedFile(os.Getenv("BRAID_CLUSTER_NKEY_SEED")))
	case os.Getenv("BRAID_CLUSTER_CREDS") != "":
		o = append(o, WithCredentialsFile(os.Getenv("BRAID_CLUSTER_CREDS")))
	}
	ca, cert, key := os.Getenv("BRAID_CLUSTER_TLS_CA"), os.Getenv("BRAID_CLUSTER_TLS_CERT"), os.Getenv("BRAID_CLUSTER_TLS_KEY")
	if ca == "" && cert == "" && key == "" {
		return o, nil
	}
	cfg, err := tlsFiles(ca, cert, key, "BRAID_CLUSTER_TLS_CA", "BRAID_CLUSTER_TLS_CERT", "BRAID_CLUSTER_TLS_KEY")
	if err != nil {
		return nil, err
	}
	return append(o, WithTLS(cfg)), nil
}

// WithTLSFiles is WithTLS from PEM files (New, Serve, Status): ca, the CA
// certificate that signs the servers' certificates ("" for the system's
// roots), and cert and key, this client's certificate and key (both, or
// neither). A file that cannot be read makes New, Serve or Status fail.
func WithTLSFiles(ca, cert, key string) Option {
	return func(c *config) {
		cfg, err := tlsFiles(ca, cert, key, "WithTLSFiles: CA", "WithTLSFiles: certificate", "WithTLSFiles: key")
		if err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.tls = cfg
	}
}

// tlsFiles reads a client TLS configuration; the names say where each
// file came from in errors.
func tlsFiles(ca, cert, key, caName, certName, keyName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", caName, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cluster: %s: %s holds no PEM certificate", caName, ca)
		}
		cfg.RootCAs = pool
	}
	if cert != "" || key != "" {
		if cert == "" || key == "" {
			return nil, fmt.Errorf("cluster: give both the %s and the %s, or neither", certName, keyName)
		}
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("cluster: %s/%s: %w", certName, keyName, err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}
