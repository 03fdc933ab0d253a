package dist_test

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain/internal/tlstest"
	"github.com/retrain-rl/retrain/rollout/dist"
)

var localhost = net.IPv4(127, 0, 0, 1)

// The embedded server with TLS: a client with the CA of its certificate
// completes a run over tls://; the listener serves no plain connection; a
// client without the CA, or with another, is refused with the error naming
// --nats-tls-ca.
func TestEmbeddedTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	cert, key := ca.Issue(t, "server", localhost)
	srv, err := dist.StartEmbeddedWith(t.TempDir(), "127.0.0.1:0", &dist.EmbeddedOptions{TLSCert: cert, TLSKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL(), "tls://127.0.0.1:") {
		t.Errorf("URL = %s, want tls://127.0.0.1:PORT", srv.URL())
	}
	smallRun(t, srv.URL(), &dist.ConnOptions{TLSCA: ca.CertFile}, "etls")

	plainURL := strings.Replace(srv.URL(), "tls://", "nats://", 1)
	connectErr(t, plainURL, nil, "unknown authority", "give the CA that signed it with --nats-tls-ca")
	other := tlstest.NewCA(t, "other")
	connectErr(t, srv.URL(), &dist.ConnOptions{TLSCA: other.CertFile}, "--nats-tls-ca "+other.CertFile+" is not the CA that signed it")
	if reply := plainExchange(t, srv.URL()); strings.Contains(reply, "PONG") {
		t.Errorf("a client without TLS got %q; the listener must serve TLS only", reply)
	}
}

// plainExchange speaks NATS without TLS to the server at url: it checks
// that the server's greeting requires TLS, sends CONNECT and PING in the
// clear, and returns what comes back before the server closes.
func plainExchange(t *testing.T, url string) string {
	t.Helper()
	conn, err := net.Dial("tcp", url[strings.Index(url, "://")+3:])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	info, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, `"tls_required":true`) {
		t.Errorf("the server's INFO does not require TLS: %s", info)
	}
	if _, err := conn.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n")); err != nil {
		return err.Error()
	}
	var got strings.Builder
	for {
		line, err := r.ReadString('\n')
		got.WriteString(line)
		if err != nil {
			return got.String()
		}
	}
}

// Mutual TLS on the embedded server: a client with a certificate of the
// client CA completes a run, with no token; one without a certificate, or
// with one of another CA, is refused with the error naming --nats-tls-cert.
func TestEmbeddedMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	cert, key := ca.Issue(t, "server", localhost)
	clients := tlstest.NewCA(t, "clients")
	ccert, ckey := clients.Issue(t, "worker")
	srv, err := dist.StartEmbeddedWith(t.TempDir(), "127.0.0.1:0", &dist.EmbeddedOptions{TLSCert: cert, TLSKey: key, TLSClientCA: clients.CertFile})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	smallRun(t, srv.URL(), &dist.ConnOptions{TLSCA: ca.CertFile, TLSCert: ccert, TLSKey: ckey}, "mtls")

	connectErr(t, srv.URL(), &dist.ConnOptions{TLSCA: ca.CertFile}, "rejected this side's TLS certificate", "--nats-tls-cert and --nats-tls-key")
	scert, skey := ca.Issue(t, "stranger") // of the server's CA, not the clients'
	for range 3 {                          // the server's alert comes before or after the client's handshake ends, or not at all
		connectErr(t, srv.URL(), &dist.ConnOptions{TLSCA: ca.CertFile, TLSCert: scert, TLSKey: skey}, "rejected this side's TLS certificate", "--nats-tls-cert "+scert+" must be signed by the CA it verifies clients with")
	}
}

// Which listeners the embedded server accepts: beyond loopback only with a
// token, a user and password, or a client CA (mutual TLS); TLS without a
// client CA encrypts but authenticates no one.
func TestEmbeddedAuthRules(t *testing.T) {
	for _, c := range []struct {
		host string
		o    dist.EmbeddedOptions
		want string // "" accepted
	}{
		{"127.0.0.1", dist.EmbeddedOptions{}, ""},
		{"localhost", dist.EmbeddedOptions{}, ""},
		{"::1", dist.EmbeddedOptions{}, ""},
		{"0.0.0.0", dist.EmbeddedOptions{}, "without authentication: set $NATS_TOKEN"},
		{"", dist.EmbeddedOptions{}, "without authentication"},
		{"10.0.0.5", dist.EmbeddedOptions{TLSCert: "c", TLSKey: "k"}, "without authentication (TLS encrypts but does not authenticate)"},
		{"0.0.0.0", dist.EmbeddedOptions{Token: "t"}, ""},
		{"0.0.0.0", dist.EmbeddedOptions{User: "u", Password: "p"}, ""},
		{"0.0.0.0", dist.EmbeddedOptions{TLSCert: "c", TLSKey: "k", TLSClientCA: "ca"}, ""},
		{"0.0.0.0", dist.EmbeddedOptions{User: "u"}, "needs a password"},
		{"127.0.0.1", dist.EmbeddedOptions{Password: "p"}, "a password needs its user"},
	} {
		err := dist.CheckEmbeddedAuth(&c.o, c.host)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q %+v: %v; want it accepted", c.host, c.o, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q %+v: err = %v; want one with %q", c.host, c.o, err, c.want)
		}
	}
}

