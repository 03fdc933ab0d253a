package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// humanEvalProblem is the part of a HumanEval row the canonical player
// reads: the prompt (the function's signature and docstring) and the
// reference body that completes it.
type humanEvalProblem struct {
	Prompt   string `json:"prompt"`
	Solution string `json:"canonical_solution"`
}

// readHumanEval reads the problems of a HumanEval JSONL file (one row a
// line, with "prompt" and "canonical_solution").
func readHumanEval(path string) ([]humanEvalProblem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var problems []humanEvalProblem
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var p humanEvalProblem
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if p.Prompt == "" || p.Solution == "" {
			return nil, fmt.Errorf("%s line %d: no \"prompt\" or \"canonical_solution\"; want HumanEval's rows (testdata/humaneval/HumanEval.jsonl)", path, line)
		}
		problems = append(problems, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(problems) == 0 {
		return nil, fmt.Errorf("%s holds no problem", path)
	}
	return problems, nil
}

// canonicalResponder returns a fake model that answers each of problems
// with its canonical solution in a ```python block (the problem found by its
// prompt in the first user message; a print in its place when none is).
// When the system prompt offers tools in Hermes' format, it first runs the
// solution with the python tool, then answers.
func canonicalResponder(problems []humanEvalProblem) func(*openaitest.ChatRequest) openaitest.Reply {
	return func(req *openaitest.ChatRequest) openaitest.Reply {
		var system, user string
		toolDone := false
		for _, m := range req.Messages {
			switch text := string(m.Content); {
			case m.Role == "system":
				system = text
			case m.Role == "user" && user == "":
				user = text
			case strings.Contains(text, "<tool_response>"):
				toolDone = true
			}
		}
		code := "print('no problem found')\n"
		for _, p := range problems {
			if strings.Contains(user, strings.TrimRight(p.Prompt, "\n")) {
				code = p.Prompt + p.Solution
			}
		}
		if strings.Contains(system, "<tool_call>") && !toolDone {
			args, _ := json.Marshal(map[string]string{"code": code + "\nprint('ran')"})
			return openaitest.Reply{Content: `<tool_call>{"name": "python", "arguments": ` + string(args) + `}</tool_call>`}
		}
		return openaitest.Reply{Content: "Here is the solution:\n```python\n" + code + "```"}
	}
}
