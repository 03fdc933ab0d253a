package config_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain/config"
)

func TestKeys(t *testing.T) {
	d := defaults()
	d.Timeout = config.Duration(30 * time.Second)
	d.Wait = time.Minute
	d.Model = &endpoint{URL: "http://h"}
	d.Dialect = "plain"
	keys := config.Keys(d)
	byName := map[string]config.Key{}
	var names []string
	for _, k := range keys {
		byName[k.Name] = k
		names = append(names, k.Name)
	}
	if got := strings.Join(names, ", "); got != allowed {
		t.Errorf("names %s, want %s", got, allowed)
	}
	tests := []struct {
		name, typ, doc, def string
		access              config.Access
	}{
		{"name", "a string", "the name", `"default"`, config.Client},
		{"max_steps", "an integer", "the step limit", "10", config.Client},
		{"penalty", "a number", "", "", config.Client},
		{"tools", "an array of strings", "", "", config.Operator},
		{"timeout", `a duration (like "30s") or a number of seconds`, "", `"30s"`, config.Operator},
		{"wait", `a duration (like "30s") or a number of seconds`, "", `"1m0s"`, config.Operator},
		{"model", "an object", "", `{"url":"http://h","max_tokens":0,"temperature":null}`, config.Client},
		{"servers", "an object of objects", "", "", config.Operator},
		{"steps", "an array of objects", "", "", config.Client},
		{"extra", "any JSON value", "", "", config.Operator},
		{"params", "an object", "", "", config.Operator},
		{"first", "true or false (a side)", "", "", config.Client},
		{"small", "an integer", "", "", config.Operator},
		{"dialect", "a string", "the answer format", `"plain"`, config.Client},
	}
	for _, tt := range tests {
		k := byName[tt.name]
		if k.Type != tt.typ || k.Doc != tt.doc || string(k.Default) != tt.def || k.Access != tt.access {
			t.Errorf("key %s = {%q %q %s %s}, want {%q %q %s %s}", tt.name, k.Type, k.Doc, k.Default, k.Access, tt.typ, tt.doc, tt.def, tt.access)
		}
	}
	// Nested keys: the defaults of a set struct, and the access of the
	// keys above.
	wantModel := []config.Key{
		{Name: "url", Type: "a string", Doc: "the server's base URL", Default: json.RawMessage(`"http://h"`), Access: config.Operator},
		{Name: "max_tokens", Type: "an integer", Access: config.Client},
		{Name: "temperature", Type: "a number", Access: config.Client},
	}
	if diff := cmp.Diff(wantModel, byName["model"].Keys); diff != "" {
		t.Errorf("model keys (-want +got):\n%s", diff)
	}
	for _, k := range byName["servers"].Keys {
		if k.Access != config.Operator || k.Default != nil {
			t.Errorf("servers.%s: %+v: under an operator key, every key is the operator's", k.Name, k)
		}
	}
	if len(byName["steps"].Keys) != 3 || byName["steps"].Keys[1].Access != config.Client {
		t.Errorf("steps keys %+v", byName["steps"].Keys)
	}
	if byName["first"].Keys != nil || byName["extra"].Keys != nil || byName["timeout"].Keys != nil {
		t.Error("a type that decodes itself has nested keys")
	}
}

func TestKeysOfTypes(t *testing.T) {
	if diff := cmp.Diff(config.Keys(testConfig{}), config.Keys((*testConfig)(nil))); diff != "" {
		t.Errorf("nil pointer differs from the zero value:\n%s", diff)
	}
	d := defaults()
	if diff := cmp.Diff(config.Keys(d), config.Keys(&d)); diff != "" {
		t.Errorf("pointer differs from value:\n%s", diff)
	}
	for _, v := range []any{nil, 3, "x", struct{}{}, config.Duration(0)} {
		if keys := config.Keys(v); len(keys) != 0 {
			t.Errorf("Keys(%#v) = %+v", v, keys)
		}
	}
	b, err := json.Marshal(config.Keys(struct {
		N int `json:"n" doc:"a count" access:"client"`
	}{N: 2}))
	if err != nil || string(b) != `[{"name":"n","type":"an integer","doc":"a count","default":2,"access":"client"}]` {
		t.Errorf("JSON = %s, %v", b, err)
	}
}

