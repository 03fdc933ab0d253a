package codetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain"
)

// Layout is how a problem's tests are given.
type Layout string

// The task layouts, picked by field names.
const (
	// LayoutFunction is HumanEval's: a prompt that starts the function, the
	// name of the function ("entry_point") and a test that defines
	// check(candidate).
	LayoutFunction Layout = "function"
	// LayoutStdio is the APPS / CodeContests layout: the program reads
	// stdin and must print the expected output for each input.
	LayoutStdio Layout = "stdio"
)

// Problem is a coding task with its tests.
type Problem struct {
	// ID names the problem (HumanEval's task_id).
	ID string
	// Prompt is the problem's text; for LayoutFunction, the code that
	// starts the function (signature and docstring), which a completion
	// continues.
	Prompt string
	// EntryPoint is the function the tests call (LayoutFunction).
	EntryPoint string
	// Test is Python code defining check(candidate) (LayoutFunction).
	Test string
	// Inputs and Outputs are the stdin of each test and the stdout it
	// expects (LayoutStdio).
	Inputs, Outputs []string
}

// Layout says how the problem's tests are given.
func (p Problem) Layout() Layout {
	if p.Test != "" {
		return LayoutFunction
	}
	return LayoutStdio
}

// ErrNoTests is wrapped by the error of [FromFields] and [FromTask] for a
// row that holds no tests in a known layout.
var ErrNoTests = errors.New("codetest: the task has no tests")

// FromTask reads the problem of a task: its prompt, and the tests in its
// metadata (see [FromFields]).
func FromTask(t retrain.Task) (Problem, error) {
	fields := make(map[string]any, len(t.Metadata)+2)
	for k, v := range t.Metadata {
		fields[k] = v
	}
	if _, ok := fields["prompt"]; !ok {
		fields["prompt"] = t.Prompt
	}
	p, err := FromFields(fields)
	if p.ID == "" {
		p.ID = t.ID
	}
	return p, err
}

// FromFields reads a problem from a dataset row, picking the layout by the
// field names:
//
//   - "test" and "entry_point" (HumanEval, MBPP-style with a check
//     function): LayoutFunction; "prompt" is the function's start;
//   - "inputs" and "outputs", lists of strings: LayoutStdio;
//   - "input_output", a JSON string or object with "inputs" and "outputs"
//     (APPS): LayoutStdio;
//   - "public_tests" (and "private_tests", "generated_tests"), objects
//     with "input" and "output" lists (CodeContests): LayoutStdio.
//
// "task_id", "problem_id" or "id" names the problem; "prompt", "question"
// or "description" is its text.
func FromFields(f map[string]any) (Problem, error) {
	var p Problem
	p.ID = firstString(f, "task_id", "problem_id", "name", "id")
	p.Prompt = firstString(f, "prompt", "question", "description")
	if test, ok := f["test"].(string); ok && test != "" {
		entry, _ := f["entry_point"].(string)
		if strings.TrimSpace(entry) == "" {
			return p, fmt.Errorf("%w: it has a \"test\" but no \"entry_point\" naming the function to check", ErrNoTests)
		}
		p.Test, p.EntryPoint = test, strings.TrimSpace(entry)
		return p, nil
	}
	var err error
	switch {
	case f["inputs"] != nil || f["outputs"] != nil:
		p.Inputs, p.Outputs, err = pairs(f["inputs"], f["outputs"], "inputs", "outputs")
	case f["input_output"] != nil:
		io := f["input_output"]
		if s, ok := io.(string); ok {
			var m map[string]any
			if jerr := json.Unmarshal([]byte(s), &m); jerr != nil {
				return p, fmt.Errorf("%w: \"input_output\" is not a JSON object: %v", ErrNoTests, jerr)
			}
			io = m
		}
		m, ok := io.(map[string]any)
		if !ok {
			return p, fmt.Errorf("%w: \"input_output\" must be an object with \"inputs\" and \"outputs\"", ErrNoTests)
		}
		if m["fn_name"] != nil {
			return p, fmt.Errorf("%w: call-based tests (\"fn_name\") are not supported; use stdin/stdout tests or a check function", ErrNoTests)
		}
		p.Inputs, p.Outputs, err = pairs(m["inputs"], m["outputs"], "input_output.inputs", "input_output.outputs")
	case f["public_tests"] != nil:
		for _, key := range []string{"public_tests", "private_tests", "generated_tests"} {
			m, ok := f[key].(map[string]any)
			if !ok {
				continue
			}
			in, out, perr := pairs(m["input"], m["output"], key+".input", key+".output")
			if perr != nil {
				return p, perr
			}
			p.Inputs, p.Outputs = append(p.Inputs, in...), append(p.Outputs, out...)
		}
	default:
		return p, fmt.Errorf("%w: give HumanEval's \"test\" and \"entry_point\", or stdin/stdout pairs as \"inputs\" and \"outputs\"", ErrNoTests)
	}
	if err != nil {
		return p, err
	}
	if len(p.Inputs) == 0 {
		return p, fmt.Errorf("%w: the list of test inputs is empty", ErrNoTests)
	}
	return p, nil
}

// pairs reads two lists of strings of the same length.
func pairs(in, out any, inName, outName string) ([]string, []string, error) {
	ins, err := stringList(in, inName)
	if err != nil {
		return nil, nil, err
	}
	outs, err := stringList(out, outName)
	if err != nil {
		return nil, nil, err
	}
	if len(ins) != len(outs) {
		return nil, nil, fmt.Errorf("%w: %d %s but %d %s; each input needs its output", ErrNoTests, len(ins), inName, len(outs), outName)
	}
	return ins, outs, nil
}

func stringList(v any, name string) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: %q must be a list of strings", ErrNoTests, name)
	}
	out := make([]string, len(list))
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s[%d] is not a string", ErrNoTests, name, i)
		}
		out[i] = s
	}
	return out, nil
}

func firstString(f map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := f[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case json.Number:
			return v.String()
		case float64:
			return fmt.Sprint(v)
		}
	}
	return ""
}

// Extract returns the code in a model's answer: the last fenced code block
// marked python (or py, python3), else the last fenced block, else the
// whole text. An unclosed fence runs to the end of the text.
func Extract(text string) string {
	var blocks, python []string
	rest := text
	for {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		rest = rest[i+3:]
		lang, body, found := strings.Cut(rest, "\n")
		if !found {
			break
		}
		lang = strings.ToLower(strings.TrimSpace(lang))
		end := strings.Index(body, "```")
		code := body
		if end >= 0 {
			code, rest = body[:end], body[end+3:]
		} else {
			rest = ""
		}
		blocks = append(blocks, code)
		if lang == "python" || lang == "py" || lang == "python3" {
			python = append(python, code)
		}
		if end < 0 {
			break
		}
	}
	switch {
	case len(python) > 0:
		return python[len(python)-1]
	case len(blocks) > 0:
		return blocks[len(blocks)-1]
	}
	return text
}
