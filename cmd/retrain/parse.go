package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/dialect"
)

func init() {
	parseCommand.run = runParse
	register(parseCommand)
}

var parseCommand = &command{
	name:    "parse",
	summary: "parse a model output with a tool-calling dialect and print the resulting action as JSON",
	usage:   "--dialect NAME [--file F] [--native-tool-calls FILE_OR_JSON] [< output.txt]",
}

// parseHelp is printed after the flags by "retrain parse --help".
var parseHelp = `
The model output is read from stdin, or from --file. The action is printed as
indented JSON: kind ("text" or "tool_call"), text, tool_calls (id, name,
arguments), reasoning, raw and, when the output is malformed, parse_error.

The exit status is 0 even when the output has a parse error: the error is part
of the result (see "parse_error"). It is 2 for bad arguments and 1 when the
input cannot be read.

Dialects: ` + strings.Join(dialect.Names(), ", ") + `

Example:
  echo '<tool_call>{"name": "calculator", "arguments": {"expression": "2+2"}}</tool_call>' |
    retrain parse --dialect hermes
`

func runParse(_ context.Context, args []string, s stdio) error {
	fs := newFlagSet(parseCommand, s.err)
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(s.err, parseHelp)
	}
	name := fs.String("dialect", "", "the dialect `NAME`: "+strings.Join(dialect.Names(), ", "))
	file := fs.String("file", "", "read the model output from this `file` instead of stdin (\"-\" is stdin)")
	nativeFlag := fs.String("native-tool-calls", "", "for --dialect native: the completion's tool calls, a JSON array of OpenAI tool_call objects\n{\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\": \"<json string>\"}},\ngiven inline or as a file `FILE_OR_JSON`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q: the model output is read from stdin or --file", pos[0])
	}
	if *name == "" {
		return usageErrorf("--dialect is required; dialects: %s", strings.Join(dialect.Names(), ", "))
	}
	d, err := dialect.Get(*name)
	if err != nil {
		return usageErrorf("unknown dialect %q; dialects: %s", *name, strings.Join(dialect.Names(), ", "))
	}
	var native []retrain.ToolCall
	if *nativeFlag != "" {
		if d.Name() != dialect.Native().Name() {
			return usageErrorf("--native-tool-calls applies only to --dialect native (got %q)", d.Name())
		}
		if native, err = readNativeToolCalls(*nativeFlag); err != nil {
			return err
		}
	}
	text, err := readModelOutput(*file, s.in)
	if err != nil {
		return err
	}
	action := d.Parse(text, native)
	enc := json.NewEncoder(s.out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(action)
}

// readModelOutput reads the model output from file, or from in when file
// is "" or "-".
func readModelOutput(file string, in io.Reader) (string, error) {
	if file != "" && file != "-" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading the model output: %w", err)
		}
		return string(b), nil
	}
	if in == nil {
		return "", nil
	}
	b, err := io.ReadAll(in)
	if err != nil {
		return "", fmt.Errorf("reading the model output from stdin: %w", err)
	}
	return string(b), nil
}

// openAIToolCall is a tool call as OpenAI-compatible servers return it.
// The flat form {"id", "name", "arguments"} is accepted too.
type openAIToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function *struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// readNativeToolCalls reads --native-tool-calls: inline JSON when it starts
// with "[" or "{", else a file holding it. A single object is one call.
func readNativeToolCalls(v string) ([]retrain.ToolCall, error) {
	data := []byte(strings.TrimSpace(v))
	if len(data) == 0 || (data[0] != '[' && data[0] != '{') {
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, usageErrorf("--native-tool-calls: %q is neither inline JSON nor a readable file: %v", v, err)
		}
		data = bytes.TrimSpace(b)
	}
	if len(data) > 0 && data[0] == '{' {
		data = append(append([]byte{'['}, data...), ']')
	}
	var raw []openAIToolCall
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, usageErrorf(`--native-tool-calls: want a JSON array of {"id", "type": "function", "function": {"name", "arguments"}} objects: %v`, err)
	}
	calls := make([]retrain.ToolCall, len(raw))
	for i, c := range raw {
		name, args := c.Name, c.Arguments
		if c.Function != nil {
			name, args = c.Function.Name, c.Function.Arguments
		}
		calls[i] = retrain.ToolCall{ID: c.ID, Name: name, Arguments: wireArguments(args)}
	}
	return calls, nil
}

// wireArguments turns the wire form of a call's arguments into the
// arguments the dialect sees: the text of a JSON string (OpenAI sends the
// arguments as a string, which may hold malformed JSON), or the JSON value
// itself when a server sent an object.
func wireArguments(raw json.RawMessage) json.RawMessage {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return json.RawMessage(s)
	}
	return raw
}
