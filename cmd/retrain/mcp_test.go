package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/retrain-rl/retrain/tool/mcp"
	"github.com/retrain-rl/retrain/tool/mcp/mcptest"
)

// TestMCPServeStdioInProcess drives "retrain mcp serve" over its stdin and
// stdout with the Go SDK's client.
func TestMCPServeStdioInProcess(t *testing.T) {
	defer goleak.VerifyNone(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errOut strings.Builder
	code := make(chan int, 1)
	go func() {
		code <- run(t.Context(), []string{"mcp", "serve"}, stdio{in: inR, out: outW, err: &errOut})
		outW.Close()
	}()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test"}, nil).Connect(t.Context(), &sdk.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var calc *sdk.Tool
	for _, tl := range res.Tools {
		if tl.Name == "calculator" {
			calc = tl
		}
	}
	if calc == nil {
		t.Fatalf("calculator not served; got %d tools", len(res.Tools))
	}
	schema, _ := json.Marshal(calc.InputSchema)
	if !strings.Contains(string(schema), `"expression"`) {
		t.Errorf("calculator schema = %s", schema)
	}
	tests := []struct {
		args    string
		want    string
		isError bool
	}{
		{`{"expression":"(2+3)*4"}`, "20", false},
		{`{"expression":"1/0"}`, "division by zero", true},
		{`{"expr":"1"}`, "missing required property", true},
	}
	for _, tt := range tests {
		r, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "calculator", Arguments: json.RawMessage(tt.args)})
		if err != nil {
			t.Fatal(err)
		}
		if text := mcp.ContentText(r.Content); r.IsError != tt.isError || !strings.Contains(text, tt.want) {
			t.Errorf("calculator %s = %q (isError %v), want %q (isError %v)", tt.args, text, r.IsError, tt.want, tt.isError)
		}
	}
	cs.Close()
	inW.Close()
	if c := <-code; c != 0 {
		t.Errorf("exit %d; stderr:\n%s", c, errOut.String())
	}
	if !strings.Contains(errOut.String(), "over stdio") {
		t.Errorf("stderr = %q", errOut.String())
	}
}

func TestMCPServeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"mcp", "serve", "--tools", "nope"},
		{"mcp", "serve", "extra"},
		{"mcp", "serve", "--timeout", "0s"},
	} {
		code, _, errOut := runCLI(t, "", args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr:\n%s", args, code, errOut)
		}
	}
}

// buildRetrain builds the retrain binary into a temporary directory, with
// the race detector when the tests have it.
func buildRetrain(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "retrain")
	args := []string{"build", "-o", bin}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tsClient runs the reference TypeScript client (testdata/mcp-servers/client.mjs).
func tsClient(t *testing.T, target []string, calls string) (tools []sdk.Tool, results []map[string]any) {
	t.Helper()
	node := mcptest.Node(t)
	script := filepath.Join(mcptest.Dir(), "client.mjs")
	mcptest.Script(t, "@modelcontextprotocol/sdk", "package.json")
	cmd := exec.Command(node, append(append([]string{script}, target...), "--", calls)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("TypeScript client: %v\nstderr:\n%s", err, stderr.String())
	}
	var res struct {
		Tools   []sdk.Tool       `json:"tools"`
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("TypeScript client output: %v\n%s", err, out)
	}
	return res.Tools, res.Results
}

// tsResultText joins the text content of a result the TypeScript client printed.
func tsResultText(r map[string]any) string {
	var parts []string
	content, _ := r["content"].([]any)
	for _, c := range content {
		if m, ok := c.(map[string]any); ok && m["type"] == "text" {
			parts = append(parts, fmt.Sprint(m["text"]))
		}
	}
	return strings.Join(parts, "\n")
}

