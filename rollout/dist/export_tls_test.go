package dist

// CheckEmbeddedAuth is the embedded server's check of o for a listener on
// host, for a table of the hosts and credentials it accepts.
func CheckEmbeddedAuth(o *EmbeddedOptions, host string) error { return o.checkAuth(host) }
