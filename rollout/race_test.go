//go:build race

package rollout

// raceEnabled is true under the race detector, which makes decoding 10 MB
// replies too slow for the fault run's per-request timeout.
const raceEnabled = true
