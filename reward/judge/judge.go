package judge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/model/openai"
	"github.com/retrain-rl/retrain/reward"
)

func init() {
	if err := reward.RegisterParams(reward.Default, Name, func() Params { return Params{} }, build); err != nil {
		panic(err)
	}
}

// Name is the name the judge is registered under in [reward.Default].
const Name = "judge"

// Register adds the judge to reg under [Name] (it is in [reward.Default]
// already), for a private registry.
func Register(reg *reward.Registry) error {
	return reward.RegisterParams(reg, Name, func() Params { return Params{} }, build)
}

// build makes the judge of p: a [reward.GroupFunc] when p.Group is set.
func build(p Params) (reward.Func, error) {
	j, err := New(p)
	if err != nil {
		return nil, err
	}
	if j.s.Group {
		return &groupJudge{j}, nil
	}
	return j, nil
}

// Judge is a reward function that asks a model for a verdict. It is safe
// for concurrent use; Close releases its client.
type Judge struct {
	s      *settings
	cache  *cache // nil: none
	apiKey string

	mu     sync.Mutex
	opened *endpoint.Opened
	name   string // the judge model's name, once known
}

// VerdictError is the error of a judge whose reply held no verdict that
// could be read, after the retries: it carries the judge's last reply.
type VerdictError struct {
	// Attempts is how many times the judge was asked.
	Attempts int
	// Reply is the judge's last reply.
	Reply string
	// Err says why the reply could not be read.
	Err error
}

// maxReplyInError bounds the reply quoted in a VerdictError's message.
const maxReplyInError = 2000

func (e *VerdictError) Error() string {
	r := e.Reply
	if len(r) > maxReplyInError {
		r = r[:maxReplyInError] + "…"
	}
	in := "its reply"
	if e.Attempts > 1 {
		in = fmt.Sprintf("%d replies", e.Attempts)
	}
	return fmt.Sprintf("judge: no readable verdict in %s: %v; the judge's last reply: %q", in, e.Err, r)
}

func (e *VerdictError) Unwrap() error { return e.Err }

