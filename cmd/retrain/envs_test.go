package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain/env"
)

func TestEnvs(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"envs"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	var names []string
	for _, l := range lines {
		names = append(names, strings.Fields(l)[0])
	}
	for _, want := range []string{"calculator", "single_turn", "tool"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("envs output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(out.String(), "GSM8K") {
		t.Errorf("descriptions missing from output:\n%s", out.String())
	}
}

func TestEnvsJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"envs", "--json"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
	var got []env.Info
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not a JSON array of infos: %v\n%s", err, out.String())
	}
	if len(got) != len(env.Names()) {
		t.Errorf("%d environments listed, %d registered", len(got), len(env.Names()))
	}
	for i, info := range got {
		if info.Name == "" || info.Description == "" {
			t.Errorf("entry %d has an empty field: %+v", i, info)
		}
		if i > 0 && got[i-1].Name >= info.Name {
			t.Errorf("not sorted by name: %q before %q", got[i-1].Name, info.Name)
		}
	}
}

func TestEnvsBadArgs(t *testing.T) {
	for _, args := range [][]string{{"envs", "extra"}, {"envs", "--nope"}} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), args, stdio{in: strings.NewReader(""), out: &out, err: &errOut}); code != 2 {
			t.Errorf("%q: exit %d, want 2; stderr:\n%s", args, code, errOut.String())
		}
	}
}
