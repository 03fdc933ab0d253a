package mcp

// Tests against the reference TypeScript servers from npm, installed at
// pinned versions in testdata/mcp-servers (see package mcptest).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/retrain-rl/retrain/tool"
	"github.com/retrain-rl/retrain/tool/mcp/mcptest"
)

// tinyImageBytes is the decoded size of server-everything's get-tiny-image.
func tinyImageBytes(t *testing.T) int {
	src, err := os.ReadFile(mcptest.Script(t, mcptest.Everything, "dist/tools/get-tiny-image.js"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(src), `MCP_TINY_IMAGE = "`)
	b64, _, _ := strings.Cut(rest, `"`)
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return len(data)
}

func wantToolError(t *testing.T, err error, substr string) {
	t.Helper()
	var te *tool.Error
	if !errors.As(err, &te) || !strings.Contains(te.Message, substr) {
		t.Errorf("err = %v (%T), want a *tool.Error containing %q", err, err, substr)
	}
}

func TestReferenceEverythingStdio(t *testing.T) {
	cmd := mcptest.Command(t, mcptest.Everything)
	c := newClient(t, ServerConfig{Name: "everything", Command: cmd[0], Args: append(cmd[1:], "stdio")},
		&Options{Timeout: 10 * time.Second})
	tools := toolsByName(t, c)

	t.Run("list", func(t *testing.T) {
		for _, n := range []string{"echo", "get-sum", "get-tiny-image", "get-structured-content", "get-resource-links", "trigger-long-running-operation"} {
			if tools[n] == nil {
				t.Errorf("tool %q missing; have %v", n, names(tools))
			}
		}
		var schema struct {
			Type       string                     `json:"type"`
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(tools["echo"].Spec().Parameters, &schema); err != nil {
			t.Fatal(err)
		}
		if schema.Type != "object" || len(schema.Required) != 1 || schema.Required[0] != "message" || schema.Properties["message"] == nil {
			t.Errorf("echo schema = %s", tools["echo"].Spec().Parameters)
		}
		if d := tools["echo"].Spec().Description; d != "Echoes back the input string" {
			t.Errorf("echo description = %q", d)
		}
	})
	t.Run("calls", func(t *testing.T) {
		tests := []struct{ tool, args, want string }{
			{"echo", `{"message":"hi there"}`, "Echo: hi there"},
			{"get-sum", `{"a":2,"b":3}`, "The sum of 2 and 3 is 5."},
			{"get-tiny-image", `{}`, fmt.Sprintf("[image: image/png, %d bytes]", tinyImageBytes(t))},
			{"get-resource-links", `{"count":1}`, "[resource link: "},
		}
		for _, tt := range tests {
			res, err := call(t, tools[tt.tool], tt.args)
			if err != nil || !strings.Contains(res.Output, tt.want) {
				t.Errorf("%s %s = %q, %v; want it to contain %q", tt.tool, tt.args, res.Output, err, tt.want)
			}
		}
		res, err := call(t, tools["get-structured-content"], `{"location":"New York"}`)
		if err != nil || !json.Valid(res.Structured) || len(res.Structured) < 3 {
			t.Errorf("get-structured-content = %+v, %v; want structured content", res, err)
		}
	})
	t.Run("image served again", func(t *testing.T) {
		cs := serveInMemory(t, []tool.Tool{tools["get-tiny-image"]})
		res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "get-tiny-image", Arguments: map[string]any{}})
		if err != nil {
			t.Fatal(err)
		}
		var image *sdk.ImageContent
		for _, c := range res.Content {
			if ic, ok := c.(*sdk.ImageContent); ok {
				image = ic
			}
		}
		if image == nil || image.MIMEType != "image/png" || len(image.Data) != tinyImageBytes(t) {
			t.Errorf("content %+v, want server-everything's PNG of %d bytes, unchanged", res.Content, tinyImageBytes(t))
		}
	})
	t.Run("invalid arguments", func(t *testing.T) {
		_, err := call(t, tools["get-sum"], `{"a":"2"}`)
		wantToolError(t, err, "at /a: expected number, got string")
		wantToolError(t, err, "at /b: missing required property")
	})
	t.Run("timeout", func(t *testing.T) {
		// The timeout bounds the server's start too: long enough for node
		// on a loaded machine (3 s flaked under a parallel -race run).
		c2 := newClient(t, ServerConfig{Name: "everything", Command: cmd[0], Args: cmd[1:], Timeout: Duration(6 * time.Second)}, nil)
		slow := toolsByName(t, c2)["trigger-long-running-operation"]
		_, err := call(t, slow, `{"duration":60,"steps":2}`)
		wantToolError(t, err, "timed out after 6s")
		if c2.Starts() != 1 {
			t.Errorf("Starts = %d after a timeout, want 1", c2.Starts())
		}
	})
	t.Run("restart after kill", func(t *testing.T) {
		pid := c.PID()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return c.PID() != pid })
		res, err := call(t, tools["echo"], `{"message":"back"}`)
		if err != nil || res.Output != "Echo: back" {
			t.Fatalf("after kill: %+v, %v", res, err)
		}
		if c.PID() == pid || c.Starts() != 2 {
			t.Errorf("pid %d -> %d, Starts = %d; want a new process", pid, c.PID(), c.Starts())
		}
	})
}

