package proxy_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// benchChildEnv, set to the fake server's URL, makes this test binary the
// proxy process of BenchmarkAdded (see added_bench_test.go) instead of
// running tests.
const benchChildEnv = "RETRAIN_PROXY_BENCH_UPSTREAM"

// benchChild serves the proxy of BenchmarkAdded; nil where that benchmark
// is not built.
var benchChild func(upstream string) int

func TestMain(m *testing.M) {
	if u := os.Getenv(benchChildEnv); u != "" && benchChild != nil {
		os.Exit(benchChild(u))
	}
	goleak.VerifyTestMain(m)
}
