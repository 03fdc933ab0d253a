package answer_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/internal/answer"
)

func TestDialect(t *testing.T) {
	for name, want := range map[string]string{"": "smolagent", "plain": "plain", "hermes": "hermes"} {
		d, err := answer.Dialect(name)
		if err != nil || d.Name() != want {
			t.Errorf("Dialect(%q) = %v, %v; want %s", name, d, err, want)
		}
	}
	if _, err := answer.Dialect("klingon"); err == nil || !strings.Contains(err.Error(), `"plain"`) {
		t.Errorf("Dialect(klingon): err = %v, want one naming plain too", err)
	}
}

func TestText(t *testing.T) {
	smol, _ := answer.Dialect("smolagent")
	plain := answer.PlainDialect()
	tests := []struct {
		name, text, want, problem string
		plain                     bool
	}{
		{"smolagent", "<answer> b2 </answer>", "b2", "", false},
		{"smolagent with thinking", "<think>centre</think><answer>b2</answer>", "b2", "", false},
		{"smolagent without tags", "b2", "", "found neither a <tool> block nor an <answer> block", false},
		{"smolagent tool call", `<tool>{"name": "x", "args": {}}</tool>`, "", "no tools are available", false},
		{"smolagent hint dropped", "b2", "", "", false},
		{"plain", "  b2 \n", "b2", "", true},
		{"plain quoted", "`right`", "right", "", true},
		{"plain full stop", "Left.", "Left", "", true},
		{"plain thinking", "<think>hmm</think>\n4", "4", "", true},
		{"plain thinking opened by the template", "hmm</think>4", "4", "", true},
		{"plain unclosed thinking", "<think>hmm", "", "not closed", true},
		{"plain empty", "  ", "", "empty", true},
	}
	for _, tt := range tests {
		d := smol
		if tt.plain {
			d = plain
		}
		got, problem := answer.Text(d.Parse(tt.text, nil))
		if got != tt.want || (tt.problem != "" && !strings.Contains(problem, tt.problem)) || (tt.problem == "" && tt.want != "" && problem != "") {
			t.Errorf("%s: Text = %q, %q; want %q, a problem containing %q", tt.name, got, problem, tt.want, tt.problem)
		}
		if strings.Contains(problem, "Expected format") {
			t.Errorf("%s: the dialect's format hint was kept: %q", tt.name, problem)
		}
	}
}

func TestExample(t *testing.T) {
	smol, _ := answer.Dialect("")
	if got := answer.Example(smol, "b2"); got != "<answer>b2</answer>" {
		t.Errorf("smolagent example %q", got)
	}
	if got := answer.Example(answer.PlainDialect(), "b2"); got != "b2" {
		t.Errorf("plain example %q", got)
	}
}

func TestPlainMessages(t *testing.T) {
	d := answer.PlainDialect()
	a := d.Parse("<think>x</think>4", nil)
	if a.Reasoning != "x" || a.Text != "4" {
		t.Errorf("Parse: %+v", a)
	}
	if m := d.AssistantMessage(a); m.Content != "<think>x</think>4" || m.Role != retrain.RoleAssistant {
		t.Errorf("AssistantMessage keeps the raw output: %+v", m)
	}
	if m := d.AssistantMessage(retrain.Action{Kind: retrain.ActionText, Text: "4", Reasoning: "x"}); m.Content != "<think>\nx\n</think>\n4" {
		t.Errorf("AssistantMessage of a built action: %q", m.Content)
	}
	if m := d.Feedback("try again"); m.Role != retrain.RoleUser || m.Content != "try again" {
		t.Errorf("Feedback: %+v", m)
	}
}

func FuzzPlainParse(f *testing.F) {
	for _, s := range []string{"4", "<think>a</think>b", "</think>", "<think>", "`x`", "'.'", "\"\"", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := answer.PlainDialect().Parse(s, nil)
		if a.Raw != s {
			t.Fatalf("Raw %q, want the input %q", a.Raw, s)
		}
		text, problem := answer.Text(a)
		if (text == "") == (problem == "") {
			t.Fatalf("Text = %q, %q: want exactly one of an answer and a problem", text, problem)
		}
		if text != strings.TrimSpace(text) {
			t.Fatalf("answer %q is not trimmed", text)
		}
		if utf8.ValidString(s) && !utf8.ValidString(text) {
			t.Fatalf("answer %q of valid input is not valid UTF-8", text)
		}
	})
}
