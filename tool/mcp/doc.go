// Package mcp connects retrain to the Model Context Protocol: it offers the
// tools of MCP servers to models (a [tool.Provider] over stdio or streamable
// HTTP servers described by an "mcpServers" file), and serves retrain's own
// tools as an MCP server ([NewServer]).
//
//	cfg, err := mcp.LoadConfig("mcp.json") // {"mcpServers": {"fs": {"command": "npx", "args": [...]}}}
//	if err != nil { ... }
//	p, err := mcp.NewProvider(cfg, nil)
//	if err != nil { ... }
//	defer p.Close()
//	set, err := tool.Collect(ctx, p) // starts the servers, lists their tools
//	res, err := set.Call(ctx, retrain.ToolCall{Name: "fs_read_file", Arguments: json.RawMessage(`{"path":"/tmp/a.txt"}`)}, nil)
//
// Each server has one session, shared by every concurrent call. Arguments are
// checked against the tool's input schema before the call. The server's
// answer becomes the tool's output: its text content joined, other content
// described in brackets, structured content kept; an isError result, invalid
// arguments, a call the server rejects and a call that runs out of time are
// *tool.Error, which the model sees. A server that died is an infrastructure
// error (a Go error) for the calls in flight, and is started again (stdio) or
// reconnected (HTTP) on the next call, with a bounded number of attempts. An
// HTTP server that closes a call's event stream gracefully (SEP-1699) is not
// dead: the call's stream is resumed with Last-Event-ID after the delay the
// server asks for, in the same session.
//
// This package imports the official Go SDK's package of the same name; import
// it under another name (sdk "github.com/modelcontextprotocol/go-sdk/mcp")
// when both are needed.
package mcp
