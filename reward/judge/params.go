package judge

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/config"
	"github.com/retrain-rl/retrain/reward"
)

// Environment variables that give the operator's defaults of a judge's
// endpoint, read when the params leave them out. A network client of
// `retrain serve` may not set the params they stand for, so a judge it asks
// for talks to the server the operator configured.
const (
	// EnvBaseURL is the judge server's base URL. $OPENAI_BASE_URL is not
	// used: a server's clients may not spend the operator's model server on
	// judging unless the operator said so.
	EnvBaseURL = "RETRAIN_JUDGE_BASE_URL"
	// EnvModel is the judge model's name (else the only one served).
	EnvModel = "RETRAIN_JUDGE_MODEL"
	// EnvAPIKey is the judge server's API key (else $OPENAI_API_KEY).
	EnvAPIKey = "RETRAIN_JUDGE_API_KEY"
	// EnvCache is the verdict cache's directory (else no cache).
	EnvCache = "RETRAIN_JUDGE_CACHE"
)

// Defaults and limits of [Params].
const (
	DefaultScaleMax      = 10
	DefaultMaxTokens     = 1024
	DefaultRetries       = 2
	DefaultMaxInFlight   = 16
	DefaultMaxGroupChars = 32000
	maxRetries           = 5
	maxMaxTokens         = 65536
	maxGroupCharsLimit   = 1 << 22
	maxCriteria          = 32
)

// Params are the judge reward's parameters. Those marked access:"client"
// may be sent by a network client of `retrain serve`; the others (an
// address, an environment variable's name, a path, resource limits) only
// by the operator.
type Params struct {
	BaseURL     string          `json:"base_url" doc:"base URL of the OpenAI-compatible judge server (default $RETRAIN_JUDGE_BASE_URL)"`
	Model       string          `json:"model" doc:"the judge model's name (default $RETRAIN_JUDGE_MODEL, else the only model the server lists)"`
	APIKeyEnv   string          `json:"api_key_env" doc:"environment variable holding the API key (default RETRAIN_JUDGE_API_KEY, else OPENAI_API_KEY)"`
	Cache       string          `json:"cache" doc:"directory of the verdict cache, shared by concurrent episodes and runs (default $RETRAIN_JUDGE_CACHE; empty: no cache)"`
	MaxInFlight int             `json:"max_in_flight" doc:"judge requests in flight at once (default 16)"`
	Timeout     config.Duration `json:"timeout" doc:"time limit of one request attempt, e.g. \"2m\" (default 10m)"`
	MaxRetries  *int            `json:"max_retries" doc:"retries of a failed request (server down, 5xx, 429), with backoff (default 4; -1: none)"`

	Criteria      string      `json:"criteria" access:"client" doc:"what a good response is, when there is no rubric"`
	Rubric        []Criterion `json:"rubric" access:"client" doc:"weighted criteria, each judged and listed as its own component (COMPONENT.NAME)"`
	PerCriterion  bool        `json:"per_criterion" access:"client" doc:"judge each rubric criterion in its own call (default: one call for all)"`
	Verdict       string      `json:"verdict" access:"client" doc:"what the judge answers: score (on scale, the default) or yes_no"`
	Scale         []float64   `json:"scale" access:"client" doc:"the score's scale [min, max] (default [0, 10]); scores are mapped to [0, 1]"`
	Template      string      `json:"template" access:"client" doc:"the prompt, with {{task}}, {{reference}}, {{response}}, {{criteria}}, {{format}} (default: DefaultTemplate)"`
	Group         bool        `json:"group" access:"client" doc:"judge a group's samples together in one call, relative to each other (RULER-style)"`
	GroupTemplate string      `json:"group_template" access:"client" doc:"the group prompt, with {{responses}} instead of {{response}} (default: DefaultGroupTemplate)"`
	MaxGroupChars int         `json:"max_group_chars" access:"client" doc:"a group prompt longer than this is judged sample by sample instead (default 32000)"`
	Temperature   *float64    `json:"temperature" access:"client" doc:"the judge's sampling temperature (default 0)"`
	MaxTokens     int         `json:"max_tokens" access:"client" doc:"the judge's token limit per reply (default 1024)"`
	Retries       *int        `json:"retries" access:"client" doc:"times an unreadable verdict is asked again, 0 to 5 (default 2)"`
}

