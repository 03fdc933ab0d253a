package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	rep, stderr := benchDistJSON(t, bin, "--tasks", "3", "--n", "2", "--workers", "1,2", "--concurrency", "2",
		"--latency", "0", "--tokens", "5")
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
		if !strings.Contains(stderr, p) {
			t.Errorf("the progress lines lack %q:\n%s", p, stderr)
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
		{[]string{"--workload", "sandbox"}, `--workload is "sandbox"; use calculator or code`},
		{[]string{"--data", humanEvalPath}, "--data is for --workload code"},
		{[]string{"--workload", "code", "--data", "nonexistent.jsonl"}, "--data: stat nonexistent.jsonl: no such file or directory; give HumanEval's JSONL"},
		{[]string{"--workload", "code", "--data", humanEvalPath, "--tasks", "165"}, "--tasks is 165 but"},
		{[]string{"--workload", "code", "--data", humanEvalPath, "--concurrency", "0"}, "--concurrency is 0"},
	} {
		code, out, errOut := runCLI(t, "", append([]string{"bench", "dist"}, tt.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("bench dist %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
	code, _, errOut := runCLI(t, "", "bench", "dist", "--help")
	if code != 0 || !strings.Contains(errOut, "retrain bench dist") || !strings.Contains(errOut, "-workers") || !strings.Contains(errOut, "-workload") {
		t.Errorf("bench dist --help: exit %d, %q", code, errOut)
	}
	// Run elsewhere, the code workload asks for its data.
	t.Run("no data here", func(t *testing.T) {
		t.Chdir(t.TempDir())
		code, _, errOut := runCLI(t, "", "bench", "dist", "--workload", "code")
		if code != 2 || !strings.Contains(errOut, "no testdata/humaneval/HumanEval.jsonl in this directory or its parents") || !strings.Contains(errOut, "--data FILE") {
			t.Errorf("bench dist --workload code in an empty directory: exit %d, %q; want exit 2 and how to give --data", code, errOut)
		}
	})
}

// "retrain bench dist --workload code" with tiny sizes, HumanEval found
// from the working directory (cmd/retrain, two levels below it): every
// episode written, whole, and passing its tests in the sandbox, with the
// coordinator's and the workers' CPU measured; first, the reaper alone.
func TestBenchDistCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	defer goleak.VerifyNone(t)
	bin := buildRetrain(t)
	t.Run("reaper", func(t *testing.T) { checkReaper(t, bin) })
	rep, _ := benchDistJSON(t, bin, "--workload", "code", "--tasks", "3", "--workers", "1", "--latency", "0", "--tokens", "5")
	if abs, _ := filepath.Abs(humanEvalPath); rep.Workload != "code" || rep.Data != abs || rep.Tasks != 3 || rep.N != distCodeN || rep.PerWorker != distCodeConcurrency {
		t.Errorf("report of workload %q on %q, %d tasks × %d, %d a worker; want code on %s, 3 × %d, %d", rep.Workload, rep.Data,
			rep.Tasks, rep.N, rep.PerWorker, abs, distCodeN, distCodeConcurrency)
	}
	if len(rep.Comparisons) != 1 || len(rep.Problems) != 0 {
		t.Fatalf("comparisons %+v, problems %q; want 1 worker count, no problem", rep.Comparisons, rep.Problems)
	}
	c := rep.Comparisons[0]
	for _, m := range []distMeasurement{c.InProcess, c.Distributed} {
		if m.Episodes != 6 || m.Output.Lines != 6 || m.Output.Unique != 6 || m.Output.Correct != 6 || m.Output.Failed != 0 || m.Output.BadTokens != 0 {
			t.Errorf("%s: %d episodes, output %+v; want 6 written, all passing their tests", m.label(), m.Episodes, m.Output)
		}
		if m.CPUSeconds <= 0 || m.EpisodesPerSecond <= 0 {
			t.Errorf("%s: %+v; want CPU time and throughput measured", m.label(), m)
		}
	}
	if d := c.Distributed; d.CoordinatorCPUSeconds <= 0 || d.WorkerCPUSeconds <= 0 || d.CPUSeconds != d.CoordinatorCPUSeconds+d.WorkerCPUSeconds {
		t.Errorf("distributed run %+v; want the coordinator's and the workers' CPU apart, summed", d)
	}
}

// checkReaper checks that the reaper (bin's) counts the CPU of a
// bubblewrap sandbox's test (with its PID namespace, bwrap does not wait
// for the init process that waited for the test): a sandboxed Python that
// burns 0.3 s of CPU shows in the reaper's rusage.
func checkReaper(t *testing.T, bin string) {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Fatalf("bubblewrap (bwrap) is not installed: %v; apt-get install bubblewrap (scripts/test.sh does)", err)
	}
	burn := "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\nprint('burnt')"
	cmd := exec.Command(bin, "bench", "dist", distReaperFlag, bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
		"--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
		"--proc", "/proc", "--dev", "/dev", "/usr/bin/python3", "-c", burn)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "burnt" {
		t.Fatalf("reaper: %v\n%s", err, out)
	}
	if cpu := processCPU(cmd.ProcessState); cpu < 300*time.Millisecond {
		t.Errorf("the reaper's CPU is %v; want at least the 0.3 s the sandboxed Python burnt", cpu)
	}
	// A command that fails fails the reaper.
	if out, err := exec.Command(bin, "bench", "dist", distReaperFlag, "/bin/false").CombinedOutput(); err == nil || !strings.Contains(string(out), "exited with status 1") {
		t.Errorf("reaper of /bin/false: %v, %q; want a failure saying its status", err, out)
	}
}

// benchDistJSON runs bin's "bench dist" with args and --json, and returns
// its report and what it wrote to stderr (the progress lines).
func benchDistJSON(t *testing.T, bin string, args ...string) (distReport, string) {
	t.Helper()
	cmd := exec.Command(bin, append(append([]string{"bench", "dist"}, args...), "--json")...)
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
	return rep, stderr.String()
}
