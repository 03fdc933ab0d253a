package endpoint

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/local/localtest"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

func request(text string) model.Request {
	return model.Request{Messages: []retrain.Message{{Role: retrain.RoleUser, Content: text}}}
}

// generate opens ep, checks the name and asks for one completion.
func generate(t *testing.T, ep model.Endpoint, opts *Options, wantName string) model.Completion {
	t.Helper()
	opened, err := Open(context.Background(), ep, opts)
	if err != nil {
		t.Fatalf("Open(%+v): %v", ep, err)
	}
	defer opened.Close()
	if opened.Name != wantName {
		t.Errorf("Name = %q, want %q", opened.Name, wantName)
	}
	comp, err := opened.Model.Generate(context.Background(), request("What is 2+3?"))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return comp
}

func TestOpenLocalBuiltIn(t *testing.T) {
	var notice bytes.Buffer
	generate(t, model.Endpoint{}, &Options{Notice: &notice}, local.DefaultName)
	if !strings.HasPrefix(notice.String(), "using the built-in local model (a ") {
		t.Errorf("notice = %q", notice.String())
	}
	generate(t, model.Endpoint{BaseURL: "local", Model: "mine"}, nil, "mine")
}

func TestOpenLocalWeightsFile(t *testing.T) {
	path, err := localtest.WriteRandomWeights(t.TempDir(), localtest.Tiny, 1)
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var notice bytes.Buffer
	opened, err := Open(context.Background(), model.Endpoint{BaseURL: "local", Model: "toy", Weights: path}, &Options{Notice: &notice})
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	lm, ok := opened.Model.(*local.Model)
	if !ok {
		t.Fatalf("Model is %T, want *local.Model", opened.Model)
	}
	want, err := local.New(&local.Options{Weights: w})
	if err != nil {
		t.Fatal(err)
	}
	if lm.Name() != "toy" || opened.Name != "toy" || lm.Params() != want.Params() || lm.Config() != want.Config() {
		t.Errorf("opened %s (%d params, %+v), want toy (%d params, %+v)", lm.Name(), lm.Params(), lm.Config(), want.Params(), want.Config())
	}
	if !strings.Contains(notice.String(), "weights from "+path) {
		t.Errorf("notice = %q", notice.String())
	}
}

func TestOpenBadWeights(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.bin")
	if err := os.WriteFile(bad, []byte("not weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want []string
	}{
		{filepath.Join(t.TempDir(), "none.bin"), []string{"none.bin", "TRAINING.md", "leave weights out"}},
		{bad, []string{"bad.bin", "not a valid weights file"}},
	} {
		_, err := Open(context.Background(), model.Endpoint{Weights: tt.path}, nil)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v is not ErrInvalid", tt.path, err)
		}
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v does not say %q", tt.path, err, w)
			}
		}
	}
}

func TestOpenFake(t *testing.T) {
	var notice bytes.Buffer
	comp := generate(t, model.Endpoint{BaseURL: "fake"}, &Options{Notice: &notice}, openaitest.DefaultModel)
	if notice.String() != "using the in-process fake OpenAI server (scripted replies, not a real model)\n" {
		t.Errorf("notice = %q", notice.String())
	}
	if !strings.HasPrefix(comp.Text, "<answer>") {
		t.Errorf("the default (arithmetic) responder did not answer: %+v", comp)
	}
	called := false
	comp = generate(t, model.Endpoint{BaseURL: "fake", TokenIDs: true}, &Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		called = true
		return openaitest.Reply{Content: "five"}
	}}, openaitest.DefaultModel)
	if !called || comp.Text != "five" || comp.Tokens == nil || len(comp.Tokens.IDs) == 0 {
		t.Errorf("custom responder: called %v, completion %+v", called, comp)
	}
}

