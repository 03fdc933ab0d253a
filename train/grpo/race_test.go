//go:build race

package grpo

// raceEnabled is set under the race detector, which slows the numeric
// loops some fifty times: the heavier tests do less then.
const raceEnabled = true
