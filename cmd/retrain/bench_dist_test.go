package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// "retrain bench dist" with tiny sizes, from the built binary (it starts
// rollout and worker processes of itself): every run writes every episode,
// right, and the numbers are there and sane.
func TestBenchDist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	defer goleak.VerifyNone(t)
	bin := buildRetrain(t)
	cmd := exec.Command(bin, "bench", "dist", "--tasks", "3", "--n", "2", "--workers", "1,2", "--concurrency", "2",
		"--latency", "0", "--tokens", "5", "--json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench dist: %v\n%s", err, stderr.String())
	}
	var rep distReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("bench dist printed %q: %v", out, err)
	}
	if len(rep.Comparisons) != 2 || rep.Comparisons[0].Workers != 1 || rep.Comparisons[1].Workers != 2 {
		t.Fatalf("comparisons %+v; want 1 and 2 workers", rep.Comparisons)
	}
	for _, c := range rep.Comparisons {
		for _, m := range []distMeasurement{c.InProcess, c.Distributed} {
			if m.Episodes != 6 || m.Output.Lines != 6 || m.Output.Unique != 6 || m.Output.Correct != 6 || m.Output.Failed != 0 {
				t.Errorf("%s: %d episodes, output %+v; want 6 written, all right", m.label(), m.Episodes, m.Output)
			}
			if m.Concurrency != 2*c.Workers || m.CPUSeconds <= 0 || m.EpisodesPerSecond <= 0 || m.CPUMsPerEpisode <= 0 || m.ProcessSeconds <= 0 {
				t.Errorf("%s: %+v; want the concurrency, CPU time and throughput measured", m.label(), m)
			}
		}
		d := c.Distributed
		if d.Mode != "distributed" || d.Workers != c.Workers || d.CoordinatorCPUSeconds <= 0 || d.WorkerCPUSeconds <= 0 ||
			d.CPUSeconds != d.CoordinatorCPUSeconds+d.WorkerCPUSeconds {
			t.Errorf("distributed run %+v; want the coordinator's and the workers' CPU apart, summed", d)
		}
		if c.InProcess.Mode != "in-process" || c.InProcess.Workers != 0 || c.InProcess.CoordinatorCPUSeconds != 0 {
			t.Errorf("in-process run %+v", c.InProcess)
		}
		if want := (d.CPUMsPerEpisode - c.InProcess.CPUMsPerEpisode) / c.InProcess.CPUMsPerEpisode; c.Overhead != want || c.CoordinatorShare <= 0 {
			t.Errorf("overhead %g, coordinator share %g; want %g and a share", c.Overhead, c.CoordinatorShare, want)
		}
	}
	if len(rep.Targets) != 3 || len(rep.Problems) != 0 {
		t.Errorf("targets %+v, problems %q; want 2 overhead targets and 1 growth target, no problem", rep.Targets, rep.Problems)
	}
	for _, p := range []string{"in-process c=2", "distributed 2 worker(s) c=4"} {
		if !strings.Contains(stderr.String(), p) {
			t.Errorf("the progress lines lack %q:\n%s", p, stderr.String())
		}
	}
}

func TestBenchDistUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--workers", "1,x"}, `--workers "1,x": "x" is not a positive integer`},
		{[]string{"--workers", "0"}, `"0" is not a positive integer`},
		{[]string{"--tasks", "0"}, "--tasks is 0"},
		{[]string{"--concurrency", "0"}, "--concurrency is 0"},
		{[]string{"--latency", "-1s"}, "--latency is -1s"},
		{[]string{"--tokens", "0"}, "--tokens is 0"},
		{[]string{"--repeat", "0"}, "--repeat is 0"},
		{[]string{"now"}, `unexpected argument "now"`},
	} {
		code, out, errOut := runCLI(t, "", append([]string{"bench", "dist"}, tt.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("bench dist %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
	code, _, errOut := runCLI(t, "", "bench", "dist", "--help")
	if code != 0 || !strings.Contains(errOut, "retrain bench dist") || !strings.Contains(errOut, "-workers") {
		t.Errorf("bench dist --help: exit %d, %q", code, errOut)
	}
}
