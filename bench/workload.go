package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
	"github.com/retrain-rl/retrain/rollout"
)

// Variants: the two clients compared.
const (
	// Retrain is the client made of retrain's packages.
	Retrain = "retrain"
	// Baseline is the plain net/http + encoding/json client.
	Baseline = "baseline"
)

// Model is the model name both clients ask the fake server for.
const Model = openaitest.DefaultModel

// taskSeed seeds the generated arithmetic tasks; both clients play the same.
const taskSeed = 1

// Workload is one client run: Episodes calculator episodes, Concurrency at
// a time, against the OpenAI-compatible server at URL, written to Out.
type Workload struct {
	// URL is the server's base URL, ending in /v1.
	URL string
	// Episodes is the number of episodes, one per generated arithmetic task.
	Episodes int
	// Concurrency is the number of episodes in flight at once; the client's
	// connection pool and request cap are sized to it.
	Concurrency int
	// Out is the JSONL file written, one line per episode; it is replaced.
	Out string
}

func (w *Workload) validate() error {
	switch {
	case w.URL == "":
		return fmt.Errorf("bench: Workload.URL is empty: give the fake server's base URL")
	case w.Episodes < 1:
		return fmt.Errorf("bench: Workload.Episodes is %d; it must be at least 1", w.Episodes)
	case w.Concurrency < 1:
		return fmt.Errorf("bench: Workload.Concurrency is %d; it must be at least 1", w.Concurrency)
	case w.Out == "":
		return fmt.Errorf("bench: Workload.Out is empty: name the output file")
	}
	return nil
}

// WorkerResult is what one client run reports.
type WorkerResult struct {
	// Variant is Retrain or Baseline.
	Variant string `json:"variant"`
	// Episodes counts the finished episodes, Failed the failed ones among
	// them (the client gave up on the server).
	Episodes int `json:"episodes"`
	Failed   int `json:"failed"`
	// Lines is the number of lines written.
	Lines int `json:"lines"`
	// WallSeconds is the run's wall-clock time, from the first request to
	// the last line written (process start-up excluded).
	WallSeconds float64 `json:"wall_seconds"`
}

// Tasks returns the n arithmetic tasks of a workload ("What is 37 * 12 + 5?").
func Tasks(n int) []retrain.Task { return rollout.ArithmeticTasks(n, taskSeed) }

// ServerOptions returns the fake server's options for the workload: replies
// of tokens tokens (each with its log-probability and token id) from a
// scripted calculator player, latency added to each, and failRate of the
// requests failing, spread evenly over 500, 503 and 429 answers, malformed
// 200 bodies and dropped connections.
func ServerOptions(tokens int, latency time.Duration, failRate float64) *openaitest.Options {
	o := &openaitest.Options{
		Responder:     responder(tokens),
		LogprobTokens: tokens,
		Latency:       latency,
	}
	if failRate > 0 {
		each := failRate / 5
		o.Failures = openaitest.FailurePlan{
			Rates: map[openaitest.Failure]float64{
				openaitest.Fail500:       each,
				openaitest.Fail503:       each,
				openaitest.Fail429:       each,
				openaitest.FailMalformed: each,
				openaitest.FailDrop:      each,
			},
			Seed:       1,
			RetryAfter: 50 * time.Millisecond,
		}
	}
	return o
}

// thought pads a reply to about four characters a token, as the thinking a
// real model writes before it acts.
const thought = "The user wants the value of an arithmetic expression. I should not compute it in my head: " +
	"the calculator tool evaluates it exactly, so I will call it with the expression as written and then " +
	"report the number it returns as the final answer, alone inside the answer tags. "

// responder returns the scripted calculator player, its replies prefixed by
// a <think> block that brings them to about four characters a token.
func responder(tokens int) func(*openaitest.ChatRequest) openaitest.Reply {
	return func(req *openaitest.ChatRequest) openaitest.Reply {
		r := openaitest.ArithmeticResponder(req)
		pad := 4*tokens - len(r.Content) - len("<think>\n\n</think>\n")
		if pad <= 0 {
			return r
		}
		var b strings.Builder
		b.Grow(4*tokens + len(thought))
		b.WriteString("<think>\n")
		for b.Len() < pad+len("<think>\n") {
			b.WriteString(thought)
		}
		think := strings.TrimSpace(b.String()[:pad+len("<think>\n")])
		r.Content = think + "\n</think>\n" + r.Content
		return r
	}
}
