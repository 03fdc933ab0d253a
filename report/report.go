package report

import (
	"cmp"
	"math"
	"slices"

	"github.com/retrain-rl/retrain"
)

// TotalName names the episode's total reward where a component name is
// expected (Options.Pass).
const TotalName = "total"

// Level says where a reward component was scored: one of the Level constants.
type Level string

// Component levels, as in Component.Level.
const (
	// LevelRollout: scored once on the whole episode.
	LevelRollout Level = "rollout"
	// LevelStep: scored on each turn; the report sums the turns.
	LevelStep Level = "step"
)

// Options configure a Builder. The zero value reports no pass statistics.
type Options struct {
	// Pass names the component whose value decides whether an episode
	// passes ([TotalName] for the total reward); empty means no pass
	// statistics.
	Pass string
	// Threshold is the value Pass must reach; nil means 1.
	Threshold *float64
}

// Report is the evaluation report of a set of trajectories.
type Report struct {
	// Episodes counts the episodes; Tasks the distinct task ids among them.
	Episodes int `json:"episodes"`
	Tasks    int `json:"tasks"`
	// Failed counts the episodes that failed (infrastructure failures);
	// Scored those with rewards.
	Failed int `json:"failed"`
	Scored int `json:"scored"`
	// Pass holds the pass statistics, when Options.Pass was set.
	Pass *Pass `json:"pass,omitempty"`
	// Total is the spread of the episodes' total rewards; nil when no
	// episode was scored.
	Total *Stats `json:"total,omitempty"`
	// Rewards has one entry per reward component seen: rollout-level ones
	// first, then step-level ones, each by name.
	Rewards []Component `json:"rewards"`
	// RewardErrors counts the reward functions that failed (Rewards.Errors).
	RewardErrors int `json:"reward_errors"`
	// MeanTurns is the mean number of turns of the episodes that did not fail.
	MeanTurns float64 `json:"mean_turns"`
	// Turns counts their turns.
	Turns int `json:"turns"`
	// ToolCalls counts their tool calls and ToolErrors the failed ones (a
	// result with success false, or a call without a result);
	// ToolErrorRate is ToolErrors/ToolCalls (0 without calls).
	ToolCalls     int     `json:"tool_calls"`
	ToolErrors    int     `json:"tool_errors"`
	ToolErrorRate float64 `json:"tool_error_rate"`
	// ParseErrors counts their turns whose output could not be parsed;
	// ParseErrorRate is ParseErrors/Turns.
	ParseErrors    int     `json:"parse_errors"`
	ParseErrorRate float64 `json:"parse_error_rate"`
	// Failures counts the failed episodes by error cause
	// ([retrain.CauseUnknown] for one without a cause).
	Failures map[retrain.ErrorCause]int `json:"failures"`
	// StopReasons counts all episodes by stop reason.
	StopReasons map[retrain.StopReason]int `json:"stop_reasons"`
	// PromptTokens and CompletionTokens sum over all episodes.
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Pass holds the pass statistics.
type Pass struct {
	// Reward is the component that decides (Options.Pass), Threshold the
	// value it must reach.
	Reward    string  `json:"reward"`
	Threshold float64 `json:"threshold"`
	// Passed counts the episodes that passed; SuccessRate is Passed/Episodes.
	Passed      int     `json:"passed"`
	SuccessRate float64 `json:"success_rate"`
	// AtK holds pass@k for k = 1 up to the smallest group.
	AtK []PassAtKValue `json:"pass_at_k"`
}

// PassAtKValue is pass@K averaged over the tasks.
type PassAtKValue struct {
	K     int     `json:"k"`
	Value float64 `json:"value"`
}

// Component is the spread of one reward component over the scored episodes
// that have it.
type Component struct {
	// Name is the component's name; Level is [LevelRollout] or [LevelStep].
	Name  string `json:"name"`
	Level Level  `json:"level"`
	Stats
}

// Stats describe a set of values: count, mean, population standard
// deviation, minimum and maximum.
type Stats struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// Builder accumulates trajectories into a Report. It keeps a few numbers per
// episode, not the trajectories. It is not safe for concurrent use.
type Builder struct {
	pass      string
	threshold float64
	order     []key
	eps       map[key]*episode
	levels    map[string]Level
}

type key struct {
	task   string
	sample int
}

// episode is what the report needs of one trajectory.
type episode struct {
	failed       bool
	cause        retrain.ErrorCause
	stop         retrain.StopReason
	scored       bool
	total        float64
	values       map[string]float64
	rewardErrors int
	turns        int
	parseErrors  int
	toolCalls    int
	toolErrors   int
	prompt       int
	completion   int
}

// NewBuilder returns an empty Builder; opts may be nil.
func NewBuilder(opts *Options) *Builder {
	b := &Builder{threshold: 1, eps: map[key]*episode{}, levels: map[string]Level{}}
	if opts != nil {
		b.pass = opts.Pass
		if opts.Threshold != nil {
			b.threshold = *opts.Threshold
		}
	}
	return b
}

// Add records t. It reads t and keeps nothing of it.
func (b *Builder) Add(t *retrain.Trajectory) {
	e := &episode{
		failed:     t.Failed(),
		cause:      t.ErrorCause,
		stop:       t.StopReason,
		turns:      len(t.Turns),
		prompt:     t.PromptTokens,
		completion: t.CompletionTokens,
	}
	if e.failed && e.cause == "" {
		e.cause = retrain.CauseUnknown
	}
	for _, turn := range t.Turns {
		if turn.Action.ParseError != "" {
			e.parseErrors++
		}
		results := turn.Observation.ToolResults
		calls := max(len(turn.Action.ToolCalls), len(results))
		e.toolCalls += calls
		ok := 0
		for _, r := range results {
			if r.Success {
				ok++
			}
		}
		e.toolErrors += calls - ok
	}
	if r := t.Rewards; r != nil && !e.failed {
		e.scored = true
		e.total = r.Total
		e.rewardErrors = len(r.Errors)
		e.values = map[string]float64{}
		for name, v := range r.Rollout {
			e.values[name] = v
			b.levels[name] = LevelRollout
		}
		// By index, reading only Components: a group's advantage hook may be
		// writing the turns' Advantage fields of this trajectory right now.
		for i := range r.Turns {
			for name, v := range r.Turns[i].Components {
				if _, ok := r.Rollout[name]; ok {
					continue
				}
				e.values[name] += v
				if b.levels[name] == "" {
					b.levels[name] = LevelStep
				}
			}
		}
	}
	k := key{t.Task.ID, t.Sample}
	if old, ok := b.eps[k]; ok {
		if e.failed && !old.failed {
			return
		}
	} else {
		b.order = append(b.order, k)
	}
	b.eps[k] = e
}

// value returns the episode's value of the named component.
func (e *episode) value(name string) (float64, bool) {
	if !e.scored {
		return 0, false
	}
	if name == TotalName {
		return e.total, true
	}
	v, ok := e.values[name]
	return v, ok
}

// Report computes the report of everything added so far.
func (b *Builder) Report() *Report {
	r := &Report{Failures: map[retrain.ErrorCause]int{}, StopReasons: map[retrain.StopReason]int{}, Rewards: []Component{}}
	groups := map[string][2]int{} // task id → {n, passed}
	var taskOrder []string
	values := map[string][]float64{}
	var totals []float64
	completed := 0
	for _, k := range b.order {
		e := b.eps[k]
		r.Episodes++
		r.StopReasons[e.stop]++
		r.PromptTokens += e.prompt
		r.CompletionTokens += e.completion
		g, seen := groups[k.task]
		if !seen {
			taskOrder = append(taskOrder, k.task)
		}
		g[0]++
		if b.pass != "" {
			if v, ok := e.value(b.pass); ok && v >= b.threshold {
				g[1]++
			}
		}
		groups[k.task] = g
		if e.failed {
			r.Failed++
			r.Failures[e.cause]++
			continue
		}
		completed++
		r.Turns += e.turns
		r.ToolCalls += e.toolCalls
		r.ToolErrors += e.toolErrors
		r.ParseErrors += e.parseErrors
		if e.scored {
			r.Scored++
			r.RewardErrors += e.rewardErrors
			totals = append(totals, e.total)
			for name, v := range e.values {
				values[name] = append(values[name], v)
			}
		}
	}
	r.Tasks = len(taskOrder)
	if completed > 0 {
		r.MeanTurns = float64(r.Turns) / float64(completed)
	}
	r.ToolErrorRate = ratio(r.ToolErrors, r.ToolCalls)
	r.ParseErrorRate = ratio(r.ParseErrors, r.Turns)
	if len(totals) > 0 {
		s := stats(totals)
		r.Total = &s
	}
	for name, vs := range values {
		r.Rewards = append(r.Rewards, Component{Name: name, Level: b.levels[name], Stats: stats(vs)})
	}
	slices.SortFunc(r.Rewards, func(a, b Component) int {
		return cmp.Or(cmp.Compare(levelRank(a.Level), levelRank(b.Level)), cmp.Compare(a.Name, b.Name))
	})
	if b.pass != "" {
		p := &Pass{Reward: b.pass, Threshold: b.threshold, AtK: []PassAtKValue{}}
		minN := 0
		for i, id := range taskOrder {
			g := groups[id]
			p.Passed += g[1]
			if i == 0 || g[0] < minN {
				minN = g[0]
			}
		}
		p.SuccessRate = ratio(p.Passed, r.Episodes)
		for k := 1; k <= minN; k++ {
			sum := 0.0
			for _, id := range taskOrder {
				g := groups[id]
				sum += PassAtK(g[0], g[1], k)
			}
			p.AtK = append(p.AtK, PassAtKValue{K: k, Value: sum / float64(len(taskOrder))})
		}
		r.Pass = p
	}
	return r
}

func levelRank(level Level) int {
	if level == LevelRollout {
		return 0
	}
	return 1
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// stats describes vs, which is not empty.
func stats(vs []float64) Stats {
	s := Stats{N: len(vs), Min: vs[0], Max: vs[0]}
	sum := 0.0
	for _, v := range vs {
		sum += v
		s.Min = min(s.Min, v)
		s.Max = max(s.Max, v)
	}
	s.Mean = sum / float64(len(vs))
	ss := 0.0
	for _, v := range vs {
		ss += (v - s.Mean) * (v - s.Mean)
	}
	s.Std = math.Sqrt(ss / float64(len(vs)))
	return s
}
