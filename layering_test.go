package retrain_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is the project's import path.
const module = "github.com/retrain-rl/retrain"

// layers is the architecture: the project's packages from the bottom up. A
// package may import packages of its own layer and of the layers below it,
// never one above. An entry names a package ("model") or, ending in "/...",
// the packages under a directory ("tool/..."); the longest match decides, so
// an exception is a more specific entry. Test files are not checked: a test
// may drive a package with the real thing above it.
var layers = []struct {
	name     string
	packages []string
}{
	{"contract: the types every layer shares", []string{
		"", // the root package retrain
	}},
	{"foundations: no domain, nothing of the project but each other", []string{
		"config",
		"internal/...",
		"internal/registry", // the locked set of named values the registries are built on
	}},
	{"tools: what a model can call, and where it runs", []string{
		"tool", "tool/...",
		"sandbox", "sandbox/...",
	}},
	{"model text and models: dialects, model clients and backends", []string{
		"dialect", "dialect/...",
		"model", "model/...",
		"internal/answer",   // reads answers out of model text with a dialect
		"internal/chatwire", // the chat-completions wire format, written from a model.Request
	}},
	{"environments and scoring", []string{
		"env", "env/...",
		"reward", "reward/...",
		"report", "report/...",
	}},
	{"rollouts: episodes of an environment with a model", []string{
		"rollout", "rollout/...",
	}},
	{"users of rollouts: bridges, the trainer, the proxy, the benchmark", []string{
		"bridge/...",
		"train", "train/...",
		"proxy", "proxy/...",
		"bench", "bench/...",
		"trainview", // trajectories as the token sequences a trainer learns from
	}},
	{"serving environments and rollouts over the network", []string{
		"server", "server/...",
	}},
	{"commands", []string{
		"cmd/...",
	}},
}

// layerOf returns the index in layers of the package at path rel (relative
// to the module; "" is the root), or -1 when no entry matches.
func layerOf(rel string) int {
	best, bestLen := -1, -1
	for i, l := range layers {
		for _, p := range l.packages {
			n := -1
			if dir, ok := strings.CutSuffix(p, "/..."); ok {
				if strings.HasPrefix(rel, dir+"/") {
					n = len(dir)
				}
			} else if rel == p {
				n = len(p) + 1 // an exact name beats a directory of the same name
			}
			if n > bestLen {
				best, bestLen = i, n
			}
		}
	}
	return best
}

// checkLayering returns a problem for every package of imports (import path
// → its imports, standard library and other modules included) that is not
// in the table or imports a package of a higher layer.
func checkLayering(imports map[string][]string) []string {
	var problems []string
	for pkg, imps := range imports {
		rel, ok := relPath(pkg)
		if !ok {
			continue
		}
		l := layerOf(rel)
		if l < 0 {
			problems = append(problems, fmt.Sprintf("package %s is in no layer: add it to the layers table in layering_test.go", pkg))
			continue
		}
		for _, imp := range imps {
			irel, ok := relPath(imp)
			if !ok {
				continue
			}
			il := layerOf(irel)
			if il < 0 {
				problems = append(problems, fmt.Sprintf("package %s imports %s, which is in no layer: add it to the layers table in layering_test.go", pkg, imp))
			} else if il > l {
				problems = append(problems, fmt.Sprintf("package %s (layer %q) imports %s of a higher layer (%q)", pkg, layers[l].name, imp, layers[il].name))
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// relPath returns the path of a package of the module relative to its root.
func relPath(pkg string) (string, bool) {
	if pkg == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(pkg, module+"/")
	return rel, ok
}

// TestLayering checks that no package of the module imports one of a higher
// layer, and that every package is in the table.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	imports := map[string][]string{}
	for line := range bytes.Lines(out) {
		f := strings.Fields(string(line))
		if len(f) > 0 {
			imports[f[0]] = f[1:]
		}
	}
	if len(imports) < 10 {
		t.Fatalf("go list found %d packages: %s", len(imports), out)
	}
	for _, p := range checkLayering(imports) {
		t.Error(p)
	}
}

// TestCheckLayering checks the checker on a made-up module.
func TestCheckLayering(t *testing.T) {
	m := func(rel string) string {
		if rel == "" {
			return module
		}
		return module + "/" + rel
	}
	imports := map[string][]string{
		m(""):                {"fmt"},
		m("tool/calculator"): {m("tool"), m("")},
		m("env/games"):       {m("model/openai"), m("internal/answer")},
		m("internal/answer"): {m("dialect")},
		m("model/local/x"):   {m("rollout")},        // upward
		m("cmd/retrain"):     {m("server"), "os"},   // fine
		m("mystery"):         {m("")},               // not in the table
		m("rollout"):         {m("newthing/inner")}, // imports something not in the table
		"example.com/other":  {m("cmd/retrain")},    // not ours
	}
	got := checkLayering(imports)
	want := []string{
		"package " + m("model/local/x") + ` (layer "model text and models: dialects, model clients and backends") imports ` + m("rollout") + ` of a higher layer ("rollouts: episodes of an environment with a model")`,
		"package " + m("mystery") + " is in no layer: add it",
		"package " + m("rollout") + " imports " + m("newthing/inner") + ", which is in no layer: add it",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, w)
		}
		if !found {
			t.Errorf("no problem starting %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
	for _, tt := range []struct {
		rel  string
		want int
	}{
		{"", 0}, {"config", 1}, {"internal/strictjson", 1}, {"internal/answer", 3},
		{"tool", 2}, {"tool/mcp/mcptest", 2}, {"model/local/internal/kernel", 3},
		{"train", 6}, {"trainer", -1}, {"cmd/trainlocal", 8}, {"cmd", -1},
	} {
		if got := layerOf(tt.rel); got != tt.want {
			t.Errorf("layerOf(%q) = %d, want %d", tt.rel, got, tt.want)
		}
	}
}
