package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/internal/tlstest"
)

// The NATS connection flags: usage errors, a missing file named by its
// flag, a URL's password never shown, and --help explaining them.
func TestDistributedNatsConnFlags(t *testing.T) {
	t.Setenv("NATS_TOKEN", "")
	t.Setenv("NATS_USER", "")
	t.Setenv("NATS_PASSWORD", "")
	missing := filepath.Join(t.TempDir(), "ca.pem")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rollout", "--nats-tls-ca", missing}, "--nats-tls-ca needs --nats"},
		{[]string{"rollout", "--nats-replicas", "3"}, "--nats-replicas needs --nats"},
		{[]string{"rollout", "--nats", "embedded", "--nats-nkey", missing}, "--nats-creds and --nats-nkey are for a NATS server of your own"},
		{[]string{"rollout", "--nats", "embedded", "--nats-replicas", "3"}, "--nats-replicas 3 needs a NATS cluster"},
		{[]string{"rollout", "--nats", "nats://127.0.0.1:1", "--nats-replicas", "-1"}, "must not be negative"},
		{[]string{"rollout", "--nats", "embedded", "--nats-listen", "0.0.0.0:0", "--tasks", "1", "--quiet", "--out", filepath.Join(t.TempDir(), "o.jsonl")}, "without authentication: set $NATS_TOKEN"},
		{[]string{"rollout", "--nats", "nats://127.0.0.1:1", "--nats-tls-ca", missing}, "(--nats-tls-ca): no such file"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:1", "--nats-tls-cert", missing, "--nats-tls-key", missing}, "(--nats-tls-cert): no such file"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:1", "--nats-nkey", missing}, "(--nats-nkey): no such file"},
		{[]string{"rollout", "--nats", "nats://bob:hunter2hunter2@127.0.0.1:1"}, "cannot reach the NATS server at nats://bob:xxxxx@127.0.0.1:1"},
		{[]string{"worker", "--nats", "nats://bob:hunter2hunter2@127.0.0.1:1"}, "nats://bob:xxxxx@127.0.0.1:1"},
	} {
		code, _, errOut := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want an error with %q", c.args, code, errOut, c.want)
		}
		if strings.Contains(errOut, "hunter2hunter2") {
			t.Errorf("%v: the error shows the URL's password: %s", c.args, errOut)
		}
	}
	for cmd, wants := range map[string][]string{
		"rollout": {"-nats-creds file", "-nats-nkey file", "-nats-tls-ca file", "-nats-tls-cert file", "-nats-tls-key file", "-nats-replicas int", "$NATS_TOKEN",
			"-nats-server-cert file", "-nats-server-key file", "-nats-server-client-ca file"},
		"worker": {"-nats-creds file", "-nats-nkey file", "-nats-tls-ca file", "-nats-tls-cert file", "-nats-tls-key file", "$NATS_TOKEN", "$NATS_PASSWORD"},
	} {
		_, out, errOut := runCLI(t, "", cmd, "--help")
		for _, w := range wants {
			if !strings.Contains(out+errOut, w) {
				t.Errorf("%s --help does not mention %s", cmd, w)
			}
		}
	}
}

// The built binary's --nats embedded --workers 1 with the embedded
// server's authentication: a token, and mutual TLS (one build for both).
func TestDistributedNatsEmbeddedAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildRetrain(t)
	t.Run("token", func(t *testing.T) { distributedNatsToken(t, bin) })
	t.Run("mutual TLS", func(t *testing.T) { distributedNatsMutualTLS(t, bin) })
}

// --nats embedded with $NATS_TOKEN: the embedded server requires the token,
// and the local workers of --workers get it through their environment (the
// run completes); neither the token nor the workers' command lines show it.
func distributedNatsToken(t *testing.T, bin string) {
	const token = "tok-9f8e7d6c5b4a"
	out := filepath.Join(t.TempDir(), "dist.jsonl")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a worker refused would leave the run waiting
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "rollout", "--model", "fake", "--tasks", "2", "--n", "2", "--quiet",
		"--nats", "embedded", "--workers", "1", "--out", out)
	cmd.Env = append(os.Environ(), "NATS_TOKEN="+token, "NATS_USER=", "NATS_PASSWORD=")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rollout --nats embedded --workers 1 with $NATS_TOKEN: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), "wrote 4 trajectories") {
		t.Errorf("output: %s", b)
	}
	if strings.Contains(string(b), token) {
		t.Errorf("the output shows the token: %s", b)
	}
	if got := len(readByID(t, out)); got != 4 {
		t.Errorf("%d episodes written, want 4", got)
	}
}

