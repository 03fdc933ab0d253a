package dist

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// EmbeddedOptions say how the embedded server ([StartEmbeddedWith])
// authenticates its clients and secures its listener. The zero value: no
// authentication and no TLS, which only a loopback listener allows.
type EmbeddedOptions struct {
	// Token, or User and Password, are the credentials every client must
	// send ($NATS_TOKEN, or $NATS_USER and $NATS_PASSWORD).
	Token          string
	User, Password string
	// TLSCert and TLSKey are PEM files of the server's certificate (with
	// any intermediates after it) and its key (--nats-server-cert,
	// --nats-server-key): the listener then serves TLS only, and every
	// client must verify the certificate (a client's --nats-tls-ca). The
	// certificate must hold the address the server's own clients connect
	// by ([Server.URL]). TLS alone does not authenticate clients.
	TLSCert, TLSKey string
	// TLSClientCA is a PEM file of the CA certificates that sign the
	// clients' certificates (--nats-server-client-ca): every client must
	// present one (mutual TLS; a client's --nats-tls-cert and
	// --nats-tls-key), which authenticates it. It needs TLSCert.
	TLSClientCA string
}

// authenticates reports whether o makes clients prove who they are: a
// token, a user, or a client certificate (mutual TLS).
func (o *EmbeddedOptions) authenticates() bool {
	return o.Token != "" || o.User != "" || o.TLSClientCA != ""
}

// checkAuth checks o's credentials for a server listening on host: a host
// beyond loopback needs o to authenticate clients.
func (o *EmbeddedOptions) checkAuth(host string) error {
	switch {
	case !o.authenticates() && !loopback(host):
		extra := ""
		if o.TLSCert != "" {
			extra = " (TLS encrypts but does not authenticate)"
		}
		return fmt.Errorf("dist: the embedded NATS server would listen on %s, beyond this machine, without authentication%s: set $%s (or $%s and $%s) in the environment, which its clients then need too (local workers get it), or make every client present a certificate (--nats-server-client-ca, mutual TLS), or listen on 127.0.0.1", host, extra, EnvToken, EnvUser, EnvPassword)
	case o.User != "" && o.Password == "":
		return fmt.Errorf("dist: the embedded NATS server's user $%s needs a password ($%s)", EnvUser, EnvPassword)
	case o.Password != "" && o.User == "":
		return fmt.Errorf("dist: $%s is set but $%s is not: a password needs its user", EnvPassword, EnvUser)
	}
	return nil
}

// serverTLS returns the tls.Config of o's TLS files (nil without
// TLSCert) and the host the server's own clients connect by: listenHost,
// or, when it is unspecified (0.0.0.0, ::, empty), a loopback name the
// certificate holds.
func (o *EmbeddedOptions) serverTLS(listenHost string) (_ *tls.Config, clientHost string, err error) {
	switch {
	case o.TLSCert != "" && o.TLSKey == "":
		return nil, "", errors.New("dist: the embedded NATS server's certificate (--nats-server-cert) needs its key (--nats-server-key)")
	case o.TLSKey != "" && o.TLSCert == "":
		return nil, "", errors.New("dist: the embedded NATS server's key (--nats-server-key) needs its certificate (--nats-server-cert)")
	case o.TLSClientCA != "" && o.TLSCert == "":
		return nil, "", errors.New("dist: a client CA (--nats-server-client-ca) verifies clients over TLS: give the embedded NATS server its certificate and key too (--nats-server-cert, --nats-server-key)")
	case o.TLSCert == "":
		return nil, listenHost, nil
	}
	certPEM, err := readPEM(o.TLSCert, "certificate file", "--nats-server-cert", "CERTIFICATE")
	if err != nil {
		return nil, "", err
	}
	keyPEM, err := readPEM(o.TLSKey, "key file", "--nats-server-key", "PRIVATE KEY")
	if err != nil {
		return nil, "", err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return nil, "", fmt.Errorf("dist: the embedded NATS server's key %s (--nats-server-key) does not match its certificate %s (--nats-server-cert): give the key the certificate was issued for", o.TLSKey, o.TLSCert)
		}
		return nil, "", fmt.Errorf("dist: the embedded NATS server's certificate %s (--nats-server-cert) and key %s (--nats-server-key): %v", o.TLSCert, o.TLSKey, err)
	}
	leaf := pair.Leaf
	if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, "", fmt.Errorf("dist: the embedded NATS server's certificate %s (--nats-server-cert) is valid from %s to %s, not now: issue a new one", o.TLSCert, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	clientHost, err = hostInCert(leaf, listenHost, o.TLSCert)
	if err != nil {
		return nil, "", err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if o.TLSClientCA != "" {
		caPEM, err := readPEM(o.TLSClientCA, "client CA file", "--nats-server-client-ca", "CERTIFICATE")
		if err != nil {
			return nil, "", err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, "", fmt.Errorf("dist: the client CA file %s (--nats-server-client-ca) holds no certificate that parses: give the PEM file of the CA that signs the clients' certificates", o.TLSClientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, clientHost, nil
}

// readPEM reads file, which must hold a PEM block whose type ends in typ,
// with an error naming what it is and its flag.
func readPEM(file, what, flag, typ string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("dist: the embedded NATS server's %s %s (%s): %v", what, file, flag, err)
	}
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("dist: the embedded NATS server's %s %s (%s) holds no PEM %s block: give a PEM file (-----BEGIN %s-----)", what, file, flag, typ, typ)
		}
		if strings.HasSuffix(block.Type, typ) {
			return b, nil
		}
	}
}

// hostInCert returns the host by which the server's own clients (the
// coordinator, its local workers) connect to a server listening on
// listenHost with the certificate leaf (read from file): listenHost
// itself, or for an unspecified one the first of 127.0.0.1, localhost and
// ::1 that leaf holds; an error when leaf holds none.
func hostInCert(leaf *x509.Certificate, listenHost, file string) (string, error) {
	held := strings.Join(append(append([]string{}, leaf.DNSNames...), ipStrings(leaf.IPAddresses)...), ", ")
	if held == "" {
		held = "no address or DNS name"
	}
	if ip := net.ParseIP(listenHost); listenHost != "" && (ip == nil || !ip.IsUnspecified()) {
		if leaf.VerifyHostname(listenHost) != nil {
			return "", fmt.Errorf("dist: the embedded NATS server's certificate %s (--nats-server-cert) does not hold %s, the address it listens on (--nats-listen), by which the coordinator and its local workers connect to it: it holds %s; listen on one of those, or issue the certificate for %s too", file, listenHost, held, listenHost)
		}
		return listenHost, nil
	}
	for _, h := range []string{"127.0.0.1", "localhost", "::1"} {
		if leaf.VerifyHostname(h) == nil {
			return h, nil
		}
	}
	return "", fmt.Errorf("dist: the embedded NATS server listens on all addresses (%s, --nats-listen), and the coordinator and its local workers connect to it by 127.0.0.1, localhost or ::1, none of which its certificate %s (--nats-server-cert) holds (it holds %s): issue the certificate for 127.0.0.1 too, or listen on one address it holds", cmp.Or(listenHost, "0.0.0.0"), file, held)
}

func ipStrings(ips []net.IP) []string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return s
}
