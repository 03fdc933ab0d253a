package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

// runParseCLI runs "retrain parse" in-process.
func runParseCLI(t *testing.T, stdin string, args ...string) (code int, out, errOut string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(t.Context(), append([]string{"parse"}, args...), stdio{in: strings.NewReader(stdin), out: &o, err: &e})
	return code, o.String(), e.String()
}

// decodeAction decodes the printed action.
func decodeAction(t *testing.T, out string) retrain.Action {
	t.Helper()
	var a retrain.Action
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("output is not an action: %v\n%s", err, out)
	}
	return a
}

func TestParseCommand(t *testing.T) {
	in := "<think>weather</think>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	code, out, errOut := runParseCLI(t, in, "--dialect", "hermes")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	want := retrain.Action{
		Kind:      retrain.ActionToolCall,
		ToolCalls: []retrain.ToolCall{{ID: "call_0", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}},
		Reasoning: "weather",
		Raw:       in,
	}
	got := decodeAction(t, out)
	got.ToolCalls[0].Arguments = compact(t, got.ToolCalls[0].Arguments)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("action mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, "\n  \"kind\": \"tool_call\",\n") {
		t.Errorf("output is not indented JSON:\n%s", out)
	}
}

func compact(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseCommandParseErrorExitsZero(t *testing.T) {
	code, out, errOut := runParseCLI(t, "no tags at all", "--dialect", "smolagent")
	if code != 0 {
		t.Fatalf("exit %d, want 0 for a parse error; stderr:\n%s", code, errOut)
	}
	a := decodeAction(t, out)
	if a.ParseError == "" || a.Raw != "no tags at all" || a.Kind != retrain.ActionText {
		t.Errorf("action = %+v, want a parse error keeping the raw text", a)
	}
}

func TestParseCommandFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	if err := os.WriteFile(path, []byte(`[get_weather(city="Oslo")]`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runParseCLI(t, "ignored stdin", "--dialect", "pythonic", "--file", path)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	if a := decodeAction(t, out); len(a.ToolCalls) != 1 || a.ToolCalls[0].Name != "get_weather" {
		t.Errorf("action = %+v, want one get_weather call", a)
	}
	code, _, errOut = runParseCLI(t, "", "--dialect", "pythonic", "--file", filepath.Join(t.TempDir(), "missing"))
	if code != 1 || !strings.Contains(errOut, "reading the model output") {
		t.Errorf("missing file: exit %d, stderr %q; want 1 and a read error", code, errOut)
	}
}

func TestParseCommandNative(t *testing.T) {
	calls := `[{"id": "chatcmpl-tool-9", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}}]`
	code, out, errOut := runParseCLI(t, "Checking.", "--dialect", "native", "--native-tool-calls", calls)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	a := decodeAction(t, out)
	if a.Kind != retrain.ActionToolCall || a.Text != "Checking." || len(a.ToolCalls) != 1 ||
		a.ToolCalls[0].ID != "chatcmpl-tool-9" || string(compact(t, a.ToolCalls[0].Arguments)) != `{"city":"Rome"}` {
		t.Errorf("action = %+v", a)
	}

	// From a file, with malformed arguments: a parse error, exit 0.
	path := filepath.Join(t.TempDir(), "calls.json")
	bad := `[{"id": "x", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1"}}]`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runParseCLI(t, "", "--dialect", "native", "--native-tool-calls", path)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	if a := decodeAction(t, out); !strings.Contains(a.ParseError, "not valid JSON") {
		t.Errorf("parse_error = %q, want malformed arguments reported", a.ParseError)
	}
}

func TestParseCommandUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--dialect is required; dialects: hermes, llama3_json, mistral, native, pythonic, qwen3_coder, smolagent"},
		{[]string{"--dialect", "qwen"}, `unknown dialect "qwen"; dialects: hermes, llama3_json`},
		{[]string{"--dialect", "hermes", "extra"}, `unexpected argument "extra"`},
		{[]string{"--dialect", "hermes", "--native-tool-calls", "[]"}, "applies only to --dialect native"},
		{[]string{"--dialect", "native", "--native-tool-calls", "[{"}, "--native-tool-calls: want a JSON array"},
		{[]string{"--dialect", "native", "--native-tool-calls", "no-such-file"}, "neither inline JSON nor a readable file"},
	} {
		code, _, errOut := runParseCLI(t, "", c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("parse %q: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

func TestParseCommandHelp(t *testing.T) {
	code, _, errOut := runParseCLI(t, "", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--dialect NAME", "exit status is 0 even when the output has a parse error", "smolagent"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("help lacks %q:\n%s", want, errOut)
		}
	}
}
