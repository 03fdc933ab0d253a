package env_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/config"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/reward"
)

type stubEnv struct{ retrain.Environment }

func constructor(got *json.RawMessage) env.Constructor {
	return func(config json.RawMessage) (env.Factory, error) {
		*got = config
		return env.FactoryFunc(func() (retrain.Environment, error) { return stubEnv{}, nil }), nil
	}
}

func TestRegistry(t *testing.T) {
	r := env.NewRegistry()
	var got json.RawMessage
	if err := r.Register("tool", "tools", constructor(&got)); err != nil {
		t.Fatal(err)
	}
	if err := r.Register("calculator", "calc", constructor(&got)); err != nil {
		t.Fatal(err)
	}
	r.MustRegister("single_turn", "one turn", constructor(&got))

	if diff := cmp.Diff([]string{"calculator", "single_turn", "tool"}, r.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	want := []env.Info{{Name: "calculator", Description: "calc"}, {Name: "single_turn", Description: "one turn"}, {Name: "tool", Description: "tools"}}
	if diff := cmp.Diff(want, r.Describe()); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}

	f, err := r.New("tool", json.RawMessage(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"a":1}` {
		t.Errorf("constructor got config %s", got)
	}
	e, err := f.NewEnv()
	if err != nil || e == nil {
		t.Errorf("NewEnv = %v, %v", e, err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("FactoryFunc Close: %v", err)
	}

	_, err = r.New("foo", nil)
	if !errors.Is(err, env.ErrUnknown) {
		t.Errorf("New(foo) err = %v, want ErrUnknown", err)
	}
	if want := `unknown environment "foo"; known: calculator, single_turn, tool`; err == nil || err.Error() != want {
		t.Errorf("New(foo) err = %q, want %q", err, want)
	}
}

func TestRegisterErrors(t *testing.T) {
	r := env.NewRegistry()
	var got json.RawMessage
	tests := []struct {
		name, envName string
		c             env.Constructor
		want          string
	}{
		{"empty name", "", constructor(&got), "empty environment name"},
		{"nil constructor", "x", nil, "nil constructor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.Register(tt.envName, "", tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		if err := r.Register("dup", "", constructor(&got)); err != nil {
			t.Fatal(err)
		}
		err := r.Register("dup", "", constructor(&got))
		if err == nil || !strings.Contains(err.Error(), `"dup" is already registered`) {
			t.Errorf("duplicate Register err = %v", err)
		}
		defer func() {
			if recover() == nil {
				t.Error("MustRegister of a duplicate did not panic")
			}
		}()
		r.MustRegister("dup", "", constructor(&got))
	})
	t.Run("empty registry", func(t *testing.T) {
		_, err := env.NewRegistry().New("x", nil)
		if err == nil || !strings.Contains(err.Error(), "none registered") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestNewWrapsConstructorError(t *testing.T) {
	r := env.NewRegistry()
	boom := errors.New("boom")
	r.MustRegister("bad", "", func(json.RawMessage) (env.Factory, error) { return nil, boom })
	r.MustRegister("nil", "", func(json.RawMessage) (env.Factory, error) { return nil, nil })
	if _, err := r.New("bad", nil); !errors.Is(err, boom) || !strings.Contains(err.Error(), `environment "bad"`) {
		t.Errorf("err = %v", err)
	}
	if _, err := r.New("nil", nil); err == nil {
		t.Error("a nil factory was accepted")
	}
}

func TestRegistryConcurrent(t *testing.T) {
	r := env.NewRegistry()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_ = r.Register(string(rune('a'+i)), "", func(json.RawMessage) (env.Factory, error) {
				return env.FactoryFunc(nil), nil
			})
			_ = r.Names()
			_ = r.Describe()
		})
	}
	wg.Wait()
	if n := len(r.Names()); n != 8 {
		t.Errorf("%d names registered, want 8", n)
	}
}

type specConfig struct {
	Steps   int      `json:"steps" doc:"how many steps" access:"client"`
	Command []string `json:"command" doc:"the program"`
}

func TestRegisterSpec(t *testing.T) {
	r := env.NewRegistry()
	var got specConfig
	r.MustRegisterSpec(env.NewSpec("counter", "counts", func() specConfig { return specConfig{Steps: 3} },
		func(c specConfig) (env.Factory, error) {
			got = c
			return env.FactoryFunc(func() (retrain.Environment, error) { return stubEnv{}, nil }), nil
		}))
	r.MustRegister("untyped", "no keys", constructor(new(json.RawMessage)))

	if _, err := r.New("counter", nil); err != nil || got.Steps != 3 {
		t.Fatalf("defaults: %+v, %v", got, err)
	}
	if _, err := r.New("counter", json.RawMessage(`{"command": ["x"]}`)); err != nil || got.Steps != 3 || got.Command[0] != "x" {
		t.Fatalf("decoded: %+v, %v", got, err)
	}
	_, err := r.New("counter", json.RawMessage(`{"stepz": 1}`))
	if want := `environment "counter": unknown config key "stepz"; allowed keys: steps, command`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}

	infos := r.Describe()
	want := []env.Info{
		{Name: "counter", Description: "counts", Keys: []config.Key{
			{Name: "steps", Type: "an integer", Doc: "how many steps", Default: json.RawMessage("3"), Access: config.Client},
			{Name: "command", Type: "an array of strings", Doc: "the program", Access: config.Operator},
		}},
		{Name: "untyped", Description: "no keys"},
	}
	if diff := cmp.Diff(want, infos); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name, raw string
		want      []string
	}{
		{"counter", `{"steps": 2}`, nil},
		{"counter", `{"steps": 2, "command": ["rm"]}`, []string{"command"}},
		{"untyped", `{"b": 1, "a": 2}`, []string{"a", "b"}},
		{"untyped", ``, nil},
	} {
		keys, err := r.OperatorKeys(tt.name, json.RawMessage(tt.raw))
		if err != nil || !cmp.Equal(keys, tt.want, cmpopts.EquateEmpty()) {
			t.Errorf("OperatorKeys(%s, %s) = %v, %v; want %v", tt.name, tt.raw, keys, err, tt.want)
		}
	}
	if _, err := r.OperatorKeys("nope", nil); !errors.Is(err, env.ErrUnknown) {
		t.Errorf("unknown name: %v", err)
	}
	if err := r.RegisterSpec(env.NewSpec[specConfig]("nil", "no build", nil, nil)); err == nil || !strings.Contains(err.Error(), "nil constructor") {
		t.Errorf("nil build: %v", err)
	}
}

// An environment's default rewards are validated when it registers,
// described, and handed out as copies that callers may change.
func TestSpecRewards(t *testing.T) {
	r := env.NewRegistry()
	spec := env.NewSpec("scored", "scores", nil, func(struct{}) (env.Factory, error) {
		return env.FactoryFunc(func() (retrain.Environment, error) { return stubEnv{}, nil }), nil
	})
	spec.Rewards = &reward.Config{Rollout: []reward.Component{
		{Name: "correct", Reward: "math_equal", Verifiers: []string{"has_answer"}},
		{Name: "format", Weight: reward.Float(0.1)},
	}}
	r.MustRegisterSpec(spec)
	r.MustRegisterSpec(env.NewSpec("plain", "no rewards", nil, func(struct{}) (env.Factory, error) {
		return env.FactoryFunc(func() (retrain.Environment, error) { return stubEnv{}, nil }), nil
	}))

	got, err := r.Rewards("scored")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec.Rewards, got); diff != "" {
		t.Errorf("Rewards (-registered +got):\n%s", diff)
	}
	got.Rollout[0].Name = "changed"
	*got.Rollout[1].Weight = 5
	spec.Rewards.Rollout[0].Verifiers[0] = "changed too" // after registering: no effect either
	again, _ := r.Rewards("scored")
	if again.Rollout[0].Name != "correct" || *again.Rollout[1].Weight != 0.1 || again.Rollout[0].Verifiers[0] != "has_answer" {
		t.Errorf("the registry's rewards changed through a copy: %+v", again)
	}
	if none, err := r.Rewards("plain"); none != nil || err != nil {
		t.Errorf("plain: %+v, %v; want no rewards", none, err)
	}
	if _, err := r.Rewards("nope"); !errors.Is(err, env.ErrUnknown) {
		t.Errorf("unknown: %v, want ErrUnknown", err)
	}
	for _, info := range r.Describe() {
		if (info.Rewards != nil) != (info.Name == "scored") || info.Rewards != nil && info.Rewards.Rollout[0].Name != "correct" {
			t.Errorf("Describe: %s has rewards %+v", info.Name, info.Rewards)
		}
	}

	bad := env.NewSpec("bad", "bad rewards", nil, func(struct{}) (env.Factory, error) { return nil, nil })
	bad.Rewards = &reward.Config{Rollout: []reward.Component{{Name: "a", Reward: "math_equal"}, {Name: "a", Reward: "format"}}}
	if err := r.RegisterSpec(bad); err == nil || !strings.Contains(err.Error(), `name "a" already used`) {
		t.Errorf("duplicate component names: %v", err)
	}
}