// The TLS flags of --nats embedded: each incomplete combination is a usage
// error naming the flag to add, and a server file that cannot be read is
// named by its flag.
func TestDistributedNatsEmbeddedTLSFlags(t *testing.T) {
	t.Setenv("NATS_TOKEN", "")
	t.Setenv("NATS_USER", "")
	t.Setenv("NATS_PASSWORD", "")
	f := filepath.Join(t.TempDir(), "missing.pem")
	emb := func(args ...string) []string { return append([]string{"rollout", "--nats", "embedded"}, args...) }
	server := []string{"--nats-server-cert", f, "--nats-server-key", f}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rollout", "--nats-server-cert", f}, "--nats-server-cert needs --nats"},
		{[]string{"rollout", "--nats-server-client-ca", f}, "--nats-server-client-ca needs --nats"},
		{[]string{"rollout", "--nats", "nats://127.0.0.1:1", "--nats-server-cert", f, "--nats-server-key", f}, "are the TLS of --nats embedded"},
		{emb("--nats-server-cert", f), "--nats-server-cert needs its key: add --nats-server-key FILE"},
		{emb("--nats-server-key", f), "--nats-server-key needs its certificate: add --nats-server-cert FILE"},
		{emb("--nats-server-client-ca", f), "needs TLS on the embedded server: add --nats-server-cert FILE --nats-server-key FILE"},
		{emb("--nats-tls-ca", f), "its server over TLS, and it has none: add --nats-server-cert FILE --nats-server-key FILE"},
		{emb(server...), "verify the embedded server's certificate: add --nats-tls-ca FILE"},
		{emb(append(server, "--nats-tls-ca", f, "--nats-server-client-ca", f)...), "the coordinator and its local workers too: add --nats-tls-cert FILE --nats-tls-key FILE"},
		{emb(append(server, "--nats-tls-ca", f, "--nats-server-client-ca", f, "--nats-tls-cert", f)...), "--nats-tls-cert needs its key: add --nats-tls-key FILE"},
		{emb(append(server, "--nats-tls-ca", f, "--nats-tls-cert", f, "--nats-tls-key", f)...), "add --nats-server-client-ca FILE"},
		{emb(append(server, "--nats-tls-ca", f, "--tasks", "1", "--quiet", "--out", filepath.Join(t.TempDir(), "o.jsonl"))...), "certificate file " + f + " (--nats-server-cert): no such file"},
	} {
		code, _, errOut := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want an error with %q", c.args, code, errOut, c.want)
		}
	}
}

// --nats embedded with mutual TLS: the server serves TLS with the given
// certificate and verifies clients' certificates; the coordinator and the
// local worker of --workers 1 connect with --nats-tls-ca, --nats-tls-cert
// and --nats-tls-key (handed to the worker as flags), and the run
// completes; the banner gives the tls:// URL and the flags a remote worker
// needs.
func distributedNatsMutualTLS(t *testing.T, bin string) {
	ca := tlstest.NewCA(t, "ca")
	srvCert, srvKey := ca.Issue(t, "server", net.IPv4(127, 0, 0, 1))
	clients := tlstest.NewCA(t, "clients")
	cliCert, cliKey := clients.Issue(t, "worker")
	out := filepath.Join(t.TempDir(), "dist.jsonl")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a worker refused would leave the run waiting
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "rollout", "--model", "fake", "--tasks", "2", "--n", "2", "--quiet",
		"--nats", "embedded", "--workers", "1", "--out", out,
		"--nats-server-cert", srvCert, "--nats-server-key", srvKey, "--nats-server-client-ca", clients.CertFile,
		"--nats-tls-ca", ca.CertFile, "--nats-tls-cert", cliCert, "--nats-tls-key", cliKey)
	cmd.Env = append(os.Environ(), "NATS_TOKEN=", "NATS_USER=", "NATS_PASSWORD=")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rollout --nats embedded --workers 1 with mutual TLS: %v\n%s", err, b)
	}
	for _, want := range []string{"wrote 4 trajectories", "embedded NATS server on tls://127.0.0.1:", "--nats-tls-ca " + ca.CertFile,
		"a certificate of the CA " + clients.CertFile + " (mutual TLS)", "--nats-tls-cert CERT.pem --nats-tls-key KEY.pem"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the output does not say %q:\n%s", want, b)
		}
	}
	if got := len(readByID(t, out)); got != 4 {
		t.Errorf("%d episodes written, want 4", got)
	}
}
