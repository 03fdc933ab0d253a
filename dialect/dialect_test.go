package dialect

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain"
)

func TestGetAndNames(t *testing.T) {
	want := []string{"hermes", "llama3_json", "mistral", "native", "pythonic", "qwen3_coder", "smolagent"}
	if diff := cmp.Diff(want, Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
	for _, n := range want {
		d, err := Get(n)
		if err != nil {
			t.Fatalf("Get(%q): %v", n, err)
		}
		if d.Name() != n {
			t.Errorf("Get(%q).Name() = %q", n, d.Name())
		}
	}
	_, err := Get("qwen")
	if !errors.Is(err, ErrUnknownDialect) {
		t.Fatalf("Get(qwen) error = %v, want ErrUnknownDialect", err)
	}
	if !strings.Contains(err.Error(), strings.Join(want, ", ")) {
		t.Errorf("error %q does not list the known dialects", err)
	}
}

func TestSplitReasoning(t *testing.T) {
	for _, c := range []struct {
		in, reasoning, rest, problem string
	}{
		{"no tags", "", "no tags", ""},
		{"<think> a </think>b", "a", "b", ""},
		{"pre<think>a</think>mid<think>c</think>post", "a\n\nc", "premidpost", ""},
		{"opened by the template</think>answer", "opened by the template", "answer", ""},
		{"<think>unclosed", "unclosed", "", "not closed"},
		{"<reasoning>r</reasoning><think>t</think>x", "r\n\nt", "x", ""},
		{"<think></think>x", "", "x", ""},
	} {
		r, rest, p := splitReasoning(c.in, thinkTags, reasoningTags)
		if r != c.reasoning || rest != c.rest || (c.problem == "") != (p == "") || !strings.Contains(p, c.problem) {
			t.Errorf("splitReasoning(%q) = %q, %q, %q; want %q, %q, %q", c.in, r, rest, p, c.reasoning, c.rest, c.problem)
		}
	}
}

// TestRenderRoundTrip checks that an action built in code, recorded with
// AssistantMessage, parses back to the same calls in every text dialect.
func TestRenderRoundTrip(t *testing.T) {
	actions := []retrain.Action{
		{Kind: retrain.ActionToolCall, ToolCalls: []retrain.ToolCall{
			tc("", "get_weather", `{"city":"Zürich \"old town\"","days":3,"opts":{"units":["c","f"],"x":null,"ok":true,"r":-1.5}}`),
			tc("", "now", `{}`),
			tc("", "write", `{"content":"line1\nline2 {braces} <tags> 'quotes'","n":"42"}`),
		}},
		{Kind: retrain.ActionToolCall, Text: "Let me check.", Reasoning: "need data", ToolCalls: []retrain.ToolCall{tc("", "f", `{"a":1}`)}},
		{Kind: retrain.ActionText, Text: "The answer is 4.", Reasoning: "2+2"},
	}
	for _, name := range Names() {
		if name == "native" {
			continue
		}
		d, _ := Get(name)
		for i, a := range actions {
			msg := d.AssistantMessage(a)
			if msg.Role != retrain.RoleAssistant || len(msg.ToolCalls) != 0 {
				t.Fatalf("%s: AssistantMessage = %+v, want an assistant text message", name, msg)
			}
			got := d.Parse(msg.Content, nil)
			if got.ParseError != "" {
				t.Errorf("%s action %d: rendered %q does not parse: %s", name, i, msg.Content, got.ParseError)
				continue
			}
			want := a
			want.Raw = msg.Content
			want.ToolCalls = nil
			for j, c := range a.ToolCalls {
				c.ID = "call_" + string(rune('0'+j))
				want.ToolCalls = append(want.ToolCalls, c)
			}
			if diff := cmp.Diff(want, got, cmp.Comparer(jsonEqual)); diff != "" {
				t.Errorf("%s action %d: round trip of %q mismatch (-want +got):\n%s", name, i, msg.Content, diff)
			}
		}
	}
}

func TestAssistantMessageKeepsRaw(t *testing.T) {
	for _, name := range Names() {
		if name == "native" {
			continue
		}
		d, _ := Get(name)
		raw := "<think>x</think> whatever the model wrote <|im_end|>"
		if got := d.AssistantMessage(d.Parse(raw, nil)); got.Content != raw {
			t.Errorf("%s: AssistantMessage content = %q, want the raw output", name, got.Content)
		}
	}
}

// An empty completion is written back as nothing in every dialect: no
// rendering of an empty answer (smolagent's "<answer></answer>" was), text
// the model never wrote. White space alone is kept as written.
func TestAssistantMessageEmptyCompletion(t *testing.T) {
	for _, name := range Names() {
		d, _ := Get(name)
		for _, raw := range []string{"", " \n"} {
			want := retrain.Message{Role: retrain.RoleAssistant, Content: raw}
			if diff := cmp.Diff(want, d.AssistantMessage(d.Parse(raw, nil))); diff != "" {
				t.Errorf("%s: AssistantMessage of %q mismatch (-want +got):\n%s", name, raw, diff)
			}
		}
	}
}

func TestFeedback(t *testing.T) {
	for _, name := range Names() {
		d, _ := Get(name)
		got := d.Feedback("Unknown tool \"x\". Available: a, b.")
		want := retrain.Message{Role: retrain.RoleUser, Content: "Unknown tool \"x\". Available: a, b."}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: Feedback mismatch (-want +got):\n%s", name, diff)
		}
	}
}

func TestFailedResultWithoutMessage(t *testing.T) {
	got := Hermes().ToolResults([]retrain.ToolResult{{Name: "f"}})
	if want := "<tool_response>\nError: the tool call failed\n</tool_response>"; got[0].Content != want {
		t.Errorf("content = %q, want %q", got[0].Content, want)
	}
}

func TestSystemPromptsWithoutTools(t *testing.T) {
	for _, name := range Names() {
		d, _ := Get(name)
		p := d.SystemPrompt(nil)
		if p == "" || strings.Contains(p, "<tools>") || strings.Contains(p, "AVAILABLE_TOOLS") {
			t.Errorf("%s: system prompt without tools = %q", name, p)
		}
	}
}

func TestSystemPromptToolWithoutSchema(t *testing.T) {
	tool := retrain.ToolSpec{Name: "now", Description: "The time."}
	for _, name := range Names() {
		if name == "native" {
			continue
		}
		d, _ := Get(name)
		if p := d.SystemPrompt([]retrain.ToolSpec{tool}); !strings.Contains(p, "now") || !strings.Contains(p, `"properties"`) {
			t.Errorf("%s: system prompt for a tool without schema = %q", name, p)
		}
	}
}

func TestToolsPrompt(t *testing.T) {
	name := func(t retrain.ToolSpec) string { return "<" + t.Name + ">" }
	if got := toolsPrompt(nil, "intro", name, ", ", "outro"); got != noToolsPrompt {
		t.Errorf("no tools: %q, want noToolsPrompt", got)
	}
	tools := []retrain.ToolSpec{{Name: "a"}, {Name: "b"}}
	if got, want := toolsPrompt(tools, " [", name, ", ", "]"), framing+" [<a>, <b>]"; got != want {
		t.Errorf("toolsPrompt = %q, want %q", got, want)
	}
}
