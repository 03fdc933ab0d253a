package dist

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// The environment variables that hold the secrets of a NATS connection
// ([ConnOptions.LoadEnv]): secrets are not given as flags, which any user of
// the machine sees in ps.
const (
	EnvToken    = "NATS_TOKEN"
	EnvUser     = "NATS_USER"
	EnvPassword = "NATS_PASSWORD"
)

// ConnOptions say how a coordinator or a worker authenticates to a NATS
// server and secures the connection; both sides use the same ([ConnectWith]).
// A URL's own user info (nats://user:password@host) works too and wins over
// User, Password and Token.
type ConnOptions struct {
	// Creds is a NATS credentials file (a user JWT and its nkey seed, as
	// nsc writes them), for a server in operator (JWT) mode.
	Creds string
	// NKey is a file holding a user's nkey seed (a line starting with SU).
	NKey string
	// Token is the server's authorization token ($NATS_TOKEN).
	Token string
	// User and Password are a user of the server's ($NATS_USER,
	// $NATS_PASSWORD).
	User, Password string
	// TLSCA is a PEM file of the CA certificates that sign the server's
	// certificate; empty means the system's. Setting any TLS file requires
	// TLS.
	TLSCA string
	// TLSCert and TLSKey are PEM files of this side's certificate and key,
	// for a server that verifies its clients (mutual TLS).
	TLSCert, TLSKey string
}

// LoadEnv fills Token, User and Password from $NATS_TOKEN, $NATS_USER and
// $NATS_PASSWORD where they are empty.
func (o *ConnOptions) LoadEnv() {
	for _, v := range []struct {
		field *string
		name  string
	}{{&o.Token, EnvToken}, {&o.User, EnvUser}, {&o.Password, EnvPassword}} {
		if *v.field == "" {
			*v.field = os.Getenv(v.name)
		}
	}
}

// Env returns the secrets of o as environment entries (NAME=value) for a
// child process, e.g. a local worker: secrets never go on a command line.
func (o *ConnOptions) Env() []string {
	var env []string
	for _, v := range []struct{ name, value string }{{EnvToken, o.Token}, {EnvUser, o.User}, {EnvPassword, o.Password}} {
		if v.value != "" {
			env = append(env, v.name+"="+v.value)
		}
	}
	return env
}

// TLS reports whether o asks for TLS.
func (o *ConnOptions) TLS() bool { return o.TLSCA != "" || o.TLSCert != "" || o.TLSKey != "" }

// check checks that o's files exist and go together, naming the option.
func (o *ConnOptions) check() error {
	switch {
	case o.TLSCert != "" && o.TLSKey == "":
		return errors.New("dist: a TLS certificate (--nats-tls-cert) needs its key (--nats-tls-key)")
	case o.TLSKey != "" && o.TLSCert == "":
		return errors.New("dist: a TLS key (--nats-tls-key) needs its certificate (--nats-tls-cert)")
	case o.Creds != "" && o.NKey != "":
		return errors.New("dist: give a credentials file (--nats-creds) or an nkey seed (--nats-nkey), not both")
	case o.Password != "" && o.User == "":
		return fmt.Errorf("dist: $%s is set but $%s is not: a password needs its user", EnvPassword, EnvUser)
	}
	for _, f := range []struct{ path, what, flag string }{
		{o.Creds, "credentials file", "--nats-creds"}, {o.NKey, "nkey seed file", "--nats-nkey"},
		{o.TLSCA, "TLS CA file", "--nats-tls-ca"}, {o.TLSCert, "TLS certificate file", "--nats-tls-cert"},
		{o.TLSKey, "TLS key file", "--nats-tls-key"},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("dist: the %s %s (%s): %v", f.what, f.path, f.flag, errors.Unwrap(err))
		}
	}
	return nil
}

// natsOptions returns the nats.go options of o.
func (o *ConnOptions) natsOptions() ([]nats.Option, error) {
	var opts []nats.Option
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.NKey != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKey)
		if err != nil {
			return nil, fmt.Errorf("dist: the nkey seed file %s (--nats-nkey): %v", o.NKey, err)
		}
		opts = append(opts, opt)
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	if o.TLS() {
		opts = append(opts, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	return opts, nil
}

// Connect connects to the NATS server at url (one URL, or several separated
// by commas: the nodes of a cluster) without credentials or TLS beyond the
// URL's own; see [ConnectWith].
func Connect(url string) (*nats.Conn, error) { return ConnectWith(url, nil) }

// ConnectWith connects to the NATS server at url (one URL, or several
// separated by commas: the nodes of a cluster) with o's credentials and TLS
// settings (nil: none), with an error that says what to do when the server
// cannot be reached, refuses the credentials or fails the TLS handshake.
// No error shows a password or a token.
func ConnectWith(url string, o *ConnOptions) (*nats.Conn, error) {
	var co ConnOptions
	if o != nil {
		co = *o
	}
	if err := co.check(); err != nil {
		return nil, err
	}
	opts, err := co.natsOptions()
	if err != nil {
		return nil, err
	}
	opts = append(opts, nats.Name("retrain"), nats.Timeout(5*time.Second), nats.MaxReconnects(-1))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, connectError(RedactURL(url), err, &co)
	}
	return nc, nil
}

