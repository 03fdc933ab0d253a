package dist_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/retrain-rl/retrain/rollout/dist"
)

// operator is a NATS operator (JWT mode) with one account with JetStream.
type operator struct {
	claims   *jwt.OperatorClaims
	resolver *server.MemAccResolver
	sys      string // the system account's public key
	account  nkeys.KeyPair
}

func newOperator(t *testing.T) *operator {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	okp, err := nkeys.CreateOperator()
	must(err)
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	ojwt, err := oc.Encode(okp)
	must(err)
	oc, err = jwt.DecodeOperatorClaims(ojwt)
	must(err)
	o := &operator{claims: oc, resolver: &server.MemAccResolver{}}
	for i := range 2 {
		akp, err := nkeys.CreateAccount()
		must(err)
		apub, _ := akp.PublicKey()
		ac := jwt.NewAccountClaims(apub)
		if i == 1 {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
			o.account = akp
		} else {
			o.sys = apub
		}
		ajwt, err := ac.Encode(okp)
		must(err)
		must(o.resolver.Store(apub, ajwt))
	}
	return o
}

// creds writes a credentials file of a new user of account.
func creds(t *testing.T, account nkeys.KeyPair) string {
	t.Helper()
	ukp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	upub, _ := ukp.PublicKey()
	ujwt, err := jwt.NewUserClaims(upub).Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := ukp.Seed()
	b, err := jwt.FormatUserConfig(ujwt, seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "user.creds")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A server in operator (JWT) mode: a user's credentials file of the
// account completes a run; one of an account the server does not know is
// refused with an error naming --nats-creds.
func TestAuthCreds(t *testing.T) {
	op := newOperator(t)
	s := startServer(t, &server.Options{TrustedOperators: []*jwt.OperatorClaims{op.claims}, AccountResolver: op.resolver, SystemAccount: op.sys})
	smallRun(t, s.ClientURL(), &dist.ConnOptions{Creds: creds(t, op.account)}, "creds")

	stranger, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	bad := creds(t, stranger)
	connectErr(t, s.ClientURL(), &dist.ConnOptions{Creds: bad}, "refused the credentials file "+bad, "--nats-creds")
	connectErr(t, s.ClientURL(), &dist.ConnOptions{Creds: bad + ".missing"}, "(--nats-creds): no such file")
}
