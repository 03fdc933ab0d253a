package judge

import (
	"context"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// BenchmarkParseVerdict reads a verdict at the end of a long reasoned reply.
func BenchmarkParseVerdict(b *testing.B) {
	reply := "<think>" + strings.Repeat("Weighing the steps one by one. ", 200) + "</think>\n" +
		strings.Repeat("The response is mostly right. ", 50) + "\n**Score:** 7/10"
	for b.Loop() {
		if _, err := ParseVerdict(reply, ten); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJudge scores one sample through the fake server ("asked") and
// from a warm cache ("cached"): what re-scoring an unchanged file costs.
func BenchmarkJudge(b *testing.B) {
	srv := openaitest.NewServer(&openaitest.Options{Responder: func(*openaitest.ChatRequest) openaitest.Reply {
		return openaitest.Reply{Content: "The summary is faithful.\nScore: 8"}
	}})
	defer srv.Close()
	s := sample("Summarize the article.", "", strings.Repeat("A faithful summary sentence. ", 40))
	for _, mode := range []string{"asked", "cached"} {
		b.Run(mode, func(b *testing.B) {
			p := Params{BaseURL: srv.URL, Model: openaitest.DefaultModel}
			if mode == "cached" {
				p.Cache = b.TempDir()
			}
			j, err := New(p)
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			if _, err := j.Score(context.Background(), s); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := j.Score(context.Background(), s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
