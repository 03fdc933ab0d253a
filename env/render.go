package env

import (
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain"
)

// RenderMessages writes a conversation as readable text: each message under
// a header naming its role (and, for tool messages, the tool and call id),
// with reasoning and native tool calls shown on their own lines.
func RenderMessages(msgs []retrain.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n")
		}
		header := string(m.Role)
		if m.Role == retrain.RoleTool || m.Name != "" {
			header += " " + m.Name
		}
		if m.ToolCallID != "" {
			header += " (" + m.ToolCallID + ")"
		}
		fmt.Fprintf(&b, "=== %s ===\n", strings.TrimSpace(header))
		if m.Reasoning != "" {
			fmt.Fprintf(&b, "[reasoning] %s\n", m.Reasoning)
		}
		if m.Content != "" {
			b.WriteString(m.Content)
			if !strings.HasSuffix(m.Content, "\n") {
				b.WriteString("\n")
			}
		}
		for _, c := range m.ToolCalls {
			args := string(c.Arguments)
			if args == "" {
				args = "{}"
			}
			fmt.Fprintf(&b, "-> %s %s", c.Name, args)
			if c.ID != "" {
				fmt.Fprintf(&b, " [%s]", c.ID)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
