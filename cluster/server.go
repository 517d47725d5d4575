package cluster

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// Server is a NATS server with JetStream running inside this process: the
// default of New when no URL is given, and what a program (or a test) can
// start itself to serve workers of other processes. It listens on
// 127.0.0.1 only.
type Server struct {
	ns       *server.Server
	dir      string
	ownedDir bool
}

// StartServer starts an embedded NATS server with JetStream: on 127.0.0.1,
// the port of WithPort (or a free one), its file store in WithStoreDir's
// directory (or a new temporary one, removed by Shutdown), requiring the
// credentials given by WithUserPassword, WithToken or WithNKeySeedFile and
// TLS with WithServerTLS, and WithPayloadLimit as its max_payload.
func StartServer(opts ...Option) (*Server, error) {
	cfg, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	return startServer(cfg)
}

func startServer(cfg *config) (*Server, error) {
	s := &Server{dir: cfg.storeDir}
	if s.dir == "" {
		d, err := os.MkdirTemp("", "braid-cluster-")
		if err != nil {
			return nil, fmt.Errorf("cluster: embedded server: cannot make its store directory: %w", err)
		}
		s.dir, s.ownedDir = d, true
	}
	port := cfg.port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	o := &server.Options{
		ServerName: "braid-embedded",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   s.dir,
		NoSigs:     true,
		NoLog:      true,
		// Room for the headers over the payload limit.
		MaxPayload: int32(cfg.maxPayload + 64<<10),
	}
	switch {
	case cfg.user != "":
		o.Username, o.Password = cfg.user, cfg.password
	case cfg.token != "":
		o.Authorization = cfg.token
	case cfg.nkeySeed != "":
		pub, err := nkeyPublic(cfg.nkeySeed)
		if err != nil {
			s.cleanup()
			return nil, err
		}
		o.Nkeys = []*server.NkeyUser{{Nkey: pub}}
	}
	if cfg.serverTLS != nil {
		o.TLSConfig = cfg.serverTLS
		o.TLS = true
		o.TLSVerify = cfg.serverTLS.ClientCAs != nil
		o.TLSTimeout = 5
	}
	ns, err := server.NewServer(o)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("cluster: embedded server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		s.cleanup()
		return nil, fmt.Errorf("cluster: embedded server did not accept connections within 30s (port %d, store %s)", cfg.port, s.dir)
	}
	s.ns = ns
	return s, nil
}

// nkeyPublic reads an nkey seed file and returns the user's public key.
func nkeyPublic(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("cluster: nkey seed: %w", err)
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return "", fmt.Errorf("cluster: nkey seed file %s holds no user nkey seed: %w", file, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("cluster: nkey seed file %s: %w", file, err)
	}
	return pub, nil
}

// URL returns the server's client URL, such as "nats://127.0.0.1:41234",
// to give workers (WithURLs, or the --braid-worker flag of Main).
func (s *Server) URL() string { return s.ns.ClientURL() }

// StoreDir returns the JetStream store directory.
func (s *Server) StoreDir() string { return s.dir }

// Shutdown stops the server and waits until it has stopped; a temporary
// store directory is removed. Connected clients and workers reconnect when
// a server is started again on the same port and store directory.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.cleanup()
}

func (s *Server) cleanup() {
	if s.ownedDir {
		os.RemoveAll(s.dir)
	}
}
