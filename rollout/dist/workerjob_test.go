package dist

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/rollout"
)

// TestWorkerJobKeepsTheKeyOut checks that the model's API key never goes
// into what the coordinator publishes, while the rest of the endpoint does.
func TestWorkerJobKeepsTheKeyOut(t *testing.T) {
	job := &rollout.Job{Env: "calculator", Generate: 4,
		Model: model.Endpoint{BaseURL: "http://127.0.0.1:8000/v1", Model: "m", APIKey: "sk-secret-123"}}
	wj := WorkerJob(job)
	c := &coordinator{n: names{run: "r"}, job: wj}
	b, err := c.assignment(rollout.Episode{Task: retrain.Task{ID: "t<1>", Prompt: "2+2 & \"3\""}, Sample: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The message is the Assignment's JSON, the job encoded once a run.
	want, _ := json.Marshal(Assignment{Run: "r", Job: wj, Episode: rollout.Episode{Task: retrain.Task{ID: "t<1>", Prompt: "2+2 & \"3\""}, Sample: 2}})
	if string(b) != string(want) {
		t.Errorf("episode message:\n%s\nwant json.Marshal of its Assignment:\n%s", b, want)
	}
	again, _ := c.assignment(rollout.Episode{Sample: 3})
	if want, _ := json.Marshal(Assignment{Run: "r", Job: wj, Episode: rollout.Episode{Sample: 3}}); string(again) != string(want) {
		t.Errorf("second episode message:\n%s\nwant\n%s", again, want)
	}
	if strings.Contains(string(b), "sk-secret-123") {
		t.Fatalf("the API key is published to the workers: %s", b)
	}
	if wj.Model.BaseURL != job.Model.BaseURL || wj.Model.Model != "m" {
		t.Errorf("worker job's model %+v; want the coordinator's endpoint without its key", wj.Model)
	}
	if job.Model.APIKey != "sk-secret-123" {
		t.Error("WorkerJob changed the coordinator's own job")
	}
}
