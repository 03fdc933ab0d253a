package dist

// DropAdvisories makes coordinators ignore max-deliveries advisories, as if
// each were lost; it returns a function that restores them.
func DropAdvisories() (restore func()) {
	dropAdvisories.Store(true)
	return func() { dropAdvisories.Store(false) }
}
