package httpsec

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// IsLoopbackHost reports whether a Host header value (a host with an
// optional port) names a loopback host: localhost, an address of
// 127.0.0.0/8, or [::1].
func IsLoopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil { // no port
		host = hostport
		if strings.HasPrefix(host, "[") || strings.HasSuffix(host, "]") {
			if len(host) < 2 || host[0] != '[' || host[len(host)-1] != ']' {
				return false
			}
			host = host[1 : len(host)-1]
		}
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

// IsLoopbackAddr reports whether a listener's or a connection's address is
// a loopback one (a Unix socket counts: it is local).
func IsLoopbackAddr(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// CheckExposure returns an error wrapping ErrExposed when addr, a
// listener's address, is not a loopback one and there is no token, unless
// insecure allows it.
func CheckExposure(addr net.Addr, token string, insecure bool) error {
	if token != "" || insecure || IsLoopbackAddr(addr) {
		return nil
	}
	return fmt.Errorf("%s: %w", addr, ErrExposed)
}
