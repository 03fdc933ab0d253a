package env_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain/env"
)

type testConfig struct {
	Name     string       `json:"name"`
	MaxSteps int          `json:"max_steps"`
	Penalty  *float64     `json:"penalty"`
	Tools    []string     `json:"tools"`
	Timeout  env.Duration `json:"timeout"`
	Ignored  string       `json:"-"`
	internal int
}

func TestDecodeConfig(t *testing.T) {
	defaults := testConfig{Name: "default", MaxSteps: 10}
	tests := []struct {
		name    string
		raw     string
		want    testConfig
		wantErr string
	}{
		{name: "nil keeps defaults", raw: "", want: defaults},
		{name: "null keeps defaults", raw: " null ", want: defaults},
		{name: "empty object keeps defaults", raw: "{}", want: defaults},
		{
			name: "all keys",
			raw:  `{"name":"x","max_steps":3,"penalty":0,"tools":["a","b"],"timeout":"1.5s"}`,
			want: testConfig{Name: "x", MaxSteps: 3, Penalty: new(0.0), Tools: []string{"a", "b"}, Timeout: env.Duration(1500 * time.Millisecond)},
		},
		{name: "timeout in seconds", raw: `{"timeout": 2}`, want: testConfig{Name: "default", MaxSteps: 10, Timeout: env.Duration(2 * time.Second)}},
		{name: "unknown key", raw: `{"max_step": 3}`, wantErr: `unknown config key "max_step"; allowed keys: name, max_steps, penalty, tools, timeout`},
		{name: "ignored field is not a key", raw: `{"Ignored": "x"}`, wantErr: `unknown config key "Ignored"`},
		{name: "wrong type", raw: `{"max_steps": "3"}`, wantErr: `config key "max_steps": expected an integer, got a JSON string`},
		{name: "wrong element type", raw: `{"tools": [1]}`, wantErr: `config key "tools[0]": expected a string, got a JSON number`},
		{name: "array wanted", raw: `{"tools": "a"}`, wantErr: `config key "tools": expected an array of strings, got a JSON string`},
		{name: "bad duration", raw: `{"timeout": "soon"}`, wantErr: `invalid duration "soon"`},
		{name: "negative duration", raw: `{"timeout": -1}`, wantErr: `must not be negative`},
		{name: "not an object", raw: `["a"]`, wantErr: `config must be a JSON object`},
		{name: "syntax error", raw: `{"name": }`, wantErr: `config is not valid JSON`},
		{name: "truncated", raw: `{"name": "x"`, wantErr: `config is not valid JSON`},
		{name: "trailing data", raw: `{} {}`, wantErr: `extra data`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaults
			err := env.DecodeConfig(json.RawMessage(tt.raw), &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(testConfig{})); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeConfigNoKeys(t *testing.T) {
	var c struct{}
	err := env.DecodeConfig(json.RawMessage(`{"x":1}`), &c)
	if err == nil || !strings.Contains(err.Error(), "takes no configuration") {
		t.Errorf("err = %v", err)
	}
}

func TestDecodeConfigNeedsPointer(t *testing.T) {
	if err := env.DecodeConfig(json.RawMessage(`{}`), testConfig{}); err == nil {
		t.Error("a non-pointer was accepted")
	}
}

func TestDurationMarshal(t *testing.T) {
	b, err := json.Marshal(env.Duration(90 * time.Second))
	if err != nil || string(b) != `"1m30s"` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	var d env.Duration
	if err := json.Unmarshal(b, &d); err != nil || d != env.Duration(90*time.Second) {
		t.Errorf("round trip = %v, %v", d, err)
	}
}

// FuzzDecodeConfig checks that DecodeConfig never panics and that whatever
// it accepts holds only allowed keys.
func FuzzDecodeConfig(f *testing.F) {
	for _, s := range []string{``, `null`, `{}`, `{"name":"x"}`, `{"max_steps":1e3}`, `{"tools":[null]}`, `{"timeout":"1h"}`, `{"x":1}`, `[`, `{"name":"\u0000"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var c testConfig
		err := env.DecodeConfig(json.RawMessage(raw), &c)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &m) != nil {
			return
		}
		for k := range m {
			switch strings.ToLower(k) {
			case "name", "max_steps", "penalty", "tools", "timeout":
			default:
				t.Errorf("accepted unknown key %q in %s", k, raw)
			}
		}
	})
}
