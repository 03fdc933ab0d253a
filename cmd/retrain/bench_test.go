package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain/bench"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"go.uber.org/goleak"
)

func TestBenchUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--concurrency", "64,x"}, `--concurrency "64,x": "x" is not a positive integer`},
		{[]string{"--concurrency", "0"}, `"0" is not a positive integer`},
		{[]string{"--latency", "0,fast"}, `--latency "0,fast": "fast" is not a duration`},
		{[]string{"--latency", "-5ms"}, `"-5ms" is not a duration`},
		{[]string{"--failures", "2"}, "--failures is 2"},
		{[]string{"--episodes", "0"}, "--episodes is 0"},
		{[]string{"--tokens", "-1"}, "--tokens is -1"},
		{[]string{"--repeat", "0"}, "--repeat is 0"},
		{[]string{"now"}, `unexpected argument "now"`},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, "", append([]string{"bench"}, tt.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("bench %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
	code, _, errOut := runCLI(t, "", "bench", "--help")
	if code != 0 || !strings.Contains(errOut, "--skip-10k") || strings.Contains(errOut, "-worker") {
		t.Errorf("bench --help: exit %d, %q; want the flags without the hidden worker mode", code, errOut)
	}
}

func TestParseLists(t *testing.T) {
	ints, err := parseInts(" 64, 512 ")
	if err != nil || !cmp.Equal(ints, []int{64, 512}) {
		t.Errorf("parseInts = %v, %v", ints, err)
	}
	ds, err := parseDurations("0, 50ms,1s")
	if err != nil || !cmp.Equal(ds, []time.Duration{0, 50 * time.Millisecond, time.Second}) {
		t.Errorf("parseDurations = %v, %v", ds, err)
	}
	for _, bad := range []string{"", ",", "1,,2"} {
		if _, err := parseInts(bad); err == nil {
			t.Errorf("parseInts(%q) succeeded", bad)
		}
		if _, err := parseDurations(bad); err == nil {
			t.Errorf("parseDurations(%q) succeeded", bad)
		}
	}
}

// The hidden worker mode, as bench.Run starts it in a child process: it runs
// the episodes against the given server and prints its result as JSON.
func TestBenchWorkerMode(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := openaitest.NewServer(bench.ServerOptions(20, 0, 0))
	defer srv.Close()
	for _, v := range []string{bench.Retrain, bench.Baseline} {
		out := filepath.Join(t.TempDir(), v+".jsonl")
		code, stdout, stderr := runCLI(t, "", "bench", "--worker", v, "--url", srv.URL, "--episodes", "4", "--concurrency", "2", "--out", out)
		if code != 0 {
			t.Fatalf("%s worker: exit %d: %s", v, code, stderr)
		}
		var res bench.WorkerResult
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("%s worker printed %q: %v", v, stdout, err)
		}
		if res.Variant != v || res.Lines != 4 || res.Failed != 0 {
			t.Errorf("%s worker result %+v", v, res)
		}
		o, err := bench.CheckOutput(out, 20)
		if err != nil || o.Correct != 4 {
			t.Errorf("%s worker output %+v, %v", v, o, err)
		}
	}
	code, _, stderr := runCLI(t, "", "bench", "--worker", "python")
	if code != 1 || !strings.Contains(stderr, `--worker is "python"`) {
		t.Errorf("bad worker: exit %d, %q", code, stderr)
	}
}
