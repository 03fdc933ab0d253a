package bench

import (
	"os"
	"os/exec"
	"runtime/pprof"
	"path/filepath"
	"testing"
	"time"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

func TestExpScale(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	RaiseFileLimit()
	srv := openaitest.NewServer(ServerOptions(200, 2*time.Second, 0))
	defer srv.Close()
	v := os.Getenv("EXP")
	cmd := exec.Command(os.Args[0], workerArg, "--worker", v, "--url", srv.URL, "--episodes", "10000", "--concurrency", "10000", "--out", filepath.Join(t.TempDir(), "o"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	_, _, rss := usage(cmd.ProcessState)
	t.Logf("rss %d MiB server peak %d", rss>>20, srv.MaxConcurrent())
}

func expHook() {
	p := os.Getenv("EXP_HEAP")
	if p == "" {
		return
	}
	d, _ := time.ParseDuration(os.Getenv("EXP_AT"))
	time.AfterFunc(d, func() {
		f, _ := os.Create(p)
		pprof.WriteHeapProfile(f)
		f.Close()
	})
}
