package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain/config"
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

// retrain envs NAME describes each key from the config type.
func TestEnvsKeys(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"envs", "tictactoe"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
	for _, want := range []string{
		"tictactoe: tic-tac-toe against an opponent",
		"max_steps ", "client", "bounds the model's steps; default 64",
		"opponent_model ", "operator",
		"    base_url ", // nested under opponent_model
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(t.Context(), []string{"envs", "--json", "calculator"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut}); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
	var info env.Info
	if err := json.Unmarshal(out.Bytes(), &info); err != nil || info.Name != "calculator" || len(info.Keys) == 0 {
		t.Fatalf("--json calculator: %v: %s", err, out.String())
	}
	if k := info.Keys[2]; k.Name != "max_steps" || string(k.Default) != "10" || k.Access != config.Client || k.Doc == "" {
		t.Errorf("max_steps key %+v", k)
	}
	if r := info.Rewards; r == nil || len(r.Rollout) != 2 || r.Rollout[0].Reward != "math_equal" || r.Rollout[1].Reward != "format" {
		t.Errorf("--json calculator: rewards %+v, want correct (math_equal) and format", r)
	}
	out.Reset()
	if code := run(t.Context(), []string{"envs", "calculator"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut}); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
	}
	for _, want := range []string{
		"default rewards (scored when a run gives no --rewards; --rewards FILE replaces them):",
		"correct rollout math_equal weight 1 verifiers has_answer (penalty 0)",
		"format rollout format weight 0.1",
	} {
		if !strings.Contains(squeeze(out.String()), want) {
			t.Errorf("envs calculator lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if run(t.Context(), []string{"envs", "tictactoe"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut}); strings.Contains(out.String(), "default rewards") {
		t.Errorf("tictactoe brings no rewards, yet lists some:\n%s", out.String())
	}
	errOut.Reset()
	if code := run(t.Context(), []string{"envs", "nope"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut}); code != 2 || !strings.Contains(errOut.String(), `unknown environment "nope"`) {
		t.Errorf("envs nope: exit %d; stderr:\n%s", code, errOut.String())
	}
}

// Every built-in environment describes its keys, each with a doc, and
// leaves commands, paths and URLs to the operator.
func TestEnvsKeysDocumented(t *testing.T) {
	operatorOnly := map[string]bool{"tools": true, "mcp": true, "server": true, "env": true, "kwargs": true, "python": true,
		"pythonpath": true, "url": true, "token": true, "headers": true, "opponent_model": true, "base_url": true, "tool_timeout": true}
	var check func(envName string, keys []config.Key)
	check = func(envName string, keys []config.Key) {
		for _, k := range keys {
			if k.Doc == "" {
				t.Errorf("%s: key %q has no doc tag", envName, k.Name)
			}
			if operatorOnly[k.Name] && k.Access != config.Operator {
				t.Errorf("%s: key %q is %s, want operator", envName, k.Name, k.Access)
			}
			check(envName, k.Keys)
		}
	}
	for _, info := range env.Describe() {
		if len(info.Keys) == 0 {
			t.Errorf("%s describes no config keys", info.Name)
		}
		if strings.Contains(info.Description, "config:") {
			t.Errorf("%s: the description lists keys by hand: %q", info.Name, info.Description)
		}
		check(info.Name, info.Keys)
	}
}
