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
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("cluster: BRAID_CLUSTER_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cluster: BRAID_CLUSTER_TLS_CA: %s holds no PEM certificate", ca)
		}
		cfg.RootCAs = pool
	}
	if cert != "" || key != "" {
		if cert == "" || key == "" {
			return nil, fmt.Errorf("cluster: set both BRAID_CLUSTER_TLS_CERT and BRAID_CLUSTER_TLS_KEY, or neither")
		}
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("cluster: BRAID_CLUSTER_TLS_CERT/KEY: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return append(o, WithTLS(cfg)), nil
}
