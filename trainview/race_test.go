//go:build race

package trainview

// raceEnabled is set under the race detector, which slows the local
// model's numeric loops many times: the real-model test does less then.
const raceEnabled = true
