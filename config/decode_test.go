package config_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain/config"
)

type endpoint struct {
	URL       string   `json:"url" doc:"the server's base URL"`
	MaxTokens int      `json:"max_tokens" access:"client"`
	Temp      *float64 `json:"temperature" access:"client"`
}

type common struct {
	Dialect string `json:"dialect" doc:"the answer format" access:"client"`
}

type side bool

func (s *side) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*s = true
	case "false":
		*s = false
	default:
		return errors.New(`must be true or false`)
	}
	return nil
}

func (s side) DescribeType() string { return "true or false (a side)" }

type testConfig struct {
	Name     string               `json:"name" doc:"the name" access:"client"`
	MaxSteps int                  `json:"max_steps" doc:"the step limit" access:"client"`
	Penalty  *float64             `json:"penalty" access:"client"`
	Tools    []string             `json:"tools"`
	Timeout  config.Duration      `json:"timeout"`
	Wait     time.Duration        `json:"wait"`
	Model    *endpoint            `json:"model" access:"client"`
	Servers  map[string]*endpoint `json:"servers"`
	Steps    []endpoint           `json:"steps" access:"client"`
	Extra    json.RawMessage      `json:"extra"`
	Params   map[string]any       `json:"params"`
	First    side                 `json:"first" access:"client"`
	Small    uint8                `json:"small"`
	Ignored  string               `json:"-"`
	internal int
	common
}

func defaults() testConfig { return testConfig{Name: "default", MaxSteps: 10} }

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want func(*testConfig)
	}{
		{"nil keeps defaults", "", nil},
		{"null keeps defaults", " null ", nil},
		{"empty object keeps defaults", "{}", nil},
		{"scalars", `{"name":"x","max_steps":3,"penalty":0,"tools":["a","b"],"small":255}`, func(c *testConfig) {
			c.Name, c.MaxSteps, c.Penalty, c.Tools, c.Small = "x", 3, new(0.0), []string{"a", "b"}, 255
		}},
		{"duration string", `{"timeout":"1.5s","wait":"2m"}`, func(c *testConfig) {
			c.Timeout, c.Wait = config.Duration(1500*time.Millisecond), 2*time.Minute
		}},
		{"duration seconds", `{"timeout":2,"wait":0.5}`, func(c *testConfig) {
			c.Timeout, c.Wait = config.Duration(2*time.Second), 500*time.Millisecond
		}},
		{"nested", `{"model":{"url":"http://h","max_tokens":5},"steps":[{"url":"a"}],"servers":{"s":{"url":"b"}}}`, func(c *testConfig) {
			c.Model = &endpoint{URL: "http://h", MaxTokens: 5}
			c.Steps = []endpoint{{URL: "a"}}
			c.Servers = map[string]*endpoint{"s": {URL: "b"}}
		}},
		{"raw and any", `{"extra":{"b":1,"a":[true]},"params":{"n":2,"s":"x"}}`, func(c *testConfig) {
			c.Extra = json.RawMessage(`{"a":[true],"b":1}`)
			c.Params = map[string]any{"n": 2.0, "s": "x"}
		}},
		{"custom unmarshaler", `{"first":true}`, func(c *testConfig) { c.First = true }},
		{"embedded", `{"dialect":"plain"}`, func(c *testConfig) { c.Dialect = "plain" }},
		{"null pointer", `{"penalty":null}`, nil},
		{"null keeps a default", `{"name":null,"max_steps":null,"timeout":null,"wait":null,"model":{"url":null}}`, func(c *testConfig) { c.Model = &endpoint{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := defaults()
			if tt.want != nil {
				tt.want(&want)
			}
			got := defaults()
			if err := config.Decode([]byte(tt.raw), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(testConfig{})); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

const allowed = "name, max_steps, penalty, tools, timeout, wait, model, servers, steps, extra, params, first, small, dialect"

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, raw string
		want      string
		kind      error
		key       string
	}{
		{"unknown key", `{"max_step": 3}`, `unknown config key "max_step"; allowed keys: ` + allowed, config.ErrUnknownKey, "max_step"},
		{"ignored field is not a key", `{"Ignored": "x"}`, `unknown config key "Ignored"`, config.ErrUnknownKey, "Ignored"},
		{"unexported field is not a key", `{"internal": 1}`, `unknown config key "internal"`, config.ErrUnknownKey, "internal"},
		{"keys match exactly", `{"Name": "x"}`, `unknown config key "Name"`, config.ErrUnknownKey, "Name"},
		{"nested unknown key", `{"model": {"urll": "x"}}`, `unknown config key "model.urll"; allowed keys: url, max_tokens, temperature`, config.ErrUnknownKey, "model.urll"},
		{"unknown key in array", `{"steps": [{}, {"x": 1}]}`, `unknown config key "steps[1].x"; allowed keys: url, max_tokens, temperature`, config.ErrUnknownKey, "steps[1].x"},
		{"unknown key in map", `{"servers": {"s": {"x": 1}}}`, `unknown config key "servers.s.x"`, config.ErrUnknownKey, "servers.s.x"},
		{"wrong type", `{"max_steps": "3"}`, `config key "max_steps": expected an integer, got a JSON string`, config.ErrValue, "max_steps"},
		{"fraction for integer", `{"max_steps": 1.5}`, `config key "max_steps": expected an integer, got 1.5`, config.ErrValue, "max_steps"},
		{"overflow", `{"small": 256}`, `config key "small": expected an integer, got 256`, config.ErrValue, "small"},
		{"negative unsigned", `{"small": -1}`, `config key "small"`, config.ErrValue, "small"},
		{"wrong element type", `{"tools": [1]}`, `config key "tools[0]": expected a string, got a JSON number`, config.ErrValue, "tools[0]"},
		{"array wanted", `{"tools": "a"}`, `config key "tools": expected an array of strings, got a JSON string`, config.ErrValue, "tools"},
		{"object wanted", `{"model": 1}`, `config key "model": expected an object, got a JSON number`, config.ErrValue, "model"},
		{"nested wrong type", `{"model": {"max_tokens": true}}`, `config key "model.max_tokens": expected an integer, got a JSON boolean`, config.ErrValue, "model.max_tokens"},
		{"bool wanted", `{"name": null, "first": 1}`, `config key "first": must be true or false`, config.ErrValue, "first"},
		{"bad duration", `{"timeout": "soon"}`, `config key "timeout": invalid duration "soon"`, config.ErrValue, "timeout"},
		{"bad time.Duration", `{"wait": "soon"}`, `config key "wait": invalid duration "soon"`, config.ErrValue, "wait"},
		{"negative duration", `{"timeout": -1}`, `must not be negative`, config.ErrValue, "timeout"},
		{"duration of another type", `{"wait": [1]}`, `invalid duration [1]`, config.ErrValue, "wait"},
		{"not an object", `["a"]`, `config must be a JSON object like {"key": value}, got ["a"]`, config.ErrNotObject, ""},
		{"syntax error", `{"name": }`, `config is not valid JSON`, config.ErrSyntax, ""},
		{"truncated", `{"name": "x"`, `config is not valid JSON: unexpected end of input`, config.ErrSyntax, ""},
		{"trailing data", `{} {}`, `config has extra data after its JSON object`, config.ErrExtraData, ""},
		{"trailing brace", `{} }`, `extra data`, config.ErrExtraData, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaults()
			err := config.Decode([]byte(tt.raw), &got)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.kind)
			}
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Key != tt.key {
				t.Errorf("error %#v: key want %q", err, tt.key)
			}
		})
	}
}