func TestReferenceEverythingHTTP(t *testing.T) {
	srv := mcptest.StartEverythingHTTP(t)
	c := newClient(t, ServerConfig{Name: "everything-http", URL: srv.URL, Prefix: "ev_", Allow: []string{"echo", "get-sum"}},
		&Options{Attempts: 1})
	tools := toolsByName(t, c)
	if got := names(tools); strings.Join(got, ",") != "ev_echo,ev_get-sum" {
		t.Fatalf("tools = %v", got)
	}
	res, err := call(t, tools["ev_echo"], `{"message":"over http"}`)
	if err != nil || res.Output != "Echo: over http" {
		t.Fatalf("%+v, %v", res, err)
	}

	srv.Stop()
	_, err = call(t, tools["ev_get-sum"], `{"a":1,"b":2}`)
	var te *tool.Error
	if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), "died during the call") {
		t.Fatalf("server down: err = %v, want the died error", err)
	}
	srv.Start()
	res, err = call(t, tools["ev_get-sum"], `{"a":1,"b":2}`)
	if err != nil || res.Output != "The sum of 1 and 2 is 3." {
		t.Fatalf("after restart: %+v, %v\nserver log:\n%s", res, err, srv.Log())
	}
	if c.Starts() != 2 {
		t.Errorf("Starts = %d, want 2", c.Starts())
	}
}

func TestReferenceFilesystem(t *testing.T) {
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	cmd := mcptest.Command(t, mcptest.Filesystem)
	c := newClient(t, ServerConfig{Name: "fs", Command: cmd[0], Args: append(cmd[1:], dir), Prefix: "fs_", Deny: []string{"read_file"}}, nil)
	tools := toolsByName(t, c)
	for _, n := range []string{"fs_write_file", "fs_read_text_file", "fs_create_directory", "fs_list_directory"} {
		if tools[n] == nil {
			t.Fatalf("tool %q missing; have %v", n, names(tools))
		}
	}
	if tools["fs_read_file"] != nil {
		t.Error("denied tool fs_read_file offered")
	}
	ctx := context.Background()
	mustCall := func(name string, args any) tool.Result {
		t.Helper()
		b, _ := json.Marshal(args)
		res, err := tools[name].Call(ctx, b)
		if err != nil {
			t.Fatalf("%s %s: %v", name, b, err)
		}
		return res
	}
	mustCall("fs_create_directory", map[string]string{"path": filepath.Join(dir, "notes")})
	mustCall("fs_write_file", map[string]string{"path": filepath.Join(dir, "notes", "todo.txt"), "content": "buy milk\n"})
	got, err := os.ReadFile(filepath.Join(dir, "notes", "todo.txt"))
	if err != nil || string(got) != "buy milk\n" {
		t.Fatalf("file on disk = %q, %v", got, err)
	}
	res := mustCall("fs_read_text_file", map[string]string{"path": filepath.Join(dir, "notes", "todo.txt")})
	if res.Output != "buy milk\n" || !strings.Contains(string(res.Structured), "buy milk") {
		t.Errorf("read = %+v", res)
	}
	res = mustCall("fs_list_directory", map[string]string{"path": dir})
	if !strings.Contains(res.Output, "[DIR] notes") {
		t.Errorf("list = %q", res.Output)
	}
	// Outside the allowed directory: an isError result the model sees.
	_, err = tools["fs_read_text_file"].Call(ctx, json.RawMessage(`{"path":"/etc/hostname"}`))
	wantToolError(t, err, "Access denied")
	_, err = tools["fs_read_text_file"].Call(ctx, json.RawMessage(`{"path":"`+filepath.Join(dir, "missing.txt")+`"}`))
	wantToolError(t, err, "ENOENT")
}

// A stdio server gets a minimal environment: the server's secrets never
// reach it, what its config's env names does.
func TestReferenceEverythingSecretsStayHome(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-must-not-leak")
	t.Setenv("RETRAIN_SERVE_TOKEN", "token-must-not-leak")
	cmd := mcptest.Command(t, mcptest.Everything)
	c := newClient(t, ServerConfig{Name: "everything", Command: cmd[0], Args: append(cmd[1:], "stdio"),
		Env: map[string]string{"FROM_CONFIG": "named-in-config"}}, &Options{Timeout: 10 * time.Second})
	tools := toolsByName(t, c)
	if tools["get-env"] == nil {
		t.Fatalf("server-everything has no get-env tool; have %v", names(tools))
	}
	out, err := tools["get-env"].Call(t.Context(), json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprint(out)
	for _, secret := range []string{"sk-must-not-leak", "token-must-not-leak", "OPENAI_API_KEY"} {
		if strings.Contains(text, secret) {
			t.Errorf("the MCP server sees %q in its environment", secret)
		}
	}
	if !strings.Contains(text, `"FROM_CONFIG": "named-in-config"`) || !strings.Contains(text, `"PATH"`) {
		t.Errorf("the config's env or PATH is missing from the server's environment:\n%.2000s", text)
	}
}
