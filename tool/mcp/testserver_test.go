package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// serverEnv names the environment variable that makes the test binary run as
// a stdio MCP server (see TestMain): "stdio", or "stubborn" for one that
// ignores stdin closing and SIGTERM.
const serverEnv = "RETRAIN_MCP_TEST_SERVER"

// testServer is a Go MCP server with tools for every case the tests need.
type testServer struct {
	calls atomic.Int64 // tools/call requests received
	// sleeping, when not nil, receives a value as each call of the tool
	// "sleep" starts sleeping: tests wait on it for calls in flight.
	sleeping chan struct{}
}

type echoIn struct {
	Text string `json:"text" jsonschema:"the text to echo"`
}

type addIn struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

type addOut struct {
	Sum float64 `json:"sum"`
}

type sleepIn struct {
	MS int `json:"ms" jsonschema:"milliseconds to sleep"`
}

type empty struct{}

// tinyPNG is 8 bytes of "image".
var tinyPNG = []byte{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a}

// newServer returns an SDK server with the test tools; pageSize > 0 forces
// tools/list to page. The tool "crash" calls crash, which must end the
// server abruptly: exit the process, or close the connection.
func (ts *testServer) newServer(pageSize int, crash func()) *sdk.Server {
	srv := sdk.NewServer(&sdk.Implementation{Name: "retrain-test", Version: "1"}, &sdk.ServerOptions{PageSize: pageSize})
	count := func() { ts.calls.Add(1) }
	sdk.AddTool(srv, &sdk.Tool{Name: "echo", Description: "Echoes the text."},
		func(ctx context.Context, req *sdk.CallToolRequest, in echoIn) (*sdk.CallToolResult, any, error) {
			count()
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "echo: " + in.Text}}}, nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "add", Description: "Adds two numbers."},
		func(ctx context.Context, req *sdk.CallToolRequest, in addIn) (*sdk.CallToolResult, addOut, error) {
			count()
			return nil, addOut{Sum: in.A + in.B}, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "fail", Description: "Always fails."},
		func(ctx context.Context, req *sdk.CallToolRequest, in empty) (*sdk.CallToolResult, any, error) {
			count()
			return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{
				&sdk.TextContent{Text: "it failed on purpose"},
				&sdk.TextContent{Text: "second line"},
			}}, nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "media", Description: "Returns every kind of content."},
		func(ctx context.Context, req *sdk.CallToolRequest, in empty) (*sdk.CallToolResult, any, error) {
			count()
			size := int64(42)
			return &sdk.CallToolResult{Content: []sdk.Content{
				&sdk.TextContent{Text: "here:"},
				&sdk.ImageContent{MIMEType: "image/png", Data: tinyPNG},
				&sdk.AudioContent{MIMEType: "audio/wav", Data: []byte("RIFFxxxx")},
				&sdk.ResourceLink{URI: "file:///tmp/a.txt", Name: "a.txt", MIMEType: "text/plain", Size: &size},
				&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: "file:///tmp/b.txt", MIMEType: "text/plain", Text: "hello b"}},
				&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: "file:///tmp/c.bin", Blob: []byte{1, 2, 3}}},
			}}, nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "sleep", Description: "Sleeps."},
		func(ctx context.Context, req *sdk.CallToolRequest, in sleepIn) (*sdk.CallToolResult, any, error) {
			count()
			if ts.sleeping != nil {
				ts.sleeping <- struct{}{}
			}
			select {
			case <-time.After(time.Duration(in.MS) * time.Millisecond):
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "slept"}}}, nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "pid", Description: "Returns the server's process id."},
		func(ctx context.Context, req *sdk.CallToolRequest, in empty) (*sdk.CallToolResult, any, error) {
			count()
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: strconv.Itoa(os.Getpid())}}}, nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "crash", Description: "Ends the server during the call."},
		func(ctx context.Context, req *sdk.CallToolRequest, in empty) (*sdk.CallToolResult, any, error) {
			count()
			crash()
			<-ctx.Done()
			return nil, nil, ctx.Err()
		})
	// Raw handlers, for protocol errors.
	srv.AddTool(&sdk.Tool{Name: "reject", Description: "Rejects its call as invalid.", InputSchema: map[string]any{"type": "object"}},
		func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			count()
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "the server does not like these arguments"}
		})
	srv.AddTool(&sdk.Tool{Name: "broken", Description: "Fails with an internal error.", InputSchema: map[string]any{"type": "object"}},
		func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			count()
			return nil, errors.New("database on fire")
		})
	return srv
}

// toolNames are the names newServer registers, sorted.
var toolNames = []string{"add", "broken", "crash", "echo", "fail", "media", "pid", "reject", "sleep"}

// runStdioServer serves the test tools on stdin/stdout until stdin closes.
func runStdioServer(mode string) {
	if mode == "silent" { // reads requests and never answers
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	ts := &testServer{}
	fmt.Fprintln(os.Stderr, "test server starting")
	if mode == "stubborn" {
		signal.Ignore(syscall.SIGTERM)
	}
	err := ts.newServer(0, func() { os.Exit(3) }).Run(context.Background(), &sdk.StdioTransport{})
	if mode == "stubborn" {
		time.Sleep(time.Hour) // ignore stdin closing; only SIGKILL ends us
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "test server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
