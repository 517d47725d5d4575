package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/braid-go/braid/cluster"
)

func newClusterCmd(stdout io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:   "cluster",
		Short: "Look at a braid cluster (package cluster, on NATS JetStream)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("braid cluster needs a subcommand: status")}
		},
	}
	c.AddCommand(newClusterStatusCmd(stdout))
	return c
}

func newClusterStatusCmd(stdout io.Writer) *cobra.Command {
	var (
		server    string
		namespace string
		asJSON    bool
		timeout   time.Duration
		creds     string
		nkeySeed  string
		tlsCA     string
		tlsCert   string
		tlsKey    string
	)
	c := &cobra.Command{
		Use:   "status --server nats://HOST:4222",
		Short: "List a cluster's live workers and its queue depth",
		Long: `List the live workers of a braid cluster (each rewrites its entry in the
<namespace>_workers bucket every 5 s; an entry older than 15 s expires) and
the depth of its task queue: tasks queued, in flight (taken by a worker and
not yet acknowledged), redelivered.

Credentials and TLS come from the environment, as for workers:
BRAID_CLUSTER_USER and BRAID_CLUSTER_PASSWORD, BRAID_CLUSTER_TOKEN,
BRAID_CLUSTER_NKEY_SEED (a seed file) or BRAID_CLUSTER_CREDS (a credentials
file); BRAID_CLUSTER_TLS_CA (the CA file of the server's certificate),
BRAID_CLUSTER_TLS_CERT and BRAID_CLUSTER_TLS_KEY (a client certificate).
The flags --creds, --nkey-seed, --tls-ca, --tls-cert and --tls-key name
such files and take precedence over the environment. A password or a
token is never a flag: other users of the machine can read command lines.

Exit codes: 0 success, 1 the server could not be reached or read, 2 bad
command line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if server == "" {
				return usageError{errors.New("--server is required, e.g. --server nats://127.0.0.1:4222")}
			}
			opts := []cluster.Option{cluster.WithURLs(strings.Split(server, ",")...), cluster.WithNamespace(namespace)}
			env, err := cluster.EnvOptions()
			if err != nil {
				return usageError{err}
			}
			opts = append(opts, env...)
			for flag, file := range map[string]string{"--creds": creds, "--nkey-seed": nkeySeed, "--tls-ca": tlsCA, "--tls-cert": tlsCert, "--tls-key": tlsKey} {
				if file == "" {
					continue
				}
				if _, err := os.Stat(file); err != nil {
					return usageError{fmt.Errorf("%s: %w", flag, err)}
				}
			}
			// Flags after the environment: the last credential, and
			// the last TLS setting, win.
			if nkeySeed != "" {
				opts = append(opts, cluster.WithNKeySeedFile(nkeySeed))
			}
			if creds != "" {
				opts = append(opts, cluster.WithCredentialsFile(creds))
			}
			if tlsCA != "" || tlsCert != "" || tlsKey != "" {
				opts = append(opts, cluster.WithTLSFiles(tlsCA, tlsCert, tlsKey))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			st, err := cluster.Status(ctx, opts...)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			fmt.Fprintf(stdout, "queue: %d queued, %d in flight, %d redelivered, %d stored\n", st.Queued, st.InFlight, st.Redelivered, st.Stored)
			fmt.Fprintf(stdout, "workers: %d\n", len(st.Workers))
			if len(st.Workers) == 0 {
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tHOST\tPID\tCONCURRENCY\tRUNNING\tDONE\tFAILED\tHANDED BACK\tUP")
			for _, w := range st.Workers {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", w.Name, w.Host, w.PID, w.Concurrency, w.Running, w.Done, w.Failed, w.HandedBack, time.Since(w.Started).Round(time.Second))
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&server, "server", "", "NATS server URLs, comma-separated (required)")
	c.Flags().StringVar(&namespace, "namespace", "braid", "the cluster's namespace (cluster.WithNamespace)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "give up after this long")
	c.Flags().StringVar(&creds, "creds", "", "NATS credentials file: a user JWT and its seed (or BRAID_CLUSTER_CREDS)")
	c.Flags().StringVar(&nkeySeed, "nkey-seed", "", "file holding the user's nkey seed (or BRAID_CLUSTER_NKEY_SEED)")
	c.Flags().StringVar(&tlsCA, "tls-ca", "", "CA certificate file that signs the server's certificate (or BRAID_CLUSTER_TLS_CA)")
	c.Flags().StringVar(&tlsCert, "tls-cert", "", "client certificate file, with --tls-key (or BRAID_CLUSTER_TLS_CERT)")
	c.Flags().StringVar(&tlsKey, "tls-key", "", "client key file, with --tls-cert (or BRAID_CLUSTER_TLS_KEY)")
	return c
}
