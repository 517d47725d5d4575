package cluster_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"testing"
	"time"

	"github.com/braid-go/braid/cluster"
)

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "braid test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// The embedded server requiring TLS with client certificates: a client
// that trusts the server and presents its certificate connects; one
// without a certificate, or that does not trust the server, is refused.
func TestTLSCredentials(t *testing.T) {
	cert, pool := selfSigned(t)
	srv, err := cluster.StartServer(cluster.WithServerTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cluster.New(ctx, cluster.WithURLs(srv.URL()), cluster.WithTLS(&tls.Config{RootCAs: pool})); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
	if _, err := cluster.New(ctx, cluster.WithURLs(srv.URL()), cluster.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}})); err == nil {
		t.Fatal("a client that does not trust the server connected")
	}
	c, err := cluster.New(ctx, cluster.WithURLs(srv.URL()), cluster.WithTLS(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}))
	if err != nil {
		t.Fatalf("with the certificate: %v", err)
	}
	// A worker given the same files through the environment serves.
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	for name, b := range map[string][]byte{"ca.pem": certPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(dir+"/"+name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"BRAID_CLUSTER_TLS_CA=" + dir + "/ca.pem", "BRAID_CLUSTER_TLS_CERT=" + dir + "/cert.pem", "BRAID_CLUSTER_TLS_KEY=" + dir + "/key.pem"}
	w := startWorkers(t, srv.URL(), 1, env)
	if r, err := Square.Call(ctx, c, 6); err != nil || r != 36 {
		t.Fatalf("over TLS: %d, %v", r, err)
	}
	w.stop()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// EnvOptions refuses half a key pair.
	t.Setenv("BRAID_CLUSTER_TLS_CERT", dir+"/cert.pem")
	if _, err := cluster.EnvOptions(); err == nil {
		t.Fatal("EnvOptions accepted a certificate without its key")
	}
}
