package proxy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/model/serve"
	"github.com/retrain-rl/retrain/proxy"
)

// agentDir holds the test agent, on the official openai npm client.
var agentDir = filepath.Join("..", "testdata", "proxy-agent")

// skipEnv, set to 1, skips the tests that need node and the npm packages.
const skipEnv = "RETRAIN_SKIP_NPM"

// needAgent fails (or skips, with RETRAIN_SKIP_NPM=1) when node or the
// agent's npm packages are missing.
func needAgent(t *testing.T) {
	t.Helper()
	msg := ""
	if _, err := exec.LookPath("node"); err != nil {
		msg = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(agentDir, "node_modules", "openai", "package.json")); err != nil {
		msg = "the openai npm package is not installed in testdata/proxy-agent"
	}
	if msg == "" {
		return
	}
	if os.Getenv(skipEnv) == "1" {
		t.Skipf("%s (skipped: %s=1)", msg, skipEnv)
	}
	t.Fatalf("%s; from the module root run:\n\tnpm ci --prefix testdata/proxy-agent\n(or set %s=1 to skip)", msg, skipEnv)
}

// agentResult is the agent's last line.
type agentResult struct {
	Answer    string `json:"answer"`
	Calls     int    `json:"calls"`
	ToolCalls int    `json:"tool_calls"`
}

// runAgent runs the test agent against base (a session's base URL).
func runAgent(t *testing.T, base, task string, env ...string) agentResult {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "node", "agent.mjs", task)
	cmd.Dir = agentDir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "OPENAI_BASE_URL=" + base, "OPENAI_API_KEY=dummy"}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("agent: %v\n%s", err, stderr.Bytes())
	}
	var r agentResult
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("agent output %q: %v", out, err)
	}
	return r
}

// The openai npm client drives a tool-calling agent loop through the proxy,
// streaming and not, to the fake server and to serve-model's handler (the
// built-in model). Every turn has
// token ids and log-probs; the turns where the agent kept its history match
// token for token; the agent's compaction starts a branch.
func TestNodeAgent(t *testing.T) {
	needAgent(t)
	fake := openaitest.NewServer(&openaitest.Options{Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
		last := req.Messages[len(req.Messages)-1]
		switch {
		case last.Role == "tool":
			return openaitest.Reply{Content: "The sum is " + string(last.Content) + "."}
		case strings.HasPrefix(string(last.Content), "Summary"):
			return openaitest.Reply{Content: "Checked: it is right."}
		}
		return openaitest.Reply{Content: "Let me add.", ToolCalls: []openaitest.ToolCall{{Function: openaitest.FunctionCall{Name: "add", Arguments: `{"a":20,"b":22}`}}}}
	}})
	defer fake.Close()
	// The built-in model (random weights would write bytes that are not
	// UTF-8, which JSON cannot carry back: real drift, flagged as such).
	m, err := local.Default()
	if err != nil {
		t.Fatal(err)
	}
	sm := httptest.NewServer(serve.NewHandler(m, &serve.Options{Name: m.Name(), ContextLength: m.Config().Context,
		BadRequest: func(err error) bool { return errors.Is(err, local.ErrContextLength) }}))
	defer sm.Close()

	for _, up := range []struct {
		name, url, model string
		turns            int // calls on branch 0
		env              []string
	}{
		{"fake", fake.URL, "fake-model", 2, nil},
		{"serve-model", sm.URL + "/v1", m.Name(), 3, []string{"AGENT_TURNS=3", "AGENT_MAX_TOKENS=6"}},
	} {
		for _, stream := range []string{"0", "1"} {
			t.Run(up.name+"/stream="+stream, func(t *testing.T) {
				sink := make(chanSink, 64)
				_, base := start(t, proxy.Options{Upstream: up.url, Sink: sink})
				env := append([]string{"AGENT_MODEL=" + up.model, "AGENT_STREAM=" + stream, "AGENT_REWRITE=1"}, up.env...)
				res := runAgent(t, base+"/sessions/agent-1/v1", "What is 20 + 22?", env...)
				if res.Calls != up.turns+1 {
					t.Errorf("agent made %d calls, want %d", res.Calls, up.turns+1)
				}
				if up.name == "fake" && (res.ToolCalls != 1 || res.Answer != "Checked: it is right.") {
					t.Errorf("agent result %+v: the native tool call did not pass through", res)
				}
				code, b := post(t, base+"/sessions/agent-1/end", `{"reward": 0.5}`)
				if code != 200 {
					t.Fatalf("end: %d %s", code, b)
				}
				main, branch := sink.next(t), sink.next(t)
				if len(main.Turns) != up.turns || len(branch.Turns) != 1 || branch.ID != "agent-1/b1" {
					t.Fatalf("turns %d (%s) and %d (%s); want %d on the kept history and 1 on the rewrite",
						len(main.Turns), main.ID, len(branch.Turns), branch.ID, up.turns)
				}
				for _, tr := range [2]*retrain.Trajectory{main, branch} {
					if tr.Failed() {
						t.Errorf("%s failed: %s", tr.ID, tr.Error)
					}
					for i, tu := range tr.Turns {
						tok := tu.Action.Tokens
						if tok == nil || len(tok.IDs) == 0 || len(tok.IDs) != len(tok.Logprobs) || len(tu.PromptTokenIDs) == 0 {
							t.Errorf("%s turn %d: tokens %+v, %d prompt ids: want token ids and log-probs", tr.ID, i+1, tok, len(tu.PromptTokenIDs))
						}
					}
				}
				for i, tu := range main.Turns[1:] {
					if pm := tu.PrefixMatch; pm == nil || !*pm {
						prev := main.Turns[i]
						t.Logf("prev prompt %v\nprev completion %v %q\nprompt %v", prev.PromptTokenIDs, prev.Action.Tokens.IDs, prev.Action.Raw, tu.PromptTokenIDs)
						t.Errorf("turn %d prefix_match %v: the agent kept its history", i+2, pm)
					}
				}
				if main.TemplateDrift {
					t.Error("template drift on the kept history")
				}
				if branch.Turns[0].PrefixMatch != nil || branch.Turns[0].Reward != 0.5 || main.Turns[len(main.Turns)-1].Reward != 0.5 {
					t.Errorf("branch prefix %v rewards %v %v", branch.Turns[0].PrefixMatch, branch.Turns[0].Reward, main.Turns[len(main.Turns)-1].Reward)
				}
			})
		}
	}
}
