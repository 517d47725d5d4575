package cluster

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// connect opens a NATS connection that reconnects for ever (a server
// restarted on its store directory finds its clients again).
func connect(cfg *config, urls []string, name string) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ReconnectJitter(50*time.Millisecond, 200*time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
		nats.Timeout(10 * time.Second),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			cfg.logger.Warn("cluster: NATS error", "subject", subj, "err", err)
		}),
	}
	switch {
	case cfg.user != "":
		opts = append(opts, nats.UserInfo(cfg.user, cfg.password))
	case cfg.token != "":
		opts = append(opts, nats.Token(cfg.token))
	case cfg.nkeySeed != "":
		o, err := nats.NkeyOptionFromSeed(cfg.nkeySeed)
		if err != nil {
			return nil, fmt.Errorf("cluster: nkey seed file %s: %w", cfg.nkeySeed, err)
		}
		opts = append(opts, o)
	case cfg.credsFile != "":
		opts = append(opts, nats.UserCredentials(cfg.credsFile))
	}
	if cfg.tls != nil {
		opts = append(opts, nats.Secure(cfg.tls))
	}
	nc, err := nats.Connect(strings.Join(urls, ","), opts...)
	if err != nil {
		if errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(err.Error()), "authorization") || strings.Contains(err.Error(), "authentication") {
			return nil, fmt.Errorf("cluster: the NATS server at %s refused the credentials (%w): check WithUserPassword / WithToken / WithNKeySeedFile / WithCredentialsFile against the server's accounts", strings.Join(urls, ","), err)
		}
		return nil, fmt.Errorf("cluster: cannot connect to NATS at %s: %w", strings.Join(urls, ","), err)
	}
	return nc, nil
}