func TestDecodeNoKeys(t *testing.T) {
	var c struct{}
	err := config.Decode([]byte(`{"x":1}`), &c)
	if err == nil || !strings.Contains(err.Error(), "takes no configuration") {
		t.Errorf("err = %v", err)
	}
}

func TestDecodeNeedsPointer(t *testing.T) {
	for _, v := range []any{testConfig{}, (*testConfig)(nil), nil} {
		if err := config.Decode([]byte(`{}`), v); err == nil {
			t.Errorf("%T was accepted", v)
		}
	}
}

// A type that decodes itself with Decode gets its errors' keys prefixed.
type wrapper struct{ inner endpoint }

func (w *wrapper) UnmarshalJSON(b []byte) error { return config.Decode(b, &w.inner) }

func TestDecodeNestedDecode(t *testing.T) {
	var c struct {
		W wrapper `json:"w"`
	}
	err := config.Decode([]byte(`{"w": {"bad": 1}}`), &c)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "w.bad" || ce.Name() != "bad" || ce.Parent() != "w" || !errors.Is(err, config.ErrUnknownKey) {
		t.Fatalf("err = %#v", err)
	}
	if want := `unknown config key "w.bad"; allowed keys: url, max_tokens, temperature`; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestDecodeValue(t *testing.T) {
	got := defaults()
	err := config.DecodeValue(map[string]any{"max_steps": 4, "model": map[string]any{"max_tokens": int64(9)}, "wait": "1s"}, &got)
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxSteps != 4 || got.Model.MaxTokens != 9 || got.Wait != time.Second || got.Name != "default" {
		t.Errorf("got %+v", got)
	}
	if err := config.DecodeValue(map[string]any{"max_steps": "x"}, &got); err == nil || err.Error() != `config key "max_steps": expected an integer, got a JSON string "x"` {
		t.Errorf("err = %v", err)
	}
	if err := config.DecodeValue(nil, &got); err != nil || got.MaxSteps != 4 {
		t.Errorf("nil: %v, %+v", err, got)
	}
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(config.Duration(90 * time.Second))
	if err != nil || string(b) != `"1m30s"` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	var d config.Duration
	if err := json.Unmarshal(b, &d); err != nil || d != config.Duration(90*time.Second) {
		t.Errorf("round trip = %v, %v", d, err)
	}
	if err := json.Unmarshal([]byte("null"), &d); err != nil || d != config.Duration(90*time.Second) {
		t.Errorf("null changed %v: %v", d, err)
	}
	if d.String() != "1m30s" {
		t.Errorf("String = %q", d.String())
	}
}

type level int

func (l *level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*l = 1
	case "high":
		*l = 2
	default:
		return errors.New(`use "low" or "high"`)
	}
	return nil
}

func TestDecodeTextAndNumber(t *testing.T) {
	type c struct {
		Level level       `json:"level"`
		Num   json.Number `json:"num"`
	}
	got := c{Level: 2}
	if err := config.Decode([]byte(`{"level": null, "num": 1.50}`), &got); err != nil || got.Level != 2 || got.Num != "1.50" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if err := config.Decode([]byte(`{"level": "low"}`), &got); err != nil || got.Level != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	for raw, want := range map[string]string{
		`{"level": "mid"}`: `config key "level": use "low" or "high"`,
		`{"level": 1}`:     `config key "level": expected a string, got a JSON number 1`,
	} {
		if err := config.Decode([]byte(raw), &got); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", raw, err, want)
		}
	}
}