// The embedded server's TLS settings that cannot work are refused before it
// listens, each with an error naming the flag to fix.
func TestEmbeddedTLSErrors(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	cert, key := ca.Issue(t, "server", localhost)
	_, otherKey := ca.Issue(t, "other", localhost)
	remote, remoteKey := ca.Issue(t, "remote", net.IPv4(10, 0, 0, 5))
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, listen string
		o            dist.EmbeddedOptions
		want         []string
	}{
		{"cert without key", "127.0.0.1:0", dist.EmbeddedOptions{TLSCert: cert}, []string{"(--nats-server-cert) needs its key (--nats-server-key)"}},
		{"key without cert", "127.0.0.1:0", dist.EmbeddedOptions{TLSKey: key}, []string{"(--nats-server-key) needs its certificate (--nats-server-cert)"}},
		{"client CA without cert", "127.0.0.1:0", dist.EmbeddedOptions{TLSClientCA: ca.CertFile}, []string{"--nats-server-client-ca", "give the embedded NATS server its certificate and key too"}},
		{"missing cert", "127.0.0.1:0", dist.EmbeddedOptions{TLSCert: missing, TLSKey: key}, []string{"certificate file " + missing + " (--nats-server-cert): no such file"}},
		{"missing key", "127.0.0.1:0", dist.EmbeddedOptions{TLSCert: cert, TLSKey: missing}, []string{"key file " + missing + " (--nats-server-key): no such file"}},
		{"missing client CA", "127.0.0.1:0", dist.EmbeddedOptions{TLSCert: cert, TLSKey: key, TLSClientCA: missing}, []string{"client CA file " + missing + " (--nats-server-client-ca): no such file"}},
		{"cert not PEM", "127.0.0.1:0", dist.EmbeddedOptions{TLSCert: garbage, TLSKey: key}, []string{garbage + " (--nats-server-cert) holds no PEM CERTIFICATE block"}},
		{"key not PEM", "127.0.0.1:0", dist.EmbeddedOptions{TLSCert: cert, TLSKey: garbage}, []string{garbage + " (--nats-server-key) holds no PEM PRIVATE KEY block"}},
		{"key is a certificate", "127.0.0.1:0", dist.EmbeddedOptions{TLSCert: cert, TLSKey: cert}, []string{"(--nats-server-key) holds no PEM PRIVATE KEY block"}},
		{"key of another cert", "127.0.0.1:0", dist.EmbeddedOptions{TLSCert: cert, TLSKey: otherKey}, []string{"key " + otherKey + " (--nats-server-key) does not match its certificate " + cert}},
		{"client CA not PEM", "127.0.0.1:0", dist.EmbeddedOptions{TLSCert: cert, TLSKey: key, TLSClientCA: garbage}, []string{"(--nats-server-client-ca) holds no PEM CERTIFICATE block"}},
		{"cert for another address", "127.0.0.1:0", dist.EmbeddedOptions{TLSCert: remote, TLSKey: remoteKey}, []string{"does not hold 127.0.0.1, the address it listens on (--nats-listen)", "it holds 10.0.0.5"}},
		{"all addresses, no loopback in cert", "0.0.0.0:0", dist.EmbeddedOptions{TLSCert: remote, TLSKey: remoteKey, TLSClientCA: ca.CertFile}, []string{"listens on all addresses (0.0.0.0, --nats-listen)", "issue the certificate for 127.0.0.1 too"}},
	} {
		srv, err := dist.StartEmbeddedWith(t.TempDir(), c.listen, &c.o)
		if err == nil {
			srv.Close()
			t.Errorf("%s: the server started", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err = %v\nwant it to say %q", c.name, err, w)
			}
		}
	}
}
