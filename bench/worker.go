package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
)

// WorkerFlag is the flag that starts the worker mode of a command line; [Run]
// appends it, the variant and the workload's flags to Options.Worker.
const WorkerFlag = "--worker"

// RunWorker is the child process's side of [Run]: it parses args
//
//	--worker retrain|baseline --url URL --episodes N --concurrency C --out FILE
//
// runs the workload with that client, and writes its [WorkerResult] as one
// JSON line to stdout. It raises the soft limit of open files to the hard
// limit first, for runs with thousands of connections.
func RunWorker(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	variant := fs.String("worker", "", "the client: retrain or baseline")
	var w Workload
	fs.StringVar(&w.URL, "url", "", "the server's base URL")
	fs.IntVar(&w.Episodes, "episodes", 0, "episodes to run")
	fs.IntVar(&w.Concurrency, "concurrency", 0, "episodes at once")
	fs.StringVar(&w.Out, "out", "", "output JSONL file")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("bench worker: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench worker: unexpected argument %q", fs.Arg(0))
	}
	run := RunRetrain
	switch *variant {
	case Retrain:
	case Baseline:
		run = RunBaseline
	default:
		return fmt.Errorf("bench worker: --worker is %q; want %q or %q", *variant, Retrain, Baseline)
	}
	if _, _, err := RaiseFileLimit(); err != nil {
		return err
	}
	res, err := run(ctx, &w)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}
