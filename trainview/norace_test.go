//go:build !race

package trainview

const raceEnabled = false
