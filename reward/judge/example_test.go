package judge_test

import (
	"context"
	"fmt"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/reward"
	"github.com/retrain-rl/retrain/reward/judge"
)

// A rubric judged in one call; each criterion is a part of the score.
func Example() {
	// A judge server; in real use, vLLM or any OpenAI-compatible server.
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		return openaitest.Reply{Content: "Faithful, a bit long.\n```json\n{\"faithful\": 9, \"concise\": 5}\n```"}
	}})
	defer srv.Close()

	j, err := judge.New(judge.Params{
		BaseURL: srv.URL,
		Model:   openaitest.DefaultModel,
		Rubric: []judge.Criterion{
			{Name: "faithful", Description: "Every claim is in the source.", Weight: reward.Float(3)},
			{Name: "concise", Description: "At most three sentences."},
		},
	})
	if err != nil {
		panic(err)
	}
	defer j.Close()
	sc, err := j.Score(context.Background(), reward.Sample{
		Task:       retrain.Task{Prompt: "Summarize: ..."},
		Completion: "The article says ...",
		Step:       -1,
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("score %.3f\n", sc.Value)
	for _, p := range sc.Parts {
		fmt.Printf("%s: %.1f (weight %.2f)\n", p.Name, p.Value, p.Weight)
	}
	// Output:
	// score 0.800
	// faithful: 0.9 (weight 0.75)
	// concise: 0.5 (weight 0.25)
}
