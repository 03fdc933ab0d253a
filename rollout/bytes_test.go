package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/model/serve"
)

// At a high temperature the built-in byte-level model ends completions
// inside multi-byte characters. Such a turn is marked invalid_utf8, and its
// tokens carry their exact bytes, which the ids decode to and which survive
// the trajectory file (the text there has U+FFFD). Served through
// serve-model and the OpenAI client, the same turn gets the same bytes and
// the same mark.
func TestInvalidUTF8Turn(t *testing.T) {
	m, err := local.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := env.New("calculator", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hot := 2.0
	episode := func(mod model.Model, seed int64) *retrain.Trajectory {
		t.Helper()
		e, err := f.NewEnv()
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		tr, err := Run(context.Background(), e, mod, &Options{Task: retrain.Task{ID: "t", Prompt: "What is 94 * 17 - 3?", Answer: "1595"},
			MaxTurns: 1, Sampling: model.Sampling{Temperature: &hot, MaxTokens: 48, Seed: &seed}})
		if err != nil || tr.Failed() {
			t.Fatalf("seed %d: %v %s", seed, err, tr.Error)
		}
		return tr
	}
	var tr *retrain.Trajectory
	var seed int64
	clean := 0
	for seed = range 200 {
		tr = episode(m, seed)
		if tr.Turns[0].InvalidUTF8 {
			break
		}
		if tok := tr.Turns[0].Action.Tokens; tok.Bytes == nil {
			clean++
		}
		tr = nil
	}
	if tr == nil || clean == 0 {
		t.Fatalf("200 seeds at temperature 2: a turn with invalid UTF-8: %v, turns of ASCII: %d; the test needs both", tr != nil, clean)
	}
	turn := tr.Turns[0]
	tok := turn.Action.Tokens
	ids := make([]int, len(tok.IDs))
	for i, id := range tok.IDs {
		ids[i] = int(id)
	}
	joined, ok := tok.JoinedBytes()
	if !ok || len(tok.Bytes) != len(tok.IDs) || string(joined) != local.Decode(ids) || utf8.Valid(joined) {
		t.Fatalf("seed %d: bytes %q (%d for %d ids), ids decode to %q", seed, joined, len(tok.Bytes), len(tok.IDs), local.Decode(ids))
	}
	if !bytes.HasPrefix(joined, []byte(turn.Action.Raw)) {
		t.Errorf("seed %d: raw %q is not the start of the tokens' bytes %q", seed, turn.Action.Raw, joined)
	}

	// Through the trajectory file: the text is lossy, the bytes exact.
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeTrajectory(b)
	if err != nil {
		t.Fatal(err)
	}
	bt := back.Turns[0]
	if !bt.InvalidUTF8 || !strings.ContainsRune(bt.Action.Raw, utf8.RuneError) {
		t.Errorf("from the file: invalid_utf8 %v, raw %q; want the mark and U+FFFD", bt.InvalidUTF8, bt.Action.Raw)
	}
	if diff := cmp.Diff(tok.Bytes, bt.Action.Tokens.Bytes); diff != "" {
		t.Errorf("bytes changed through the file (-written +read):\n%s", diff)
	}
	if !bytes.Contains(b, []byte(`"invalid_utf8":true`)) {
		t.Errorf("the line lacks invalid_utf8: %s", b)
	}

	// Served: the same first turn, the same bytes and mark.
	srv := httptest.NewServer(serve.NewHandler(m, &serve.Options{Name: m.Name(), ContextLength: m.Config().Context,
		BadRequest: func(err error) bool { return errors.Is(err, local.ErrContextLength) }}))
	defer srv.Close()
	client, err := openai.New(&openai.Options{BaseURL: srv.URL + "/v1", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	served := episode(client, seed).Turns[0]
	if !served.InvalidUTF8 {
		t.Errorf("served: the turn is not marked invalid_utf8")
	}
	if diff := cmp.Diff(tok.Bytes, served.Action.Tokens.Bytes); diff != "" {
		t.Errorf("served bytes differ (-in-process +served):\n%s", diff)
	}
}
