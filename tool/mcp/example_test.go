package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/retrain-rl/retrain/tool"
	"github.com/retrain-rl/retrain/tool/mcp"
)

func ExampleParseConfig() {
	cfg, err := mcp.ParseConfig([]byte(`{"mcpServers": {
		"fs":  {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp/work"], "prefix": "fs_", "deny": ["read_media_file"]},
		"web": {"url": "http://127.0.0.1:8765/mcp", "timeout": "30s"}
	}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fs, web := cfg.Servers["fs"], cfg.Servers["web"]
	fmt.Println(fs.Command, fs.Args, fs.Prefix)
	fmt.Println(web.URL, web.Timeout)
	// Output:
	// npx [-y @modelcontextprotocol/server-filesystem /tmp/work] fs_
	// http://127.0.0.1:8765/mcp 30s
}

// Serve a Go tool as an MCP server and use it through a Client, here over
// an in-memory connection (a real program would serve stdio or HTTP).
func ExampleNewServer() {
	type addIn struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	add := tool.MustFunc("add", "Adds two integers.", func(ctx context.Context, in addIn) (int, error) {
		return in.A + in.B, nil
	}, nil)
	srv, err := mcp.NewServer([]tool.Tool{add}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := mcp.NewClient(&mcp.ServerConfig{Name: "adder", Prefix: "math_", Dial: func(ctx context.Context) (sdk.Transport, error) {
		client, server := sdk.NewInMemoryTransports()
		_, err := srv.Connect(ctx, server, nil)
		return client, err
	}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	tools, err := c.Tools(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := tools[0].Call(context.Background(), json.RawMessage(`{"a": 2, "b": 3}`))
	fmt.Println(tools[0].Spec().Name, res.Output, err)
	_, err = tools[0].Call(context.Background(), json.RawMessage(`{"a": "two"}`))
	fmt.Println(err)
	// Output:
	// math_add 5 <nil>
	// tool "math_add": invalid arguments: at /a: expected integer, got string; at /b: missing required property
}
