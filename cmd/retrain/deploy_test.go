package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"gopkg.in/yaml.v3"
)

// The deployment examples of docs/distributed.md (docs/deploy, shown there
// as they are) parse as YAML, and the commands they run are valid: retrain's flags parse and
// pass validation (the run then stops at the unreachable NATS server, which
// stands in for the cluster's), nats-server's flags parse, and the
// rewards configuration of the Kubernetes manifest loads and scores a run.
func TestDistributedDeployExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "docs", "deploy")
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "distributed.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"compose.yaml", "kubernetes.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), "```yaml\n"+string(b)+"```\n") {
			t.Errorf("docs/distributed.md does not show docs/deploy/%s as it is: copy the file into its yaml block", name)
		}
	}
	var retrainCmds, natsCmds int
	check := func(file, image string, argv []string) {
		t.Helper()
		switch {
		case strings.HasPrefix(image, "nats:"):
			natsCmds++
			args := make([]string, len(argv))
			for i, a := range argv {
				args[i] = strings.ReplaceAll(a, "$(POD_NAME)", "nats-0") // Kubernetes expands it
			}
			fs := flag.NewFlagSet("nats-server", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			opts, err := server.ConfigureOptions(fs, args, func() {}, func() {}, func() {})
			if err != nil {
				t.Errorf("%s: nats-server %q: %v", file, args, err)
				return
			}
			if !opts.JetStream || opts.StoreDir == "" || opts.Cluster.Name == "" || len(opts.Routes) != 3 || opts.ServerName == "" {
				t.Errorf("%s: nats-server %q: want JetStream with a store, a named server, a named cluster with routes to the 3 nodes; got JetStream %v, store %q, server %q, cluster %q, %d routes",
					file, args, opts.JetStream, opts.StoreDir, opts.ServerName, opts.Cluster.Name, len(opts.Routes))
			}
		case strings.HasPrefix(image, "retrain"):
			retrainCmds++
			if len(argv) < 2 || argv[0] != "retrain" {
				t.Errorf("%s: command %q does not run retrain", file, argv)
				return
			}
			args := make([]string, 0, len(argv)-1)
			for i := 1; i < len(argv); i++ {
				args = append(args, argv[i])
				if argv[i] == "--nats" && i+1 < len(argv) {
					if n := len(strings.Split(argv[i+1], ",")); n != 3 {
						t.Errorf("%s: --nats %s names %d servers, want the 3 nodes", file, argv[i+1], n)
					}
					args = append(args, "nats://127.0.0.1:1") // unreachable: the command stops there
					i++
				}
			}
			code, _, errOut := runCLI(t, "", args...)
			if code != 1 || !strings.Contains(errOut, "cannot reach the NATS server at nats://127.0.0.1:1") {
				t.Errorf("%s: retrain %q: exit %d, %q; want its flags accepted and the NATS server found unreachable", file, argv[1:], code, errOut)
			}
		}
	}

	// Compose: services with an image and a command.
	var compose struct {
		Services map[string]struct {
			Image   string   `yaml:"image"`
			Command []string `yaml:"command"`
		} `yaml:"services"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for name, s := range compose.Services {
		if s.Image == "" || len(s.Command) == 0 {
			t.Errorf("compose.yaml: service %s has no image or no command", name)
		}
		check("compose.yaml service "+name, s.Image, s.Command)
	}
	if retrainCmds != 2 || natsCmds != 3 {
		t.Errorf("compose.yaml: %d retrain and %d nats-server commands; want 2 (worker, coordinator) and 3", retrainCmds, natsCmds)
	}

	// Kubernetes: every document's containers (command + args), and the
	// rewards ConfigMap.
	retrainCmds, natsCmds = 0, 0
	f, err := os.Open(filepath.Join(dir, "kubernetes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	kinds := map[string]int{}
	var rewards string
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("kubernetes.yaml: %v", err)
		}
		kind, _ := doc["kind"].(string)
		if kind == "" || doc["apiVersion"] == nil || doc["metadata"] == nil {
			t.Errorf("kubernetes.yaml: a document without kind, apiVersion or metadata: %v", doc)
		}
		kinds[kind]++
		if kind == "ConfigMap" {
			rewards, _ = doc["data"].(map[string]any)["rewards.yaml"].(string)
		}
		for _, c := range containersOf(doc) {
			image, _ := c["image"].(string)
			check("kubernetes.yaml "+kind, image, append(stringsOf(c["command"]), stringsOf(c["args"])...))
		}
	}
	if retrainCmds != 2 || natsCmds != 1 || kinds["StatefulSet"] != 1 || kinds["Deployment"] != 1 || kinds["Job"] != 1 {
		t.Errorf("kubernetes.yaml: %d retrain and %d nats-server containers, kinds %v; want a worker Deployment, a coordinator Job and a NATS StatefulSet", retrainCmds, natsCmds, kinds)
	}
	if rewards == "" {
		t.Fatal("kubernetes.yaml: no rewards.yaml in the ConfigMap")
	}
	tmp := t.TempDir()
	path := filepath.Join(tmp, "rewards.yaml")
	if err := os.WriteFile(path, []byte(rewards), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "", "rollout", "--model", "fake", "--tasks", "2", "--n", "2", "--quiet", "--rewards", path, "--out", filepath.Join(tmp, "out.jsonl"))
	if code != 0 {
		t.Errorf("a rollout with the ConfigMap's rewards: exit %d: %s", code, errOut)
	}
}

// containersOf finds the containers of a Kubernetes object: under any
// "containers" list of its spec, however deep (pod templates, job templates).
func containersOf(v any) []map[string]any {
	var out []map[string]any
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "containers" {
				for _, c := range x.([]any) {
					out = append(out, c.(map[string]any))
				}
				continue
			}
			out = append(out, containersOf(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, containersOf(x)...)
		}
	}
	return out
}

// stringsOf is a YAML list of strings as a slice.
func stringsOf(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
