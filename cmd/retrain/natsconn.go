package main

import (
	"flag"
	"fmt"
	"path/filepath"

	"github.com/retrain-rl/retrain/rollout/dist"
)

// natsSecretsHelp says where the NATS connection's secrets come from.
const natsSecretsHelp = "A NATS token, or user and password, come from $" + dist.EnvToken + ", or $" + dist.EnvUser + " and $" + dist.EnvPassword + "\n" +
	"(or the URL: nats://user:password@host:4222), never from a flag: a command line shows in ps.\n" +
	"A URL may list several servers of a cluster, separated by commas."

// defineNatsConnFlags defines the flags of a NATS connection's files on fs
// (rollout's and worker's alike).
func defineNatsConnFlags(fs *flag.FlagSet, creds, nkey, ca, cert, key *string) {
	fs.StringVar(creds, "nats-creds", "", "with --nats: a NATS credentials `file` (user JWT and nkey seed, as nsc writes it)")
	fs.StringVar(nkey, "nats-nkey", "", "with --nats: a `file` with a user's nkey seed")
	fs.StringVar(ca, "nats-tls-ca", "", "with --nats: PEM `file` of the CA that signs the NATS server's certificate (default: the system's); any --nats-tls-* requires TLS")
	fs.StringVar(cert, "nats-tls-cert", "", "with --nats: PEM `file` of this side's client certificate, for a server that verifies clients (mutual TLS; with --nats-tls-key)")
	fs.StringVar(key, "nats-tls-key", "", "with --nats: PEM `file` of the client certificate's key")
}

// natsConn returns the NATS connection's settings: the flags' files and the
// environment's secrets.
func (c *rolloutConfig) natsConn() *dist.ConnOptions {
	co := &dist.ConnOptions{Creds: c.NatsCreds, NKey: c.NatsNKey, TLSCA: c.NatsTLSCA, TLSCert: c.NatsTLSCert, TLSKey: c.NatsTLSKey}
	co.LoadEnv()
	return co
}

// natsConnArgs returns the worker flags that give a local worker co's
// files (absolute, whatever the worker's directory); secrets go through
// its environment (co.Env).
func natsConnArgs(co *dist.ConnOptions) []string {
	var args []string
	for _, f := range []struct{ flag, path string }{
		{"--nats-creds", co.Creds}, {"--nats-nkey", co.NKey}, {"--nats-tls-ca", co.TLSCA},
		{"--nats-tls-cert", co.TLSCert}, {"--nats-tls-key", co.TLSKey},
	} {
		if f.path != "" {
			args = append(args, f.flag, absPath(f.path))
		}
	}
	return args
}

// defineNatsServerFlags defines the flags of the embedded server's TLS
// (--nats embedded: the server side), bound to c. The client side, how
// the coordinator and its local workers connect to it, is --nats-tls-*.
func defineNatsServerFlags(fs *flag.FlagSet, c *rolloutConfig) {
	fs.StringVar(&c.NatsServerCert, "nats-server-cert", "", "with --nats embedded: PEM `file` of its server's certificate, for the address clients connect by (127.0.0.1 for its own clients when it listens on 0.0.0.0); its listener then serves TLS only, and clients verify it with the CA that signed it (--nats-tls-ca, required: the coordinator and its local workers connect with it too). With --nats-server-key")
	fs.StringVar(&c.NatsServerKey, "nats-server-key", "", "with --nats embedded: PEM `file` of the key of --nats-server-cert")
	fs.StringVar(&c.NatsServerClientCA, "nats-server-client-ca", "", "with --nats embedded and --nats-server-cert: PEM `file` of the CA whose certificates every client must present (mutual TLS; it authenticates clients, so a listener beyond loopback needs no $NATS_TOKEN); the coordinator and its local workers present --nats-tls-cert and --nats-tls-key")
}

