package dialect

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/retrain-rl/retrain"
)

// defaultSchema is the schema of a tool that declares no parameters.
const defaultSchema = `{"type":"object","properties":{}}`

// schemaOf is the compact JSON Schema of t's arguments.
func schemaOf(t retrain.ToolSpec) []byte {
	if len(bytes.TrimSpace(t.Parameters)) == 0 {
		return []byte(defaultSchema)
	}
	return compactJSON(t.Parameters)
}

// openAITool is t in the OpenAI tools layout,
// {"type": "function", "function": {"name", "description", "parameters"}},
// compact.
func openAITool(t retrain.ToolSpec) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"function","function":{"name":`)
	b.WriteString(jsonString(t.Name))
	b.WriteString(`,"description":`)
	b.WriteString(jsonString(t.Description))
	b.WriteString(`,"parameters":`)
	b.Write(schemaOf(t))
	b.WriteString(`}}`)
	return b.Bytes()
}

// indentJSON is raw indented by prefix steps of indent, or raw when it is
// not valid JSON.
func indentJSON(raw []byte, indent string) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", indent) != nil {
		return string(raw)
	}
	return b.String()
}

// toolBullets lists tools as "- name: description" with each schema on
// the next line, for the dialects whose models have no trained tool layout.
func toolBullets(tools []retrain.ToolSpec) string {
	var b strings.Builder
	for _, t := range tools {
		b.WriteString("- ")
		b.WriteString(t.Name)
		if d := strings.TrimSpace(t.Description); d != "" {
			b.WriteString(": ")
			b.WriteString(d)
		}
		b.WriteString("\n  Arguments (JSON Schema): ")
		b.WriteString(pyJSON(schemaOf(t)))
		b.WriteString("\n")
	}
	return b.String()
}

// toolsPrompt is the system prompt of a text dialect that lists its tools:
// framing, intro, each tool as write writes it with sep between them, and
// outro; noToolsPrompt when there are no tools.
func toolsPrompt(tools []retrain.ToolSpec, intro string, write func(retrain.ToolSpec) string, sep, outro string) string {
	if len(tools) == 0 {
		return noToolsPrompt
	}
	listed := make([]string, len(tools))
	for i, t := range tools {
		listed[i] = write(t)
	}
	return framing + intro + strings.Join(listed, sep) + outro
}

// openAIToolJSON writes t in OpenAI's tool format, spaced as Python's
// json.dumps does.
func openAIToolJSON(t retrain.ToolSpec) string { return pyJSON(openAITool(t)) }

// indentedToolJSON writes t in OpenAI's tool format, indented by four
// spaces.
func indentedToolJSON(t retrain.ToolSpec) string { return indentJSON(openAITool(t), "    ") }

// framing is the opening line of every system prompt.
const framing = "You are a helpful assistant. Solve the user's task; use the tools below when they help."

// framingNoTools opens the system prompt when no tools are offered.
const framingNoTools = "You are a helpful assistant. Solve the user's task."

// noToolsPrompt is the whole system prompt of the text dialects when no
// tools are offered.
const noToolsPrompt = framingNoTools + "\n\nNo tools are available: reply with your final answer as plain text."
