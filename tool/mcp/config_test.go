package mcp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseConfig(t *testing.T) {
	t.Setenv("RETRAIN_TEST_TOKEN", "tok123")
	t.Setenv("RETRAIN_TEST_EMPTY", "")
	tests := []struct {
		name string
		in   string
		want map[string]*ServerConfig
	}{
		{
			name: "stdio and http",
			in: `{"mcpServers": {
				"fs": {"command": "npx", "args": ["-y", "server-filesystem", "/tmp"], "env": {"DEBUG": "1"}, "cwd": "/srv",
				       "prefix": "fs_", "allow": ["read_*"], "deny": ["read_media_file"], "timeout": "30s"},
				"remote": {"type": "http", "url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ${RETRAIN_TEST_TOKEN}"}},
				"off": {"command": "x", "disabled": true}
			}}`,
			want: map[string]*ServerConfig{
				"fs": {Name: "fs", Command: "npx", Args: []string{"-y", "server-filesystem", "/tmp"}, Env: map[string]string{"DEBUG": "1"}, Cwd: "/srv",
					Prefix: "fs_", Allow: []string{"read_*"}, Deny: []string{"read_media_file"}, Timeout: Duration(30 * time.Second)},
				"remote": {Name: "remote", Type: "http", URL: "https://example.com/mcp", Headers: map[string]string{"Authorization": "Bearer tok123"}},
				"off":    {Name: "off", Command: "x", Disabled: true},
			},
		},
		{
			name: "inline servers object",
			in:   `{"a": {"command": "srv", "args": ["${RETRAIN_TEST_UNSET:-dflt}", "${RETRAIN_TEST_EMPTY:-e}", "$HOME", "x${RETRAIN_TEST_EMPTY}y"]}}`,
			want: map[string]*ServerConfig{"a": {Name: "a", Command: "srv", Args: []string{"dflt", "e", "$HOME", "xy"}}},
		},
		{
			name: "streamable-http type spelling",
			in:   `{"mcpServers": {"a": {"type": "streamable-http", "url": "http://127.0.0.1:1/mcp"}}}`,
			want: map[string]*ServerConfig{"a": {Name: "a", Type: "streamable-http", URL: "http://127.0.0.1:1/mcp"}},
		},
		{name: "empty servers", in: `{"mcpServers": {}}`, want: map[string]*ServerConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cfg.Servers, cmpopts.IgnoreFields(ServerConfig{}, "Dial")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
	}{
		{"empty", ``, "empty MCP config"},
		{"not an object", `[1]`, "not a JSON object"},
		{"bad json", `{"mcpServers": {"a": {"command": "x",}}}`, "not valid JSON: invalid JSON at byte 38"},
		{"no command no url", `{"mcpServers": {"a": {"args": ["x"]}}}`, `server "a": no "command" (a stdio server) and no "url"`},
		{"both", `{"mcpServers": {"a": {"command": "x", "url": "http://h/mcp"}}}`, `server "a": both "command" and "url" are set`},
		{"unknown key", `{"mcpServers": {"a": {"command": "x", "arguments": []}}}`, `server "a": unknown key "arguments"; allowed keys: type, command, args`},
		{"unknown top key", `{"mcpServers": {}, "extra": 1}`, `unknown key "extra" at the top`},
		{"vs code layout", `{"servers": {"a": {"command": "x"}}}`, `has "servers" (VS Code's layout); rename it to "mcpServers"`},
		{"misspelled", `{"mcp_servers": {"a": {"command": "x"}}}`, `spell it "mcpServers"`},
		{"wrong type", `{"mcpServers": {"a": {"command": ["x"]}}}`, `key "command": expected a string, got a JSON array`},
		{"numeric timeout", `{"mcpServers": {"a": {"command": "x", "timeout": 30}}}`, `like "30s"`},
		{"bad timeout", `{"mcpServers": {"a": {"command": "x", "timeout": "soon"}}}`, `"soon" is not a duration`},
		{"sse", `{"mcpServers": {"a": {"type": "sse", "url": "http://h/sse"}}}`, "SSE transport"},
		{"type mismatch", `{"mcpServers": {"a": {"type": "stdio", "url": "http://h/mcp"}}}`, `"type" is "stdio" but there is no "command"`},
		{"unknown type", `{"mcpServers": {"a": {"type": "grpc", "command": "x"}}}`, `unknown "type" "grpc"`},
		{"bad url scheme", `{"mcpServers": {"a": {"url": "ftp://h/mcp"}}}`, "must start with http:// or https://"},
		{"headers on stdio", `{"mcpServers": {"a": {"command": "x", "headers": {"A": "b"}}}}`, `"headers" only apply to a "url" server`},
		{"args on http", `{"mcpServers": {"a": {"url": "http://h/mcp", "args": ["x"]}}}`, `only apply to a "command" server`},
		{"bad pattern", `{"mcpServers": {"a": {"command": "x", "allow": ["[a"]}}}`, `"allow": bad pattern "[a"`},
		{"bad prefix", `{"mcpServers": {"a": {"command": "x", "prefix": "my tools/"}}}`, `"prefix" "my tools/"`},
		{"unset variable", `{"mcpServers": {"a": {"url": "http://h/mcp", "headers": {"Authorization": "Bearer ${RETRAIN_TEST_SURELY_UNSET}"}}}}`,
			`"headers".Authorization: environment variable RETRAIN_TEST_SURELY_UNSET is not set`},
		{"bad variable", `{"mcpServers": {"a": {"command": "${1X}"}}}`, "bad variable reference ${1X}"},
		{"unterminated variable", `{"mcpServers": {"a": {"command": "${X"}}}`, "unterminated ${"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mcp.json")
	if err := os.WriteFile(file, []byte(`{"mcpServers": {"a": {"command": "srv"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(file)
	if err != nil || cfg.Servers["a"].Command != "srv" {
		t.Fatalf("LoadConfig = %+v, %v", cfg, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"mcpServers": {"a": {}}}`), 0o644)
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("err = %v, want it to name the file", err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("no error for a missing file")
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"mcpServers": {"fs": {"command": "npx", "args": ["-y"], "prefix": "fs_", "allow": ["a*"], "timeout": "1s"}}}`))
	f.Add([]byte(`{"a": {"url": "http://h/mcp", "headers": {"X": "${HOME:-x}"}}}`))
	f.Add([]byte(`{"mcpServers": {"a": {"command": "${"}}}`))
	f.Add([]byte(`{"mcpServers": null}`))
	f.Add([]byte(`{"mcpServers": {"a": null}}`))
	f.Add([]byte(`{"mcpServers": {"": {"command": "x"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		for name, sc := range cfg.Servers {
			if sc == nil || sc.Name != name {
				t.Fatalf("server %q: %+v", name, sc)
			}
			if (sc.Command == "") == (sc.URL == "") {
				t.Fatalf("server %q has neither or both of command and url: %+v", name, sc)
			}
			if err := sc.Validate(); err != nil {
				t.Fatalf("server %q was parsed but does not validate: %v", name, err)
			}
		}
	})
}

func FuzzExpandVars(f *testing.F) {
	f.Add("plain")
	f.Add("a ${X} b ${Y:-d} $Z ${")
	f.Add("${X:-${Y}}")
	env := map[string]string{"X": "x", "E": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expandVars(s, lookup)
		if err != nil {
			return
		}
		if !strings.Contains(s, "${") && out != s {
			t.Fatalf("expandVars(%q) = %q; without references it must not change", s, out)
		}
	})
}
