package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"testing"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// benchConcurrency is the number of concurrent requests in the benchmarks.
const benchConcurrency = 512

func benchServer(b *testing.B) *openaitest.Server {
	return newServer(b, &openaitest.Options{LogprobTokens: 200})
}

func setParallelism(b *testing.B) {
	b.SetParallelism((benchConcurrency + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
}

// BenchmarkGenerate measures the client against the fake server: 200-token
// replies with log-probabilities and token ids, 512 requests at a time.
// Compare with BenchmarkBaseline.
func BenchmarkGenerate(b *testing.B) {
	s := benchServer(b)
	c := newClient(b, s, &Options{ReturnTokenIDs: true, MaxInFlight: benchConcurrency})
	req := userRequest("What is the capital of France? Answer in one word.")
	b.ReportAllocs()
	setParallelism(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			comp, err := c.Generate(context.Background(), req)
			if err != nil {
				b.Error(err)
				return
			}
			if len(comp.Tokens.IDs) != 200 {
				b.Errorf("%d token ids, want 200", len(comp.Tokens.IDs))
				return
			}
		}
	})
}

// BenchmarkBaseline does what BenchmarkGenerate does with plain net/http
// and encoding/json, for comparison.
func BenchmarkBaseline(b *testing.B) {
	s := benchServer(b)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = benchConcurrency
	hc := &http.Client{Transport: tr}
	b.Cleanup(hc.CloseIdleConnections)
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	type request struct {
		Model                  string    `json:"model"`
		Messages               []message `json:"messages"`
		Logprobs               bool      `json:"logprobs"`
		ReturnTokenIDs         bool      `json:"return_token_ids"`
		ReturnTokensAsTokenIDs bool      `json:"return_tokens_as_token_ids"`
	}
	type response struct {
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
		PromptTokenIDs []int32 `json:"prompt_token_ids"`
	}
	b.ReportAllocs()
	setParallelism(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body, _ := json.Marshal(request{
				Model:    openaitest.DefaultModel,
				Messages: []message{{Role: "user", Content: "What is the capital of France? Answer in one word."}},
				Logprobs: true, ReturnTokenIDs: true, ReturnTokensAsTokenIDs: true,
			})
			resp, err := hc.Post(s.URL+"/chat/completions", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			var r response
			err = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if err != nil || len(r.Choices) == 0 || len(r.Choices[0].TokenIDs) != 200 {
				b.Errorf("bad response: %v", err)
				return
			}
		}
	})
}
