package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/tool/calculator"
)

// The baseline is what a careful programmer writes without a framework:
// plain net/http and encoding/json, the same requests (the same JSON bodies
// as retrain's client sends), the same parsing of replies (log-probabilities
// and token ids included) and of the <tool> and <answer> tags, the same
// calculator, retries of failed requests, and one JSON line per episode with
// the conversation and the tokens. Token ids decode into []int32, the element
// type retrain stores them in, so that both hold the same memory for them.

// baseMaxTurns and baseAttempts bound an episode's turns and a request's
// attempts (retrain's client makes at most 1+4 attempts).
const (
	baseMaxTurns = 10
	baseAttempts = 5
)

type baseMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type baseRequest struct {
	Model                  string        `json:"model"`
	Messages               []baseMessage `json:"messages"`
	Logprobs               bool          `json:"logprobs"`
	ReturnTokenIDs         bool          `json:"return_token_ids"`
	ReturnTokensAsTokenIDs bool          `json:"return_tokens_as_token_ids"`
}

type baseResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		Logprobs struct {
			Content []struct {
				Token   string  `json:"token"`
				Logprob float64 `json:"logprob"`
			} `json:"content"`
		} `json:"logprobs"`
		FinishReason string  `json:"finish_reason"`
		TokenIDs     []int32 `json:"token_ids"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	PromptTokenIDs []int32 `json:"prompt_token_ids"`
}

type baseTurn struct {
	Text           string    `json:"text"`
	PromptTokenIDs []int32   `json:"prompt_token_ids"`
	TokenIDs       []int32   `json:"token_ids"`
	Logprobs       []float64 `json:"logprobs"`
	FinishReason   string    `json:"finish_reason"`
}

type baseEpisode struct {
	ID               string        `json:"id"`
	Task             retrain.Task  `json:"task"`
	Messages         []baseMessage `json:"messages"`
	Turns            []baseTurn    `json:"turns"`
	Answer           string        `json:"answer"`
	PromptTokens     int           `json:"prompt_tokens"`
	CompletionTokens int           `json:"completion_tokens"`
	Error            string        `json:"error,omitempty"`
}

// RunBaseline runs the workload with the plain client.
func RunBaseline(ctx context.Context, w *Workload) (WorkerResult, error) {
	res := WorkerResult{Variant: Baseline}
	if err := w.validate(); err != nil {
		return res, err
	}
	system, err := SystemPrompt()
	if err != nil {
		return res, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = w.Concurrency
	b := &baseline{
		url:    strings.TrimRight(w.URL, "/") + "/chat/completions",
		http:   &http.Client{Transport: tr, Timeout: 10 * time.Minute},
		system: system,
	}
	defer tr.CloseIdleConnections()
	f, err := os.Create(w.Out)
	if err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)

	tasks := Tasks(w.Episodes)
	start := time.Now()
	var next, failed, lines atomic.Int64
	var mu sync.Mutex // guards enc
	var writeErr error
	var wg sync.WaitGroup
	for range min(w.Concurrency, len(tasks)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(tasks) {
					return
				}
				ep := b.episode(ctx, tasks[i])
				if ep.Error != "" {
					failed.Add(1)
				}
				mu.Lock()
				if writeErr == nil {
					if writeErr = enc.Encode(ep); writeErr == nil {
						lines.Add(1)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.WallSeconds = time.Since(start).Seconds()
	res.Lines, res.Failed = int(lines.Load()), int(failed.Load())
	res.Episodes = res.Lines
	if err := errors.Join(ctx.Err(), writeErr, f.Close()); err != nil {
		return res, fmt.Errorf("bench: baseline run: %w", err)
	}
	return res, nil
}

// SystemPrompt returns the system prompt of the "calculator" environment,
// which both clients send.
func SystemPrompt() (string, error) {
	f, err := env.New("calculator", nil)
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	e, err := f.NewEnv()
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	defer e.Close()
	obs, _, err := e.Reset(context.Background(), retrain.ResetOptions{Task: retrain.Task{Prompt: "?"}})
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	if len(obs.Messages) == 0 || obs.Messages[0].Role != retrain.RoleSystem {
		return "", errors.New("bench: the calculator environment has no system prompt")
	}
	return obs.Messages[0].Content, nil
}

type baseline struct {
	url    string
	http   *http.Client
	system string
}

// episode plays one task: ask, run the <tool> call with the calculator and
// send its <result>, until the model gives an <answer>.
func (b *baseline) episode(ctx context.Context, task retrain.Task) baseEpisode {
	ep := baseEpisode{ID: task.ID + "#0", Task: task, Messages: []baseMessage{
		{Role: "system", Content: b.system},
		{Role: "user", Content: task.Prompt},
	}}
	for range baseMaxTurns {
		r, err := b.complete(ctx, ep.Messages)
		if err != nil {
			ep.Error = err.Error()
			return ep
		}
		ch := r.Choices[0]
		text := ch.Message.Content
		t := baseTurn{Text: text, PromptTokenIDs: r.PromptTokenIDs, TokenIDs: ch.TokenIDs, FinishReason: ch.FinishReason}
		t.Logprobs = make([]float64, len(ch.Logprobs.Content))
		for i, lp := range ch.Logprobs.Content {
			t.Logprobs[i] = lp.Logprob
		}
		ep.Turns = append(ep.Turns, t)
		ep.PromptTokens += r.Usage.PromptTokens
		ep.CompletionTokens += r.Usage.CompletionTokens
		ep.Messages = append(ep.Messages, baseMessage{Role: "assistant", Content: text})

		if call, ok := between(text, "<tool>", "</tool>"); ok {
			var c struct {
				Name string `json:"name"`
				Args struct {
					Expression string `json:"expression"`
				} `json:"args"`
			}
			result := ""
			if err := json.Unmarshal([]byte(call), &c); err != nil {
				result = "Error: " + err.Error()
			} else if v, err := calculator.Eval(c.Args.Expression); err != nil {
				result = "Error: " + err.Error()
			} else {
				result = v
			}
			ep.Messages = append(ep.Messages, baseMessage{Role: "user", Content: "<result>" + result + "</result>"})
			continue
		}
		if answer, ok := between(text, "<answer>", "</answer>"); ok {
			ep.Answer = strings.TrimSpace(answer)
			return ep
		}
		ep.Messages = append(ep.Messages, baseMessage{Role: "user", Content: "Reply with a <tool> call or an <answer>."})
	}
	return ep
}

// between returns the text between the first open tag and the next close tag.
func between(s, open, close string) (string, bool) {
	_, rest, ok := strings.Cut(s, open)
	if !ok {
		return "", false
	}
	inner, _, ok := strings.Cut(rest, close)
	return inner, ok
}

// complete sends one chat completion request, retrying failures with
// exponential backoff and jitter.
func (b *baseline) complete(ctx context.Context, msgs []baseMessage) (*baseResponse, error) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(baseRequest{Model: Model, Messages: msgs, Logprobs: true, ReturnTokenIDs: true, ReturnTokensAsTokenIDs: true}); err != nil {
		return nil, err
	}
	data := bytes.TrimSuffix(body.Bytes(), []byte("\n")) // as retrain's client sends it
	var err error
	for attempt := range baseAttempts {
		if attempt > 0 {
			select {
			case <-time.After(rand.N(100 * time.Millisecond << attempt)):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var r *baseResponse
		if r, err = b.post(ctx, data); err == nil {
			return r, nil
		}
	}
	return nil, err
}

func (b *baseline) post(ctx context.Context, body []byte) (*baseResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %.200s", resp.StatusCode, data)
	}
	var r baseResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	if len(r.Choices) == 0 {
		return nil, errors.New("no choices in the response")
	}
	return &r, nil
}
