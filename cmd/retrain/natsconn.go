package main

import (
	"flag"
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
			if abs, err := filepath.Abs(f.path); err == nil {
				f.path = abs
			}
			args = append(args, f.flag, f.path)
		}
	}
	return args
}
