package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/tool"
)

// remoteTool is one tool of an MCP server, offered to the model under its
// (possibly prefixed) name.
type remoteTool struct {
	client    *Client
	spec      retrain.ToolSpec
	remote    string          // the name on the server
	validator *tool.Validator // nil when the server's schema does not compile
}

// newTool maps a tool listed by the server.
func (c *Client) newTool(t *sdk.Tool) *remoteTool {
	schema := json.RawMessage(`{"type":"object"}`)
	if t.InputSchema != nil {
		if b, err := json.Marshal(t.InputSchema); err == nil && !bytes.Equal(b, []byte("null")) {
			schema = b
		}
	}
	desc := t.Description
	if desc == "" {
		desc = t.Title
	}
	rt := &remoteTool{
		client: c,
		spec:   retrain.ToolSpec{Name: c.cfg.Prefix + t.Name, Description: desc, Parameters: schema},
		remote: t.Name,
	}
	v, err := tool.NewValidator(schema)
	if err != nil {
		c.opts.Logger.Warn("MCP tool schema does not compile; its arguments go unchecked to the server",
			"server", c.cfg.Name, "tool", t.Name, "error", err)
	} else {
		rt.validator = v
	}
	return rt
}

// Spec implements [tool.Tool].
func (t *remoteTool) Spec() retrain.ToolSpec {
	s := t.spec
	s.Parameters = bytes.Clone(s.Parameters)
	return s
}

// Call implements [tool.Tool]: it validates args against the server's schema
// and calls the tool on the server. Invalid arguments, an isError result and
// a call the server rejects are *tool.Error; a server that died or a
// cancelled ctx are Go errors.
func (t *remoteTool) Call(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	if trimmed := bytes.TrimSpace(args); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		args = json.RawMessage(`{}`)
	}
	if t.validator != nil {
		if err := t.validator.Validate(args); err != nil {
			var te *tool.Error
			if errors.As(err, &te) {
				te.Tool = t.spec.Name
			}
			return tool.Result{}, err
		}
	}
	if !json.Valid(args) {
		return tool.Result{}, &tool.Error{Tool: t.spec.Name, Message: "invalid arguments: not valid JSON; send the arguments as one JSON object"}
	}
	return t.client.call(ctx, t.spec.Name, t.remote, args)
}

// convertResult turns a tools/call result into what the model sees.
func convertResult(name string, res *sdk.CallToolResult) (tool.Result, error) {
	var r tool.Result
	if res.StructuredContent != nil {
		b, err := json.Marshal(res.StructuredContent)
		if err != nil {
			return tool.Result{}, fmt.Errorf("tool %q: encoding its structured content: %w", name, err)
		}
		r.Structured = b
	}
	r.Output = ContentText(res.Content)
	if r.Output == "" && r.Structured != nil {
		r.Output = string(r.Structured)
	}
	if res.IsError {
		msg := r.Output
		if msg == "" {
			msg = "the tool reported an error without a message"
		}
		return tool.Result{}, &tool.Error{Tool: name, Message: msg}
	}
	return r, nil
}

// ContentText renders MCP content as the text a model sees: text as it is,
// one block per line; images, audio and resources described in brackets,
// e.g. "[image: image/png, 1234 bytes]", never silently dropped. The text of
// an embedded text resource is included after its description.
func ContentText(content []sdk.Content) string {
	parts := make([]string, 0, len(content))
	for _, c := range content {
		parts = append(parts, contentText(c))
	}
	return strings.Join(parts, "\n")
}

func contentText(c sdk.Content) string {
	switch c := c.(type) {
	case *sdk.TextContent:
		return c.Text
	case *sdk.ImageContent:
		return fmt.Sprintf("[image: %s, %d bytes]", orUnknown(c.MIMEType), len(c.Data))
	case *sdk.AudioContent:
		return fmt.Sprintf("[audio: %s, %d bytes]", orUnknown(c.MIMEType), len(c.Data))
	case *sdk.ResourceLink:
		var b strings.Builder
		fmt.Fprintf(&b, "[resource link: %s", c.URI)
		if c.Name != "" {
			fmt.Fprintf(&b, " (%s)", c.Name)
		}
		if c.MIMEType != "" {
			fmt.Fprintf(&b, ", %s", c.MIMEType)
		}
		if c.Description != "" {
			fmt.Fprintf(&b, ": %s", c.Description)
		}
		b.WriteString("]")
		return b.String()
	case *sdk.EmbeddedResource:
		r := c.Resource
		if r == nil {
			return "[resource: empty]"
		}
		if r.Blob != nil {
			return fmt.Sprintf("[resource: %s, %s, %d bytes]", r.URI, orUnknown(r.MIMEType), len(r.Blob))
		}
		head := fmt.Sprintf("[resource: %s", r.URI)
		if r.MIMEType != "" {
			head += ", " + r.MIMEType
		}
		return head + "]\n" + r.Text
	default:
		b, err := c.MarshalJSON()
		if err != nil {
			return fmt.Sprintf("[%T content]", c)
		}
		return "[content: " + string(b) + "]"
	}
}

func orUnknown(mime string) string {
	if mime == "" {
		return "unknown type"
	}
	return mime
}
