package tlstest_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"testing"

	"github.com/retrain-rl/retrain/internal/tlstest"
)

// A certificate the CA issues verifies against the CA's file for its
// address and for client authentication, loads with its key, and does not
// verify against another CA.
func TestIssue(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	certFile, keyFile := ca.Issue(t, "server", net.IPv4(127, 0, 0, 1))
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := pool(t, ca.CertFile)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("usage %v: %v", usage, err)
		}
	}
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "10.0.0.1"}); err == nil {
		t.Error("the certificate verifies for an address it was not issued for")
	}
	other := tlstest.NewCA(t, "other")
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: pool(t, other.CertFile)}); err == nil {
		t.Error("the certificate verifies against another CA")
	}
	c1, _ := ca.Issue(t, "c1")
	c2, _ := ca.Issue(t, "c2")
	if serial(t, c1).Cmp(serial(t, c2)) == 0 {
		t.Error("two certificates of a CA have the same serial number")
	}
}

func pool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", file)
	}
	return p
}

// serial returns the serial number of the certificate in file.
func serial(t *testing.T, file string) *big.Int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM block", file)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber
}