func TestTypeWords(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{struct {
			X [][]string `json:"x"`
		}{}, "an array of arrays of strings"},
		{struct {
			X map[string]string `json:"x"`
		}{}, "an object of strings"},
		{struct {
			X []bool `json:"x"`
		}{}, "an array of booleans"},
		{struct {
			X []config.Duration `json:"x"`
		}{}, "an array of durations"},
		{struct {
			X []side `json:"x"`
		}{}, "an array of values"},
		{struct {
			X []any `json:"x"`
		}{}, "an array of values"},
		{struct {
			X *bool `json:"x"`
		}{}, "true or false"},
	}
	for _, tt := range tests {
		if got := config.Keys(tt.v)[0].Type; got != tt.want {
			t.Errorf("%T: %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestOperatorKeys(t *testing.T) {
	tests := []struct {
		raw  string
		want []string
	}{
		{``, nil},
		{`null`, nil},
		{`{}`, nil},
		{`{"name": "x", "max_steps": 3, "first": false, "dialect": "plain"}`, nil},
		{`{"tools": ["a"], "name": "x"}`, []string{"tools"}},
		{`{"extra": null}`, []string{"extra"}},
		{`{"model": {"max_tokens": 3, "url": "http://evil"}}`, []string{"model.url"}},
		{`{"steps": [{"max_tokens": 1}, {"url": "x"}]}`, []string{"steps[1].url"}},
		{`{"servers": {"s": {"max_tokens": 1}}, "timeout": "1s", "wait": 1}`, []string{"servers", "timeout", "wait"}},
		{`{"unknown": 1, "model": "not an object"}`, nil},
	}
	for _, tt := range tests {
		got, err := config.OperatorKeys([]byte(tt.raw), testConfig{})
		if err != nil {
			t.Errorf("%s: %v", tt.raw, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tt.raw, diff)
		}
	}
	if _, err := config.OperatorKeys([]byte(`{"name":`), testConfig{}); err == nil {
		t.Error("invalid JSON accepted")
	}
	if got, err := config.OperatorKeys([]byte(`{"tools": []}`), &testConfig{}); err != nil || len(got) != 1 {
		t.Errorf("pointer: %v, %v", got, err)
	}
}

func ExampleKeys() {
	type Config struct {
		MaxSteps int             `json:"max_steps" doc:"the step limit" access:"client"`
		Command  []string        `json:"command" doc:"the server to run"`
		Timeout  config.Duration `json:"timeout" doc:"bounds each call"`
	}
	for _, k := range config.Keys(Config{MaxSteps: 10, Timeout: config.Duration(30 * time.Second)}) {
		fmt.Printf("%s (%s, %s): %s", k.Name, k.Type, k.Access, k.Doc)
		if k.Default != nil {
			fmt.Printf("; default %s", k.Default)
		}
		fmt.Println()
	}
	// Output:
	// max_steps (an integer, client): the step limit; default 10
	// command (an array of strings, operator): the server to run
	// timeout (a duration (like "30s") or a number of seconds, operator): bounds each call; default "30s"
}

func ExampleDecode() {
	type Config struct {
		MaxSteps int `json:"max_steps"`
		Model    struct {
			URL string `json:"url"`
		} `json:"model"`
	}
	c := Config{MaxSteps: 10}
	fmt.Println(config.Decode([]byte(`{"model": {"ulr": "http://h"}}`), &c))
	fmt.Println(config.DecodeYAML([]byte("max_steps: 3\nmodel:\n  url: 5\n"), &c))
	fmt.Println(config.Decode([]byte(`{"max_steps": 3}`), &c), c.MaxSteps)
	// Output:
	// unknown config key "model.ulr"; allowed keys: url
	// line 3: config key "model.url": expected a string, got a YAML number 5
	// <nil> 3
}

// FuzzDecode checks that decoding JSON never panics, that what it accepts
// holds only allowed keys, and that YAML decoding of the same text does not
// panic either.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{``, `null`, `{}`, `{"name":"x"}`, `{"max_steps":1e3}`, `{"tools":[null]}`, `{"timeout":"1h"}`,
		`{"x":1}`, `[`, `{"name":"\u0000"}`, `{"model":{"url":"a","temperature":1e400}}`, `{"steps":[{"x":1}]}`,
		`{"servers":{"a":null}}`, `{"small":-0}`, `{"first":true,"extra":[1,{"a":null}]}`, "model:\n  url: x\n", "- a\n", "a: &x [*x]\n"} {
		f.Add(s)
	}
	keys := map[string]bool{}
	for _, k := range strings.Split(allowed, ", ") {
		keys[k] = true
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c := defaults()
		err := config.Decode([]byte(raw), &c)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
		} else {
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(raw), &m) == nil {
				for k := range m {
					if !keys[k] {
						t.Errorf("accepted unknown key %q in %s", k, raw)
					}
				}
			}
		}
		var y testConfig
		if err := config.DecodeYAML([]byte(raw), &y); err != nil && err.Error() == "" {
			t.Error("empty YAML error message")
		}
		if _, err := config.OperatorKeys([]byte(raw), testConfig{}); err != nil && err.Error() == "" {
			t.Error("empty OperatorKeys error message")
		}
	})
}
