package toolenv

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/env/envtest"
	"github.com/retrain-rl/retrain/tool/mcp/mcptest"
)

// everythingServers is an mcpServers object that runs the reference
// server-everything, offering its echo and get-sum tools.
func everythingServers(t *testing.T) map[string]any {
	cmd := mcptest.Command(t, mcptest.Everything)
	return map[string]any{"mcpServers": map[string]any{
		"everything": map[string]any{"command": cmd[0], "args": cmd[1:], "allow": []string{"echo", "get-sum"}},
	}}
}

func TestToolEnvMCPShared(t *testing.T) {
	cfg, _ := json.Marshal(map[string]any{"mcp": everythingServers(t), "tools": []string{"calculator"}})
	f, err := env.New(Name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cf := f.(*closingFactory)
	client := cf.mcp.Client("everything")

	const n = 4
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e, err := f.NewEnv()
			if err != nil {
				t.Error(err)
				return
			}
			defer e.Close()
			ctx := context.Background()
			obs, _, err := e.Reset(ctx, retrain.ResetOptions{Task: retrain.Task{Prompt: "echo something"}})
			if err != nil {
				t.Error(err)
				return
			}
			var names []string
			for _, s := range obs.Tools {
				names = append(names, s.Name)
			}
			if strings.Join(names, ",") != "calculator,echo,get-sum" {
				t.Errorf("tools = %v", names)
			}
			msg := string(rune('a' + i))
			step, err := e.Step(ctx, retrain.Action{Kind: retrain.ActionToolCall, Raw: "…", ToolCalls: []retrain.ToolCall{
				{Name: "echo", Arguments: json.RawMessage(`{"message":"` + msg + `"}`)},
				{Name: "get-sum", Arguments: json.RawMessage(`{"a":"x"}`)},
			}})
			if err != nil {
				t.Error(err)
				return
			}
			res := step.Observation.ToolResults
			if len(res) != 2 || !res[0].Success || res[0].Output != "Echo: "+msg {
				t.Errorf("echo result = %+v", res)
			}
			if len(res) == 2 && (res[1].Success || !strings.Contains(res[1].Error, "expected number")) {
				t.Errorf("invalid get-sum call = %+v, want a failed result naming the problem", res[1])
			}
		})
	}
	wg.Wait()
	if got := client.Starts(); got != 1 {
		t.Errorf("the MCP server was started %d times for %d concurrent episodes, want once", got, n)
	}
	pid := client.PID()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("MCP server %d still runs after Factory.Close", pid)
	}
}

func TestToolEnvMCPConfigFile(t *testing.T) {
	b, _ := json.Marshal(everythingServers(t))
	path := filepath.Join(t.TempDir(), "mcp.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"mcp": path})
	_, e := envtest.Registered(t, Name, cfg)
	obs, _, err := e.Reset(context.Background(), retrain.ResetOptions{Task: retrain.Task{Prompt: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	// With "mcp" and no "tools", only the MCP tools are offered.
	if len(obs.Tools) != 2 || obs.Tools[0].Name != "echo" {
		t.Errorf("tools = %+v", obs.Tools)
	}
}

func TestToolEnvMCPConfigErrors(t *testing.T) {
	tests := []struct{ cfg, want string }{
		{`{"mcp": 5}`, `config key "mcp" must be the path of an mcpServers JSON file`},
		{`{"mcp": ""}`, `config key "mcp" is empty`},
		{`{"mcp": "/nonexistent/mcp.json"}`, `config key "mcp": reading MCP config`},
		{`{"mcp": {"mcpServers": {"x": {}}}}`, `config key "mcp": server "x": no "command"`},
		{`{"mcp": {"mcpServers": {}}}`, `no servers are configured`},
	}
	for _, tt := range tests {
		_, err := env.New(Name, json.RawMessage(tt.cfg))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}