// validateEmbeddedTLS checks the TLS flags of --nats embedded: the
// server's (--nats-server-*) and those of the coordinator and its local
// workers, its clients (--nats-tls-*), each incomplete combination with the
// flag to add.
func (c *rolloutConfig) validateEmbeddedTLS() error {
	tlsServer := c.NatsServerCert != "" || c.NatsServerKey != ""
	switch {
	case c.NatsCreds != "" || c.NatsNKey != "":
		return usageErrorf("--nats-creds and --nats-nkey are for a NATS server of your own; the embedded server takes $%s (or $%s and $%s) from the environment, or client certificates (--nats-server-client-ca)", dist.EnvToken, dist.EnvUser, dist.EnvPassword)
	case c.NatsServerCert != "" && c.NatsServerKey == "":
		return usageErrorf("--nats-server-cert needs its key: add --nats-server-key FILE")
	case c.NatsServerKey != "" && c.NatsServerCert == "":
		return usageErrorf("--nats-server-key needs its certificate: add --nats-server-cert FILE")
	case c.NatsServerClientCA != "" && !tlsServer:
		return usageErrorf("--nats-server-client-ca (mutual TLS) needs TLS on the embedded server: add --nats-server-cert FILE --nats-server-key FILE")
	case !tlsServer && (c.NatsTLSCA != "" || c.NatsTLSCert != "" || c.NatsTLSKey != ""):
		return usageErrorf("--nats-tls-* with --nats embedded say how the coordinator and its local workers connect to its server over TLS, and it has none: add --nats-server-cert FILE --nats-server-key FILE (TLS on its listener), or drop them")
	case tlsServer && c.NatsTLSCA == "":
		return usageErrorf("--nats-server-cert: the coordinator and its local workers verify the embedded server's certificate: add --nats-tls-ca FILE, the CA that signed it (for a public CA's certificate, the system's CA bundle, e.g. /etc/ssl/certs/ca-certificates.crt)")
	case c.NatsTLSCert != "" && c.NatsTLSKey == "":
		return usageErrorf("--nats-tls-cert needs its key: add --nats-tls-key FILE")
	case c.NatsTLSKey != "" && c.NatsTLSCert == "":
		return usageErrorf("--nats-tls-key needs its certificate: add --nats-tls-cert FILE")
	case c.NatsServerClientCA != "" && c.NatsTLSCert == "":
		return usageErrorf("--nats-server-client-ca: every client presents a certificate of that CA, the coordinator and its local workers too: add --nats-tls-cert FILE --nats-tls-key FILE, a certificate that CA signed")
	case c.NatsServerClientCA == "" && c.NatsTLSCert != "":
		return usageErrorf("--nats-tls-cert and --nats-tls-key with --nats embedded are the client certificate of mutual TLS, which its server does not ask for: add --nats-server-client-ca FILE (the CA of the clients' certificates), or drop them")
	}
	return nil
}

// embeddedOptions returns the embedded server's settings: co's secrets,
// which its clients must send, and the --nats-server-* files.
func (c *rolloutConfig) embeddedOptions(co *dist.ConnOptions) *dist.EmbeddedOptions {
	return &dist.EmbeddedOptions{
		Token: co.Token, User: co.User, Password: co.Password,
		TLSCert: c.NatsServerCert, TLSKey: c.NatsServerKey, TLSClientCA: c.NatsServerClientCA,
	}
}

// embeddedBanner is the line that says where the embedded server at url
// (storing in dir) listens and how a remote worker joins it: with TLS, the
// CA that verifies it (and, for mutual TLS, the certificate to present).
func (c *rolloutConfig) embeddedBanner(url, dir string) string {
	join := "retrain worker --nats " + url + " --run-id " + c.runID()
	if c.NatsServerCert == "" {
		return fmt.Sprintf("embedded NATS server on %s (JetStream in %s); workers: %s\n", url, dir, join)
	}
	note := "TLS: clients verify its certificate with the CA " + absPath(c.NatsTLSCA)
	join += " --nats-tls-ca " + absPath(c.NatsTLSCA)
	if c.NatsServerClientCA != "" {
		note += ", and present a certificate of the CA " + absPath(c.NatsServerClientCA) + " (mutual TLS)"
		join += " --nats-tls-cert CERT.pem --nats-tls-key KEY.pem"
	}
	return fmt.Sprintf("embedded NATS server on %s (JetStream in %s; %s); workers: %s\n", url, dir, note, join)
}

// absPath is path made absolute where it can be.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