// TestMCPServeBinary runs the built binary as an MCP server, over stdio and
// streamable HTTP, with the Go client of tool/mcp and the reference
// TypeScript client.
func TestMCPServeBinary(t *testing.T) {
	bin := buildRetrain(t)
	const calls = `[{"name":"calculator","arguments":{"expression":"6*7"}},{"name":"calculator","arguments":{"expression":"1/0"}}]`
	check := func(t *testing.T, tools []sdk.Tool, results []map[string]any) {
		t.Helper()
		found := false
		for _, tl := range tools {
			found = found || tl.Name == "calculator"
		}
		if !found || len(results) != 2 {
			t.Fatalf("tools %v, results %v", tools, results)
		}
		if got := tsResultText(results[0]); got != "42" || results[0]["isError"] == true {
			t.Errorf("6*7 = %q (%v)", got, results[0])
		}
		if got := tsResultText(results[1]); results[1]["isError"] != true || !strings.Contains(got, "division by zero") {
			t.Errorf("1/0 = %q (%v), want an isError result", got, results[1])
		}
	}

	t.Run("stdio go client", func(t *testing.T) {
		c, err := mcp.NewClient(&mcp.ServerConfig{Name: "retrain", Command: bin, Args: []string{"mcp", "serve", "--tools", "calculator"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		tools, err := c.Tools(t.Context())
		if err != nil || len(tools) != 1 {
			t.Fatalf("tools = %v, %v", tools, err)
		}
		res, err := tools[0].Call(t.Context(), json.RawMessage(`{"expression":"2^10"}`))
		if err != nil || res.Output != "1024" {
			t.Errorf("2^10 = %+v, %v", res, err)
		}
	})
	t.Run("stdio typescript client", func(t *testing.T) {
		tools, results := tsClient(t, []string{"stdio", bin, "mcp", "serve"}, calls)
		check(t, tools, results)
	})
	t.Run("http", func(t *testing.T) {
		cmd := exec.Command(bin, "mcp", "serve", "--http", "127.0.0.1:0")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		sc := bufio.NewScanner(stderr)
		var url string
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "streamable HTTP at "); ok {
				url = u
				break
			}
		}
		if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/mcp") {
			t.Fatalf("no URL on stderr (got %q)", url)
		}
		go io.Copy(io.Discard, stderr)

		tsTools, tsResults := tsClient(t, []string{"http", url}, calls)
		check(t, tsTools, tsResults)

		c, err := mcp.NewClient(&mcp.ServerConfig{Name: "retrain-http", URL: url}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tools, err := c.Tools(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tl := range tools {
			names = append(names, tl.Spec().Name)
			if tl.Spec().Name == "calculator" {
				res, err := tl.Call(t.Context(), json.RawMessage(`{"expression":"3+4"}`))
				if err != nil || res.Output != "7" {
					t.Errorf("3+4 = %+v, %v", res, err)
				}
			}
		}
		c.Close()
		if !strings.Contains(strings.Join(names, ","), "calculator") {
			t.Errorf("tools over HTTP: %v", names)
		}

		// An interrupt shuts the server down cleanly.
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit after SIGINT: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the server did not exit within 10s of SIGINT")
		}
	})
}

// fsConfig writes an mcpServers file for the reference filesystem server
// over dir.
func fsConfig(t *testing.T, dir string) string {
	t.Helper()
	cmd := mcptest.Command(t, mcptest.Filesystem)
	cfg := map[string]any{"mcpServers": map[string]any{
		"fs": map[string]any{"command": cmd[0], "args": append(cmd[1:], dir), "prefix": "fs_",
			"allow": []string{"write_file", "read_text_file", "list_directory"}},
	}}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(t.TempDir(), "mcp.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestToolsWithMCP(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	cfg := fsConfig(t, dir)

	code, out, errOut := runCLI(t, "", "tools", "--json", "--mcp", cfg)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	var specs []struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal([]byte(out), &specs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		if s.Name == slowToolName { // registered by other tests of this package
			continue
		}
		names = append(names, s.Name)
		if s.Name == "fs_write_file" && !strings.Contains(string(s.Parameters), `"content"`) {
			t.Errorf("fs_write_file schema = %s", s.Parameters)
		}
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"calculator", "fs_list_directory", "fs_read_text_file", "fs_write_file", "python"}, names); diff != "" {
		t.Errorf("tools (-want +got):\n%s", diff)
	}

	file := filepath.Join(dir, "todo.txt")
	code, out, errOut = runCLI(t, "", "tool", "call", "fs_write_file", fmt.Sprintf(`{"path":%q,"content":"buy milk"}`, file), "--mcp", cfg)
	if code != 0 || !strings.Contains(out, "Successfully wrote") {
		t.Fatalf("write: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "buy milk" {
		t.Errorf("file = %q, %v", b, err)
	}
	code, _, errOut = runCLI(t, "", "tool", "call", "--mcp", cfg, "fs_read_text_file", `{"path":"/etc/hostname"}`)
	if code != 1 || !strings.Contains(errOut, "Access denied") {
		t.Errorf("read outside: exit %d, stderr %q; want exit 1 and the server's message", code, errOut)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"mcpServers": {"x": {"args": []}}}`), 0o644)
	code, _, errOut = runCLI(t, "", "tools", "--mcp", bad)
	if code != 1 || !strings.Contains(errOut, `server "x": no "command"`) {
		t.Errorf("bad config: exit %d, stderr %q", code, errOut)
	}
}
