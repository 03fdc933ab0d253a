package config_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/retrain-rl/retrain/config"
)

func TestDecodeYAML(t *testing.T) {
	doc := `
name: x
max_steps: 3
penalty: -0.5
tools: [a, b]
timeout: 1m
wait: 2
model:
  url: http://h
  max_tokens: 7
steps:
  - url: a
servers:
  s: {url: b}
extra: {k: [1, 2]}
params: {date: 2024-01-01, n: 3}
first: true
`
	got := defaults()
	if err := config.DecodeYAML([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	want := defaults()
	want.Name, want.MaxSteps, want.Penalty, want.Tools = "x", 3, new(-0.5), []string{"a", "b"}
	want.Timeout, want.Wait = config.Duration(time.Minute), 2*time.Second
	want.Model = &endpoint{URL: "http://h", MaxTokens: 7}
	want.Steps = []endpoint{{URL: "a"}}
	want.Servers = map[string]*endpoint{"s": {URL: "b"}}
	want.Extra = []byte(`{"k":[1,2]}`)
	want.Params = map[string]any{"date": "2024-01-01", "n": 3.0}
	want.First = true
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(testConfig{})); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

func TestDecodeYAMLEmpty(t *testing.T) {
	for _, doc := range []string{"", "# nothing\n", "null\n", "~\n"} {
		got := defaults()
		if err := config.DecodeYAML([]byte(doc), &got); err != nil || got.Name != "default" {
			t.Errorf("%q: %v, %+v", doc, err, got)
		}
	}
}

// The same mistakes in JSON and YAML give the same message, with the YAML
// key's line added.
func TestDecodeYAMLErrorsMatchJSON(t *testing.T) {
	tests := []struct {
		name, json, yaml string
		want             string
		line             int
	}{
		{"unknown key", `{"max_step": 3}`, "name: x\nmax_step: 3\n", `unknown config key "max_step"; allowed keys: ` + allowed, 2},
		{"nested unknown key", `{"model": {"urll": "x"}}`, "model:\n  url: a\n  urll: x\n", `unknown config key "model.urll"; allowed keys: url, max_tokens, temperature`, 3},
		{"unknown key in list", `{"steps": [{"url": "a"}, {"x": 1}]}`, "steps:\n  - url: a\n  - x: 1\n", `unknown config key "steps[1].x"`, 3},
		{"wrong type", `{"max_steps": "many"}`, "max_steps: many\n", `config key "max_steps": expected an integer, got a %s string`, 1},
		{"wrong element", `{"tools": ["a", 1]}`, "tools:\n  - a\n  - 1\n", `config key "tools[1]": expected a string, got a %s number`, 3},
		{"bad duration", `{"timeout": "soon"}`, "\ntimeout: soon\n", `config key "timeout": invalid duration "soon"`, 2},
		{"custom type", `{"first": 1}`, "first: 1\n", `config key "first": must be true or false`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c testConfig
			jsonErr := config.Decode([]byte(tt.json), &c)
			yamlErr := config.DecodeYAML([]byte(tt.yaml), &c)
			want := tt.want
			wantJSON, wantYAML := want, want
			if strings.Contains(want, "%s") {
				wantJSON, wantYAML = strings.Replace(want, "%s", "JSON", 1), strings.Replace(want, "%s", "YAML", 1)
			}
			if jsonErr == nil || !strings.HasPrefix(jsonErr.Error(), wantJSON) {
				t.Errorf("JSON: %v\nwant %s", jsonErr, wantJSON)
			}
			var ce *config.Error
			if !errors.As(yamlErr, &ce) || ce.Line != tt.line {
				t.Fatalf("YAML: %#v, want line %d", yamlErr, tt.line)
			}
			if got := strings.TrimPrefix(yamlErr.Error(), "line "+strconv.Itoa(tt.line)+": "); !strings.HasPrefix(got, wantYAML) {
				t.Errorf("YAML: %v\nwant %s", yamlErr, wantYAML)
			}
		})
	}
}

func TestDecodeYAMLErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
		kind            error
	}{
		{"syntax", "a: [1\n", "config is not valid YAML", config.ErrSyntax},
		{"not a mapping", "- a\n- b\n", `line 1: config must be a mapping of keys to values, like "n: 4"`, config.ErrNotObject},
		{"scalar document", "just words\n", "must be a mapping", config.ErrNotObject},
		{"complex key", "? [a]\n: 1\n", "line 1: config a key must be a plain string", config.ErrSyntax},
		{"merge key of a scalar", "model:\n  <<: 3\n", "line 2: config key \"model\": a merge key (<<) must name a mapping", config.ErrSyntax},
		{"merged unknown key", "params: &b {urll: x}\nmodel:\n  <<: *b\n", `line 1: unknown config key "model.urll"`, config.ErrUnknownKey},
		{"bad value", "max_steps: !!int x\n", "line 1", config.ErrSyntax},
		{"recursive alias", "params: &x [*x]\n", "nests deeper than 100 levels", config.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c testConfig
			err := config.DecodeYAML([]byte(tt.doc), &c)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.kind) {
				t.Errorf("err = %v, want %q (%v)", err, tt.want, tt.kind)
			}
		})
	}
}

// Aliases expand, within a bound.
func TestDecodeYAMLAliases(t *testing.T) {
	var c testConfig
	if err := config.DecodeYAML([]byte("x: &t [a, b]\ntools: *t\n"), &c); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("unknown anchor key: %v", err)
	}
	var d struct {
		Tools []string `json:"tools"`
		More  []string `json:"more"`
	}
	if err := config.DecodeYAML([]byte("tools: &t [a, b]\nmore: *t\n"), &d); err != nil || len(d.More) != 2 {
		t.Errorf("alias: %v, %+v", err, d)
	}
	// A billion laughs stops at the bound.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		p := "a" + strconv.Itoa(i-1)
		b.WriteString("a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [*" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + ", *" + p + "]\n")
	}
	var m struct {
		A map[string]any `json:"a"`
	}
	err := config.DecodeYAML([]byte(b.String()), &m)
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), "too many values") && !strings.Contains(err.Error(), "excessive aliasing") {
		t.Errorf("err = %v", err)
	}
}

// Merge keys bring in an anchored mapping's keys; the keys written out win.
func TestDecodeYAMLMergeKeys(t *testing.T) {
	var c struct {
		Base  endpoint   `json:"base"`
		Model endpoint   `json:"model"`
		List  []endpoint `json:"list"`
	}
	doc := "base: &b {url: http://h, max_tokens: 5}\nmodel:\n  max_tokens: 7\n  <<: *b\nlist:\n  - <<: [*b, {temperature: 1}]\n"
	if err := config.DecodeYAML([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	if c.Model.URL != "http://h" || c.Model.MaxTokens != 7 || c.List[0].URL != "http://h" || c.List[0].Temp == nil || *c.List[0].Temp != 1 {
		t.Errorf("decoded %+v", c)
	}
}
