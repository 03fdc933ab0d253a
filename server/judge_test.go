package server

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/reward/judge"
)

// A client's reward configuration must not point a judge at an address,
// name an environment variable for its API key, or a cache directory: the
// judge is the operator's.
func TestAttackClientPointsNoJudge(t *testing.T) {
	addr, check := listenerThatMustNotBeCalled(t)
	url := builtinServer(t, nil)
	cache := filepath.Join(t.TempDir(), "cache")
	for name, params := range map[string]string{
		// Bounded, so that a server with the hole fails the test quickly.
		"base_url":    `{"base_url": "http://` + addr + `/v1", "model": "m", "timeout": "1s", "max_retries": -1}`,
		"api_key_env": `{"api_key_env": "AWS_SECRET_ACCESS_KEY"}`,
		"cache":       `{"cache": "` + cache + `"}`,
	} {
		for _, how := range []string{
			`{"rollout": [{"name": "q", "reward": "judge", "params": ` + params + `}]}`,
			`{"step": [{"name": "q", "reward": "composite", "params": {"components": [{"name": "judge", "params": ` + params + `}]}}]}`,
		} {
			status, body := post(t, url+"/v1/rollouts", `{"env": "calculator", "tasks": [{"prompt": "2+2"}], "model": {"base_url": "fake"}, "reward": `+how+`}`)
			if status != http.StatusForbidden || !strings.Contains(body, "params."+name) || !strings.Contains(body, "only by the operator") {
				t.Errorf("%s in %s: status %d, body %s; want 403 naming it", name, how, status, body)
			}
		}
	}
	if _, err := os.Stat(cache); err == nil {
		t.Error("a client's judge params made a directory")
	}
	check()
}

// A client may ask for a judge with the params a client may set; it talks
// to the operator's judge server.
func TestClientUsesOperatorsJudge(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		return openaitest.Reply{Content: `{"scores": [9, 9]}`}
	}})
	defer srv.Close()
	t.Setenv(judge.EnvBaseURL, srv.URL)
	t.Setenv(judge.EnvModel, openaitest.DefaultModel)
	url := builtinServer(t, nil)
	status, body := post(t, url+"/v1/rollouts", `{"env": "calculator", "tasks": [{"prompt": "2+2"}], "n": 2, "model": {"base_url": "fake"},
		"reward": {"rollout": [{"name": "q", "reward": "judge", "params": {"criteria": "The answer is right.", "group": true, "retries": 1}}]}}`)
	if status != http.StatusOK || strings.Count(body, `"rollout":{"q":0.9}`) != 2 || strings.Contains(body, `"errors"`) {
		t.Errorf("status %d, body %.3000s", status, body)
	}
	if srv.Requests() != 1 {
		t.Errorf("the operator's judge got %d requests, want 1 (one group of 2)", srv.Requests())
	}
}
