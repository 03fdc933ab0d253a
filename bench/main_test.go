package bench

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// workerArg, as the first argument of the test binary, makes it a bench
// worker (see testWorker), so that tests of Run start real child processes.
const workerArg = "bench-worker"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == workerArg {
		if err := RunWorker(context.Background(), os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// testWorker is Options.Worker for tests: this test binary in worker mode.
func testWorker() []string { return []string{os.Args[0], workerArg} }
