//go:build !unix

package httpsec

// openFileLimit returns 0: the limit of open files is unknown here.
func openFileLimit() int { return 0 }