// Criterion is one weighted item of a rubric.
type Criterion struct {
	Name        string   `json:"name" access:"client" doc:"the criterion's name: letters, digits, _ and -"`
	Description string   `json:"description" access:"client" doc:"what the judge checks"`
	Weight      *float64 `json:"weight" access:"client" doc:"its weight (default 1)"`
}

// DefaultTemplate is the prompt of one response.
const DefaultTemplate = `You are an impartial judge. Judge the response below against the criteria.

# Task
{{task}}

# Reference answer
{{reference}}

# Response
{{response}}

# Criteria
{{criteria}}

{{format}}`

// DefaultGroupTemplate is the prompt of a group of responses to one task.
const DefaultGroupTemplate = `You are an impartial judge. Several responses to the same task follow. Judge each against the criteria, comparing them with each other: a better response gets a higher score, equally good ones the same score.

# Task
{{task}}

# Reference answer
{{reference}}

# Responses
{{responses}}

# Criteria
{{criteria}}

{{format}}`

// DefaultCriteria are the criteria when neither criteria nor rubric is set.
const DefaultCriteria = "The response completes the task correctly, completely and clearly."

// Verdict kinds.
const (
	VerdictScore = "score"
	VerdictYesNo = "yes_no"
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var criterionNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// placeholderRE matches a template's placeholders.
var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z_]*)\s*\}\}`)

// settings are checked Params with the defaults filled in.
type settings struct {
	Params
	scale    Scale
	criteria []criterion
}

// criterion is a checked Criterion; weight is its share (the shares sum to 1).
type criterion struct {
	name, description string
	weight            float64
}

// check validates p, fills in the defaults (the environment's included) and
// returns the settings.
func (p Params) check() (*settings, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: judge: %s", reward.ErrBadParams, fmt.Sprintf(format, args...))
	}
	s := &settings{Params: p}
	if s.BaseURL == "" {
		s.BaseURL = os.Getenv(EnvBaseURL)
	}
	if s.BaseURL == "" {
		return nil, bad("no judge server: set base_url (e.g. http://127.0.0.1:8000/v1) or $%s", EnvBaseURL)
	}
	if !strings.HasPrefix(s.BaseURL, "http://") && !strings.HasPrefix(s.BaseURL, "https://") {
		return nil, bad("base_url %q is not an http(s) URL; a judge is an OpenAI-compatible server (serve a model with vLLM or retrain serve-model)", s.BaseURL)
	}
	if s.Model == "" {
		s.Model = os.Getenv(EnvModel)
	}
	if s.Cache == "" {
		s.Cache = os.Getenv(EnvCache)
	}
	switch {
	case s.MaxInFlight < 0:
		return nil, bad("max_in_flight is %d; it must not be negative", s.MaxInFlight)
	case s.MaxInFlight == 0:
		s.MaxInFlight = DefaultMaxInFlight
	}
	if s.APIKeyEnv != "" && !envNameRE.MatchString(s.APIKeyEnv) {
		return nil, bad("api_key_env %q is not an environment variable's name", s.APIKeyEnv)
	}
	if time.Duration(s.Timeout) < 0 {
		return nil, bad("timeout must not be negative")
	}

	switch s.Verdict {
	case "", VerdictScore:
		s.Verdict = VerdictScore
		s.scale = Scale{Min: 0, Max: DefaultScaleMax}
		switch len(s.Scale) {
		case 0:
		case 2:
			s.scale = Scale{Min: s.Scale[0], Max: s.Scale[1]}
			if !(s.scale.Min < s.scale.Max) || math.IsInf(s.scale.Min, 0) || math.IsInf(s.scale.Max, 0) || math.Abs(s.scale.Max) > 1e6 || math.Abs(s.scale.Min) > 1e6 {
				return nil, bad("scale %v must be [min, max] with min < max, within ±1e6", s.Scale)
			}
		default:
			return nil, bad("scale %v must be two numbers [min, max]", s.Scale)
		}
	case VerdictYesNo:
		if len(s.Scale) > 0 {
			return nil, bad("scale goes with verdict: score, not yes_no")
		}
		s.scale = Scale{Min: 0, Max: 1, YesNo: true}
	default:
		return nil, bad("unknown verdict %q; use %s or %s", s.Verdict, VerdictScore, VerdictYesNo)
	}

	if s.Criteria != "" && len(s.Rubric) > 0 {
		return nil, bad("set criteria or rubric, not both")
	}
	if len(s.Rubric) > maxCriteria {
		return nil, bad("a rubric has at most %d criteria, got %d", maxCriteria, len(s.Rubric))
	}
	if len(s.Rubric) == 0 {
		s.criteria = []criterion{{name: "criteria", description: cmp.Or(s.Criteria, DefaultCriteria), weight: 1}}
	} else {
		seen := map[string]bool{}
		total := 0.0
		for i, c := range s.Rubric {
			w := 1.0
			if c.Weight != nil {
				w = *c.Weight
			}
			switch {
			case !criterionNameRE.MatchString(c.Name):
				return nil, bad("rubric criterion %d: name %q must be 1 to 64 letters, digits, _ or -", i+1, c.Name)
			case seen[c.Name]:
				return nil, bad("rubric criterion %d: name %q is used twice", i+1, c.Name)
			case c.Description == "":
				return nil, bad("rubric criterion %q needs a description: what the judge checks", c.Name)
			case !(w > 0) || math.IsInf(w, 0):
				return nil, bad("rubric criterion %q: weight %v must be positive", c.Name, w)
			}
			seen[c.Name] = true
			total += w
			s.criteria = append(s.criteria, criterion{name: c.Name, description: c.Description, weight: w})
		}
		for i := range s.criteria {
			s.criteria[i].weight /= total
		}
	}
	if s.PerCriterion && len(s.Rubric) == 0 {
		return nil, bad("per_criterion goes with a rubric")
	}

	if s.Template == "" {
		s.Template = DefaultTemplate
	}
	if err := checkTemplate(s.Template, "template", "response"); err != nil {
		return nil, bad("%v", err)
	}
	if s.GroupTemplate == "" {
		s.GroupTemplate = DefaultGroupTemplate
	}
	if err := checkTemplate(s.GroupTemplate, "group_template", "responses"); err != nil {
		return nil, bad("%v", err)
	}
	switch {
	case s.MaxGroupChars < 0 || s.MaxGroupChars > maxGroupCharsLimit:
		return nil, bad("max_group_chars is %d; it must be from 0 to %d", s.MaxGroupChars, maxGroupCharsLimit)
	case s.MaxGroupChars == 0:
		s.MaxGroupChars = DefaultMaxGroupChars
	}
	if t := s.Temperature; t != nil && (!(*t >= 0) || *t > 2) {
		return nil, bad("temperature %v must be from 0 to 2", *t)
	}
	if s.Temperature == nil {
		zero := 0.0
		s.Temperature = &zero
	}
	switch {
	case s.MaxTokens < 0 || s.MaxTokens > maxMaxTokens:
		return nil, bad("max_tokens is %d; it must be from 1 to %d", s.MaxTokens, maxMaxTokens)
	case s.MaxTokens == 0:
		s.MaxTokens = DefaultMaxTokens
	}
	if s.Retries == nil {
		r := DefaultRetries
		s.Retries = &r
	}
	if *s.Retries < 0 || *s.Retries > maxRetries {
		return nil, bad("retries is %d; it must be from 0 to %d", *s.Retries, maxRetries)
	}
	return s, nil
}

// checkTemplate checks that template t (the param name) uses only known
// placeholders and has need.
func checkTemplate(t, name, need string) error {
	known := []string{"task", "reference", "criteria", "format", need}
	has := false
	for _, m := range placeholderRE.FindAllStringSubmatch(t, -1) {
		switch {
		case m[1] == need:
			has = true
		case !slices.Contains(known, m[1]):
			return fmt.Errorf("%s: unknown placeholder %s; known: {{%s}}", name, m[0], strings.Join(known, "}}, {{"))
		}
	}
	if !has {
		return fmt.Errorf("%s has no {{%s}}: the judge would not see what it judges", name, need)
	}
	return nil
}