// New returns the judge p describes. It does no I/O but making the cache
// directory; the judge server is first asked when a sample is scored.
func New(p Params) (*Judge, error) {
	s, err := p.check()
	if err != nil {
		return nil, err
	}
	j := &Judge{s: s, name: s.Model}
	envKey := s.APIKeyEnv
	if envKey == "" {
		envKey = EnvAPIKey
	}
	j.apiKey = os.Getenv(envKey)
	if j.apiKey == "" && s.APIKeyEnv == "" {
		j.apiKey = os.Getenv("OPENAI_API_KEY")
	}
	if s.Cache != "" {
		if j.cache, err = openCache(s.Cache); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// Close releases the judge's client. It is safe to call more than once.
func (j *Judge) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.opened != nil {
		j.opened.Close()
		j.opened = nil
	}
	return nil
}

// client opens the judge's endpoint on first use, and returns it with the
// model's name.
func (j *Judge) client(ctx context.Context) (model.Model, string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.opened != nil {
		return j.opened.Model, j.name, nil
	}
	opts := &endpoint.Options{
		MaxInFlight:    j.s.MaxInFlight,
		RequestTimeout: time.Duration(j.s.Timeout),
		ModelHint:      "name one in the judge's params (model) or $" + EnvModel,
		NoLookup:       j.s.Model != "",
	}
	if j.s.MaxRetries != nil {
		opts.MaxRetries = *j.s.MaxRetries
	}
	opened, err := endpoint.Open(ctx, model.Endpoint{BaseURL: j.s.BaseURL, Model: j.s.Model, APIKey: j.apiKey}, opts)
	if err != nil {
		return nil, "", fmt.Errorf("judge: %w", err)
	}
	j.opened = opened
	if j.name == "" {
		j.name = opened.Name
	}
	return opened.Model, j.name, nil
}

// ask asks the judge prompt and returns its reply once read accepts it,
// asking again (with what was wrong) up to the retries. A reply read
// accepts is cached under the first request; a cached one is used without
// asking. An unreadable last reply is a *VerdictError; a judge that cannot
// be reached is another error.
func (j *Judge) ask(ctx context.Context, prompt, how, format string, read func(reply string) error) (string, error) {
	m, name, err := j.client(ctx)
	if err != nil {
		return "", err
	}
	key := cacheKey{Version: 1, Model: name, Temperature: *j.s.Temperature, MaxTokens: j.s.MaxTokens, Prompt: prompt, Read: how, Scale: j.s.scale}
	if j.cache != nil {
		if reply, ok := j.cache.get(key); ok && read(reply) == nil {
			return reply, nil
		}
	}
	msgs := []retrain.Message{{Role: retrain.RoleUser, Content: prompt}}
	for attempt := 1; ; attempt++ {
		comp, err := m.Generate(ctx, model.Request{Messages: msgs, Sampling: model.Sampling{Temperature: j.s.Temperature, MaxTokens: j.s.MaxTokens}})
		if err != nil {
			return "", fmt.Errorf("judge: %w", err)
		}
		reply := comp.Text
		rerr := read(reply)
		if rerr == nil {
			if j.cache != nil {
				if err := j.cache.put(key, reply); err != nil {
					return "", err
				}
			}
			return reply, nil
		}
		if attempt > *j.s.Retries {
			return reply, &VerdictError{Attempts: attempt, Reply: reply, Err: rerr}
		}
		msgs = append(msgs,
			retrain.Message{Role: retrain.RoleAssistant, Content: reply},
			retrain.Message{Role: retrain.RoleUser, Content: fmt.Sprintf("I could not read a verdict in your reply (%v). %s", rerr, format)})
	}
}

// Score asks the judge about s.Completion: one verdict, or with a rubric
// one per criterion, each a part of the score (in one call, or one call per
// criterion with per_criterion). A verdict is mapped to [0, 1]; the score is
// the weighted sum of the criteria read. A criterion that could not be read
// is a part with an Error; an error means no verdict could be had (the judge
// is down, or no criterion could be read).
func (j *Judge) Score(ctx context.Context, s reward.Sample) (reward.Score, error) {
	vars := taskVars(s)
	vars["response"] = s.Completion
	cs := j.s.criteria
	switch {
	case len(cs) == 1:
		v, reply, err := j.single(ctx, vars, cs[0])
		if err != nil {
			return reward.Score{}, err
		}
		return reward.Score{Value: v, Detail: detail(reply)}, nil
	case j.s.PerCriterion:
		parts := make([]reward.Part, len(cs))
		errs := make([]error, len(cs))
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Go(func() {
				parts[i] = reward.Part{Name: c.name, Weight: c.weight}
				defer recoverInto(&errs[i])
				v, _, err := j.single(ctx, vars, c)
				var ve *VerdictError
				switch {
				case errors.As(err, &ve):
					parts[i].Error = ve.Error()
				case err != nil:
					errs[i] = err
				default:
					parts[i].Value = v
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return reward.Score{}, err
		}
		return withParts(parts), nil
	}
	vars["criteria"] = rubricText(cs)
	format := rubricFormat(j.s.scale, cs)
	vars["format"] = format
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	strict := func(reply string) error {
		_, errs, err := parseRubric(reply, names, j.s.scale)
		if err != nil {
			return err
		}
		return errors.Join(errs...)
	}
	reply, err := j.ask(ctx, render(j.s.Template, vars), "rubric:"+strings.Join(names, ","), format, strict)
	var ve *VerdictError
	if errors.As(err, &ve) {
		reply = ve.Reply
	} else if err != nil {
		return reward.Score{}, err
	}
	vals, errs, perr := parseRubric(reply, names, j.s.scale)
	if perr != nil {
		return reward.Score{}, err // no criterion read: the VerdictError
	}
	parts := make([]reward.Part, len(cs))
	for i, c := range cs {
		parts[i] = reward.Part{Name: c.name, Weight: c.weight, Value: vals[i]}
		if errs[i] != nil {
			parts[i].Value = 0
			parts[i].Error = (&VerdictError{Attempts: ve.Attempts, Reply: reply, Err: errs[i]}).Error()
		}
	}
	return withParts(parts), nil
}

// single asks one verdict on criterion c.
func (j *Judge) single(ctx context.Context, vars map[string]string, c criterion) (float64, string, error) {
	v := make(map[string]string, len(vars)+2)
	for k, x := range vars {
		v[k] = x
	}
	v["criteria"] = c.description
	format := singleFormat(j.s.scale)
	v["format"] = format
	var verdict float64
	reply, err := j.ask(ctx, render(j.s.Template, v), "single", format, func(reply string) (err error) {
		verdict, err = ParseVerdict(reply, j.s.scale)
		return err
	})
	return verdict, reply, err
}

// recoverInto turns a panic of the goroutine it is deferred in into *err,
// so that a bug fails a score instead of the process.
func recoverInto(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("judge panicked: %v\n%s", p, debug.Stack())
	}
}

// withParts is the score made of parts: the weighted sum of those read.
func withParts(parts []reward.Part) reward.Score {
	sc := reward.Score{Parts: parts}
	var d []string
	for _, p := range parts {
		if p.Error == "" {
			sc.Value += p.Weight * p.Value
			d = append(d, fmt.Sprintf("%s=%.3g", p.Name, p.Value))
		} else {
			d = append(d, p.Name+"=failed")
		}
	}
	sc.Detail = strings.Join(d, ", ")
	return sc
}

// maxDetail bounds the judge's reply kept in Score.Detail.
const maxDetail = 300

// detail is the end of a reply, where the verdict usually is.
func detail(reply string) string {
	r := strings.TrimSpace(reply)
	if len(r) > maxDetail {
		r = "…" + r[len(r)-maxDetail:]
	}
	return "judge: " + r
}

// groupJudge is a Judge that scores a group's samples together.
type groupJudge struct{ *Judge }

var _ reward.GroupFunc = (*groupJudge)(nil)

// ScoreGroup asks the judge about all of samples in one call per criterion,
// scoring them relative to each other. A group whose prompt is longer than
// max_group_chars, or that the judge's context cannot hold, is scored
// sample by sample instead.
func (g *groupJudge) ScoreGroup(ctx context.Context, samples []reward.Sample) ([]reward.Score, []error) {
	n := len(samples)
	scores, errs := make([]reward.Score, n), make([]error, n)
	cs := g.s.criteria
	vals := make([][]float64, len(cs)) // per criterion, per sample
	replies := make([]string, len(cs))
	for ci, c := range cs {
		vars := taskVars(samples[0])
		vars["responses"] = responsesText(samples)
		vars["criteria"] = c.description
		format := groupFormat(g.s.scale, n)
		vars["format"] = format
		prompt := render(g.s.GroupTemplate, vars)
		if len(prompt) > g.s.MaxGroupChars {
			return g.each(ctx, samples)
		}
		var got []float64
		reply, err := g.ask(ctx, prompt, fmt.Sprintf("group:%d", n), format, func(reply string) (err error) {
			got, err = parseGroup(reply, n, g.s.scale)
			return err
		})
		if errors.Is(err, openai.ErrContextLength) {
			return g.each(ctx, samples)
		}
		if err != nil {
			for i := range errs {
				errs[i] = err
			}
			return scores, errs
		}
		vals[ci], replies[ci] = got, reply
	}
	for i := range samples {
		if len(cs) == 1 {
			scores[i] = reward.Score{Value: vals[0][i], Detail: detail(replies[0])}
			continue
		}
		parts := make([]reward.Part, len(cs))
		for ci, c := range cs {
			parts[ci] = reward.Part{Name: c.name, Weight: c.weight, Value: vals[ci][i]}
		}
		scores[i] = withParts(parts)
	}
	return scores, errs
}

// each scores samples one by one, concurrently.
func (g *groupJudge) each(ctx context.Context, samples []reward.Sample) ([]reward.Score, []error) {
	scores, errs := make([]reward.Score, len(samples)), make([]error, len(samples))
	var wg sync.WaitGroup
	for i, s := range samples {
		wg.Go(func() {
			defer recoverInto(&errs[i])
			scores[i], errs[i] = g.Score(ctx, s)
		})
	}
	wg.Wait()
	return scores, errs
}
