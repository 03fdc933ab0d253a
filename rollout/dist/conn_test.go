package dist_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/retrain-rl/retrain/internal/tlstest"
	"github.com/retrain-rl/retrain/rollout"
	"github.com/retrain-rl/retrain/rollout/dist"
)

// startServer starts a NATS server with JetStream on loopback as opts says
// (its host, port, store and logging are set here).
func startServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.JetStream, opts.StoreDir = "127.0.0.1", server.RANDOM_PORT, true, t.TempDir()
	opts.NoSigs, opts.NoLog = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("the server did not start")
	}
	return s
}

// smallRun runs a small job on one worker and a coordinator, each connected
// to url with co, and fails unless every episode succeeds.
func smallRun(t *testing.T, url string, co *dist.ConnOptions, runID string) {
	t.Helper()
	job := testJob()
	job.Generate, job.N = 2, 2
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wnc, err := dist.ConnectWith(url, co)
	if err != nil {
		t.Fatal(err)
	}
	defer wnc.Close()
	wg.Go(func() {
		if err := dist.Work(ctx, wnc, &dist.WorkerOptions{RunID: runID, Concurrency: 2}); err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	cnc, err := dist.ConnectWith(url, co)
	if err != nil {
		t.Fatal(err)
	}
	defer cnc.Close()
	p, err := rollout.Prepare(ctx, job, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sum, err := dist.Run(ctx, cnc, p, job, nil, &dist.Options{RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Succeeded != 4 {
		t.Fatalf("summary: %+v", sum)
	}
}

// connectErr connects to url with co, which must fail with an error that
// holds each of want.
func connectErr(t *testing.T, url string, co *dist.ConnOptions, want ...string) string {
	t.Helper()
	nc, err := dist.ConnectWith(url, co)
	if err == nil {
		nc.Close()
		t.Fatalf("connected to %s with %+v; want an error", url, co)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v\nwant it to say %q", err, w)
		}
	}
	return err.Error()
}

// Mutual TLS: a coordinator and a worker with the CA and a client
// certificate complete a run; a wrong CA, no CA, no client certificate, a
// host name the certificate does not hold, a missing file and a server
// without TLS each fail with an error naming the option to check.
func TestTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	srvCert, srvKey := ca.Issue(t, "server", net.IPv4(127, 0, 0, 1))
	cliCert, cliKey := ca.Issue(t, "client")
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: srvCert, KeyFile: srvKey, CaFile: ca.CertFile, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, &server.Options{TLS: true, TLSVerify: true, TLSConfig: tc, TLSTimeout: 5})
	url := s.ClientURL()
	good := &dist.ConnOptions{TLSCA: ca.CertFile, TLSCert: cliCert, TLSKey: cliKey}
	smallRun(t, url, good, "tls1")

	other := tlstest.NewCA(t, "other")
	connectErr(t, url, &dist.ConnOptions{TLSCA: other.CertFile, TLSCert: cliCert, TLSKey: cliKey},
		"unknown authority", "--nats-tls-ca "+other.CertFile+" is not the CA that signed it")
	connectErr(t, url, nil, "unknown authority", "give the CA that signed it with --nats-tls-ca")
	connectErr(t, url, &dist.ConnOptions{TLSCA: ca.CertFile}, "rejected this side's TLS certificate", "--nats-tls-cert and --nats-tls-key")
	port := url[strings.LastIndex(url, ":")+1:]
	connectErr(t, "tls://localhost:"+port, good, "connect by a host name (or address) the server's certificate holds")
	connectErr(t, url, &dist.ConnOptions{TLSCA: filepath.Join(t.TempDir(), "nope.pem")}, "the TLS CA file", "(--nats-tls-ca): no such file")
	connectErr(t, url, &dist.ConnOptions{TLSCA: ca.CertFile, TLSCert: cliCert}, "needs its key (--nats-tls-key)")

	plain := startServer(t, &server.Options{})
	connectErr(t, plain.ClientURL(), good, "does not offer TLS")
}

// A token or a user and password: the right ones complete a run; wrong or
// missing ones fail with an error that says what to check, and no error
// shows the secret.
func TestAuthTokenAndUser(t *testing.T) {
	const token, password = "s3cret-token-4711", "pa55-word-0815"
	ts := startServer(t, &server.Options{Authorization: token})
	smallRun(t, ts.ClientURL(), &dist.ConnOptions{Token: token}, "tok")
	msg := connectErr(t, ts.ClientURL(), &dist.ConnOptions{Token: "wrong-" + token}, "refused the token from $NATS_TOKEN", "Authorization Violation", "check $NATS_TOKEN")
	msg += connectErr(t, ts.ClientURL(), nil, "Authorization Violation", "set $NATS_TOKEN")
	if strings.Contains(msg, token) {
		t.Errorf("an error shows the token: %s", msg)
	}

	us := startServer(t, &server.Options{Username: "alice", Password: password})
	smallRun(t, us.ClientURL(), &dist.ConnOptions{User: "alice", Password: password}, "user")
	withURL := strings.Replace(us.ClientURL(), "nats://", "nats://alice:"+password+"@", 1)
	nc, err := dist.ConnectWith(withURL, nil) // the URL's user info
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	msg = connectErr(t, us.ClientURL(), &dist.ConnOptions{User: "alice", Password: "wrong-" + password}, `user "alice"`, "check $NATS_USER and $NATS_PASSWORD")
	badURL := strings.Replace(us.ClientURL(), "nats://", "nats://alice:wrong-"+password+"@", 1)
	msg += connectErr(t, badURL, nil, "Authorization Violation", "nats://alice:xxxxx@127.0.0.1")
	down := "nats://alice:" + password + "@127.0.0.1:1"
	msg += connectErr(t, down, nil, "cannot reach the NATS server at nats://alice:xxxxx@127.0.0.1:1")
	if strings.Contains(msg, password) {
		t.Errorf("an error shows the password: %s", msg)
	}
}

// An nkey user: the seed file's key is let in, another is refused.
func TestAuthNKey(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, &server.Options{Nkeys: []*server.NkeyUser{{Nkey: pub}}})
	smallRun(t, s.ClientURL(), &dist.ConnOptions{NKey: seedFile}, "nk")

	stranger, _ := nkeys.CreateUser()
	sseed, _ := stranger.Seed()
	strangerFile := filepath.Join(t.TempDir(), "stranger.nk")
	if err := os.WriteFile(strangerFile, sseed, 0o600); err != nil {
		t.Fatal(err)
	}
	connectErr(t, s.ClientURL(), &dist.ConnOptions{NKey: strangerFile}, "refused the nkey seed in "+strangerFile, "--nats-nkey")
	connectErr(t, s.ClientURL(), &dist.ConnOptions{NKey: seedFile + ".missing"}, "(--nats-nkey): no such file")
}

// The embedded server refuses to listen beyond loopback without a token or
// user; with a token, clients need it.
func TestEmbeddedAuth(t *testing.T) {
	_, err := dist.StartEmbeddedWith(t.TempDir(), "0.0.0.0:0", nil)
	if err == nil || !strings.Contains(err.Error(), "without authentication: set $NATS_TOKEN") {
		t.Fatalf("err = %v", err)
	}
	srv, err := dist.StartEmbeddedWith(t.TempDir(), "127.0.0.1:0", &dist.EmbeddedOptions{Token: "tk-123456"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	connectErr(t, srv.URL(), nil, "Authorization Violation")
	smallRun(t, srv.URL(), &dist.ConnOptions{Token: "tk-123456"}, "emb")
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://a:b@h:4222":               "nats://a:xxxxx@h:4222",
		"nats://tok@h:4222":               "nats://xxxxx@h:4222",
		"nats://h:4222":                   "nats://h:4222",
		"nats://a:b@h1:1, tls://c:d@h2:2": "nats://a:xxxxx@h1:1,tls://c:xxxxx@h2:2",
		"a:secret@h:4222":                 "xxxxx@h:4222",
		"nats://a:sec%zz@h:1":             "xxxxx@h:1",
	} {
		if got := dist.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// RedactURL never panics, leaves a URL without user info as it is, and
// redacting twice changes nothing more.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"nats://a:b@h:4222", "nats://tok@h", "h:4222", "a:b@h", "nats://a:b@h1,nats://c@h2", "nats://%zz@h", "tls://[::1]:4222"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := dist.RedactURL(s)
		if !strings.Contains(s, "@") && r != s {
			t.Fatalf("RedactURL(%q) = %q; it has no user info", s, r)
		}
		if again := dist.RedactURL(r); again != r {
			t.Fatalf("RedactURL(%q) = %q, then %q", s, r, again)
		}
	})
}