// Opened says which policy answers and what its log-probs are: the local
// model's name and weights hash and "raw", or what the endpoint says, by
// default the served name and "raw".
func TestOpenPolicyVersionAndLogprobsMode(t *testing.T) {
	open := func(ep model.Endpoint) *Opened {
		t.Helper()
		o, err := Open(context.Background(), ep, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(o.Close)
		return o
	}
	o := open(model.Endpoint{})
	if !regexp.MustCompile(`^retrain-local@[0-9a-f]{12}$`).MatchString(o.PolicyVersion) || o.LogprobsMode != model.LogprobsRaw {
		t.Errorf("local: policy %q, logprobs %q", o.PolicyVersion, o.LogprobsMode)
	}
	path, err := localtest.WriteRandomWeights(t.TempDir(), localtest.Tiny, 1)
	if err != nil {
		t.Fatal(err)
	}
	if w := open(model.Endpoint{Weights: path}); w.PolicyVersion == o.PolicyVersion || !strings.HasPrefix(w.PolicyVersion, "retrain-local@") {
		t.Errorf("other weights: policy %q, built-in %q", w.PolicyVersion, o.PolicyVersion)
	}
	if o := open(model.Endpoint{BaseURL: "local", PolicyVersion: "step-3"}); o.PolicyVersion != "step-3" {
		t.Errorf("given local policy version: %q", o.PolicyVersion)
	}
	if o := open(model.Endpoint{BaseURL: "fake"}); o.PolicyVersion != openaitest.DefaultModel || o.LogprobsMode != model.LogprobsRaw {
		t.Errorf("fake: policy %q, logprobs %q", o.PolicyVersion, o.LogprobsMode)
	}
	if o := open(model.Endpoint{BaseURL: "fake", PolicyVersion: "v7", LogprobsMode: model.LogprobsProcessed}); o.PolicyVersion != "v7" || o.LogprobsMode != model.LogprobsProcessed {
		t.Errorf("fake, given: policy %q, logprobs %q", o.PolicyVersion, o.LogprobsMode)
	}
}

func TestOpenURL(t *testing.T) {
	var mu sync.Mutex
	var seen []*openaitest.ChatRequest
	srv := openaitest.NewServer(&openaitest.Options{Models: []string{"only"}, Responder: func(req *openaitest.ChatRequest) openaitest.Reply {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, req)
		return openaitest.Reply{Content: "5"}
	}})
	defer srv.Close()
	comp := generate(t, model.Endpoint{BaseURL: srv.URL, APIKey: "k", TokenIDs: true}, &Options{MaxInFlight: 2}, "only")
	if comp.Tokens == nil || len(comp.Tokens.IDs) == 0 {
		t.Errorf("token_ids asked for, none returned: %+v", comp)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].Model != "only" || !seen[0].ReturnTokenIDs {
		t.Errorf("the server saw %+v", seen)
	}
	mu.Unlock()
	generate(t, model.Endpoint{BaseURL: srv.URL, Model: "only"}, nil, "only")
}

func TestOpenURLServingSeveral(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Models: []string{"a", "b"}})
	defer srv.Close()
	_, err := Open(context.Background(), model.Endpoint{BaseURL: srv.URL}, &Options{ModelHint: "name one with --model-name"})
	if !errors.Is(err, ErrInvalid) || err.Error() != "the server serves 2 models (a, b): name one with --model-name" {
		t.Errorf("error = %v", err)
	}
	generate(t, model.Endpoint{BaseURL: srv.URL, Model: "b"}, nil, "b")
}

func TestOpenURLDown(t *testing.T) {
	srv := openaitest.NewServer(nil)
	url := srv.URL
	srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Open(ctx, model.Endpoint{BaseURL: url}, nil)
	if err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("error = %v, want a lookup error that is not ErrInvalid", err)
	}
}

func TestOpenInvalid(t *testing.T) {
	for _, ep := range []model.Endpoint{
		{BaseURL: "ftp://x"},
		{BaseURL: "fake", Weights: "w.bin"},
		{BaseURL: "http://"},
		{BaseURL: "http://127.0.0.1:1/v1", LogprobsMode: "softmax"},
		{BaseURL: "local", LogprobsMode: model.LogprobsProcessed},
	} {
		if _, err := Open(context.Background(), ep, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: error = %v, want ErrInvalid", ep, err)
		}
	}
}

func TestOpenEmptyIsOpenAI(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Models: []string{"env-model"}})
	defer srv.Close()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	generate(t, model.Endpoint{}, &Options{EmptyIsOpenAI: true}, "env-model")
	if _, err := Open(context.Background(), model.Endpoint{Weights: "w.bin"}, &Options{EmptyIsOpenAI: true}); !errors.Is(err, ErrInvalid) {
		t.Errorf("weights with an empty base URL meaning OpenAI: error = %v", err)
	}
}

func TestCloseTwice(t *testing.T) {
	opened, err := Open(context.Background(), model.Endpoint{BaseURL: "fake"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	opened.Close()
	opened.Close()
}

func TestOpenNoLookup(t *testing.T) {
	srv := openaitest.NewServer(nil)
	url := srv.URL
	srv.Close()
	opened, err := Open(context.Background(), model.Endpoint{BaseURL: url}, &Options{NoLookup: true})
	if err != nil {
		t.Fatalf("Open with NoLookup contacted the server: %v", err)
	}
	defer opened.Close()
	if opened.Name != "" || opened.Kind != "openai" {
		t.Errorf("Name %q, Kind %q; want no name, openai", opened.Name, opened.Kind)
	}
}

func TestOpenMaxRetries(t *testing.T) {
	srv := openaitest.NewServer(&openaitest.Options{Failures: openaitest.FailurePlan{Rates: map[openaitest.Failure]float64{openaitest.Fail503: 1}}})
	defer srv.Close()
	for _, tc := range []struct{ retries, want int }{{-1, 1}, {2, 3}} {
		before := srv.Requests()
		opened, err := Open(context.Background(), model.Endpoint{BaseURL: srv.URL, Model: openaitest.DefaultModel},
			&Options{NoLookup: true, MaxRetries: tc.retries})
		if err != nil {
			t.Fatal(err)
		}
		_, err = opened.Model.Generate(context.Background(), request("hi"))
		opened.Close()
		if err == nil {
			t.Fatal("a server that always answers 503 gave a completion")
		}
		if n := srv.Requests() - before; n != tc.want {
			t.Errorf("MaxRetries %d: %d requests, want %d", tc.retries, n, tc.want)
		}
	}
}
