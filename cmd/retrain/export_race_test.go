//go:build race

package main

// exportRace is set under the race detector, which slows the local model
// many times: the export tests run fewer episodes then.
const exportRace = true