// connectError explains a failure to connect to the server at url
// (redacted).
func connectError(url string, err error, o *ConnOptions) error {
	var unknownCA x509.UnknownAuthorityError
	var badName x509.HostnameError
	var invalid x509.CertificateInvalidError
	msg := err.Error()
	switch {
	case errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked):
		return fmt.Errorf("dist: the NATS server at %s refused %s (%v); check %s", url, o.credentials(), err, o.credentialHint())
	case errors.As(err, &unknownCA):
		ca := "give the CA that signed it with --nats-tls-ca"
		if o.TLSCA != "" {
			ca = "--nats-tls-ca " + o.TLSCA + " is not the CA that signed it"
		}
		return fmt.Errorf("dist: TLS with the NATS server at %s failed: its certificate is signed by an unknown authority; %s", url, ca)
	case errors.As(err, &badName):
		return fmt.Errorf("dist: TLS with the NATS server at %s failed: %v; connect by a host name (or address) the server's certificate holds", url, badName.Error())
	case errors.As(err, &invalid):
		return fmt.Errorf("dist: TLS with the NATS server at %s failed: the server's certificate is not valid: %v", url, invalid.Error())
	case errors.Is(err, nats.ErrSecureConnWanted):
		return fmt.Errorf("dist: the NATS server at %s does not offer TLS, but --nats-tls-* options ask for it: enable TLS on the server, or drop them", url)
	case strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate") || strings.Contains(msg, "unknown certificate authority") ||
		strings.Contains(msg, "closed by remote after TLS handshake"): // TLS 1.3: the server's alert may come after the client's handshake, or not at all
		hint := "give a certificate its CA signed with --nats-tls-cert and --nats-tls-key"
		if o.TLSCert != "" {
			hint = "--nats-tls-cert " + o.TLSCert + " must be signed by the CA it verifies clients with"
		}
		return fmt.Errorf("dist: the NATS server at %s rejected this side's TLS certificate (%v); it verifies its clients: %s", url, err, hint)
	case strings.Contains(msg, "tls:") || strings.Contains(msg, "x509:"):
		return fmt.Errorf("dist: TLS with the NATS server at %s failed: %v; check --nats-tls-ca, --nats-tls-cert and --nats-tls-key", url, err)
	}
	return fmt.Errorf("dist: cannot reach the NATS server at %s: %v; start one with JetStream (nats-server -js), or run the coordinator with --nats embedded", url, err)
}

// credentials says what o authenticates with, without a secret.
func (o *ConnOptions) credentials() string {
	switch {
	case o.Creds != "":
		return "the credentials file " + o.Creds
	case o.NKey != "":
		return "the nkey seed in " + o.NKey
	case o.User != "":
		return fmt.Sprintf("user %q with the password from $%s", o.User, EnvPassword)
	case o.Token != "":
		return "the token from $" + EnvToken
	}
	return "the connection (authorization violation: no credentials, or those in the URL, were not accepted)"
}

// credentialHint names the options to check.
func (o *ConnOptions) credentialHint() string {
	switch {
	case o.Creds != "":
		return "--nats-creds: the file must be a user's of the server's account"
	case o.NKey != "":
		return "--nats-nkey: the server must list the seed's public key"
	case o.User != "":
		return fmt.Sprintf("$%s and $%s (or the user:password in the URL)", EnvUser, EnvPassword)
	case o.Token != "":
		return fmt.Sprintf("$%s (or the token in the URL)", EnvToken)
	}
	return fmt.Sprintf("the server's authorization: set $%s, or $%s and $%s, put user:password@ in the URL, or give --nats-creds or --nats-nkey", EnvToken, EnvUser, EnvPassword)
}

// RedactURL returns a NATS URL, or a comma-separated list of them, with
// passwords and tokens replaced by xxxxx, for errors and logs.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		u, err := url.Parse(p)
		if err != nil || !strings.Contains(p, "://") {
			if strings.Contains(p, "@") { // unparsable, with user info: hide it all
				parts[i] = "xxxxx@" + p[strings.LastIndex(p, "@")+1:]
			}
			continue
		}
		if u.User == nil {
			continue
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		} else {
			u.User = url.User("xxxxx") // a token
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
