package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/rollout"

	// The calculator environment registers itself.
	_ "github.com/retrain-rl/retrain/env/toolenv"
)

// EnvName is the environment the data comes from.
const EnvName = "calculator"

// HeldOutSeeds are the seeds of rollout.ArithmeticTasks whose tasks never
// appear in the training data: 1 (what "retrain rollout" uses without
// --seed) and 999 (the documented evaluation).
var HeldOutSeeds = []int64{1, 999}

// heldOutTasks is how many tasks of each held-out seed are excluded.
const heldOutTasks = 2000

// Generator makes training conversations by playing real episodes of the
// calculator environment with a scripted solver, so that every byte of the
// data (the tool call, the <result> block, the answer) is what the
// environment produces and parses. It is not safe for concurrent use.
type Generator struct {
	factory env.Factory
	env     retrain.Environment
	rng     *rand.Rand
	guess   float64
	tasks   *Tasks
}

// NewGenerator returns a generator of episodes: tasks come from
// rollout.ArithmeticTasks with seeds derived from seed (skipping the tasks
// of HeldOutSeeds), and in a share guessRate of the episodes the solver
// answers without the calculator, with a rough estimate (usually wrong).
// Close it when done.
func NewGenerator(ctx context.Context, seed int64, guessRate float64) (*Generator, error) {
	f, err := env.New(EnvName, nil)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	e, err := f.NewEnv()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := e.Setup(ctx); err != nil {
		e.Close()
		f.Close()
		return nil, fmt.Errorf("train: set up the calculator environment: %w", err)
	}
	g := &Generator{
		factory: f, env: e, guess: guessRate, tasks: NewTasks(seed),
		rng: rand.New(rand.NewPCG(uint64(seed), 0x7472616e)),
	}
	return g, nil
}

// Close releases the environment.
func (g *Generator) Close() error {
	g.env.Close()
	return g.factory.Close()
}

// Tasks is the stream of training tasks: rollout.ArithmeticTasks with
// seeds far from the small ones people evaluate with (1,000,003 +
// seed·1,000,000 on), skipping every task of HeldOutSeeds (the first 2,000
// of each). The same seed gives the same stream. It is not safe for
// concurrent use.
type Tasks struct {
	seed, next int64
	pending    []retrain.Task
	excluded   map[string]bool
}

// NewTasks returns the stream of training tasks of seed.
func NewTasks(seed int64) *Tasks {
	ts := &Tasks{seed: seed, excluded: map[string]bool{}}
	for _, s := range HeldOutSeeds {
		for _, t := range rollout.ArithmeticTasks(heldOutTasks, s) {
			ts.excluded[t.Prompt] = true
		}
	}
	return ts
}

// Next returns the next training task.
func (ts *Tasks) Next() retrain.Task {
	for {
		if len(ts.pending) == 0 {
			ts.pending = rollout.ArithmeticTasks(256, 1_000_003+ts.seed*1_000_000+ts.next)
			ts.next++
		}
		t := ts.pending[0]
		ts.pending = ts.pending[1:]
		if !ts.excluded[t.Prompt] {
			return t
		}
	}
}

// IsHeldOut reports whether the task's prompt is one of HeldOutSeeds'.
func (ts *Tasks) IsHeldOut(t retrain.Task) bool { return ts.excluded[t.Prompt] }

// Episode plays one episode and returns its conversation.
func (g *Generator) Episode(ctx context.Context) ([]retrain.Message, error) {
	t := g.tasks.Next()
	s := &solver{task: t, guess: g.rng.Float64() < g.guess}
	traj, err := rollout.Run(ctx, g.env, s, &rollout.Options{Task: t, Seed: retrain.Seed(0), EnvName: EnvName})
	if err != nil {
		return nil, fmt.Errorf("train: episode of %q: %w", t.Prompt, err)
	}
	if traj.StopReason != retrain.StopTerminated {
		return nil, fmt.Errorf("train: the scripted episode of %q ended with %q, not an answer", t.Prompt, traj.StopReason)
	}
	return traj.Messages, nil
}

// solver is the scripted player of one episode: it calls the calculator
// with the task's expression, then answers the result; or, when guess is
// set, answers at once with a rough estimate.
type solver struct {
	task  retrain.Task
	guess bool
}

func (s *solver) Generate(_ context.Context, req model.Request) (model.Completion, error) {
	last := req.Messages[len(req.Messages)-1]
	if r, ok := strings.CutPrefix(last.Content, "<result>"); ok && last.Role == retrain.RoleUser {
		r, _, _ = strings.Cut(r, "</result>")
		return model.Completion{Text: "<answer>" + r + "</answer>"}, nil
	}
	if s.guess {
		return model.Completion{Text: "<answer>" + estimate(s.task.Answer) + "</answer>"}, nil
	}
	expr, ok := s.task.Metadata["expression"].(string)
	if !ok {
		return model.Completion{}, fmt.Errorf("train: task %s has no expression", s.task.ID)
	}
	args, err := json.Marshal(expr)
	if err != nil {
		return model.Completion{}, err
	}
	// The layout of the smolagent dialect's own example.
	return model.Completion{Text: `<tool>{"name": "calculator", "args": {"expression": ` + string(args) + `}}</tool>`}, nil
}

// estimate rounds an integer answer to two significant digits, the kind of
// answer given without working it out.
func estimate(answer string) string {
	v, err := strconv.ParseFloat(answer, 64)
	if err != nil || v == 0 {
		return answer
	}
	mag := math.Pow(10, math.Floor(math.Log10(math.Abs(v)))-1)
	return strconv.FormatFloat(math.Round(v/mag)*mag, 'f', 0, 64)
}
