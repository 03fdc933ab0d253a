package tool_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/retrain-rl/retrain/tool"
)

type weatherIn struct {
	City  string `json:"city" jsonschema:"the city name, e.g. Paris"`
	Days  int    `json:"days,omitempty" jsonschema:"how many days to forecast"`
	Units string `json:"units,omitempty"`
}

type weatherOut struct {
	City  string  `json:"city"`
	TempC float64 `json:"temp_c"`
}

func TestFuncSchema(t *testing.T) {
	weather := tool.MustFunc("weather", "Current weather in a city.",
		func(context.Context, weatherIn) (weatherOut, error) { return weatherOut{}, nil }, nil)
	spec := weather.Spec()
	if spec.Name != "weather" || spec.Description != "Current weather in a city." {
		t.Errorf("spec = %+v", spec)
	}
	var got map[string]any
	if err := json.Unmarshal(spec.Parameters, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"required":             []any{"city"},
		"properties": map[string]any{
			"city":  map[string]any{"type": "string", "description": "the city name, e.g. Paris"},
			"days":  map[string]any{"type": "integer", "description": "how many days to forecast"},
			"units": map[string]any{"type": "string"},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("schema mismatch (-want +got):\n%s", d)
	}
	// Spec returns a copy: changing it does not change the tool.
	spec.Parameters[0] = 'X'
	if weather.Spec().Parameters[0] != '{' {
		t.Error("Spec shares its Parameters with the caller")
	}
}

func TestFuncCall(t *testing.T) {
	ctx := context.Background()
	weather := tool.MustFunc("weather", "Current weather.",
		func(_ context.Context, in weatherIn) (weatherOut, error) {
			if in.City == "Atlantis" {
				return weatherOut{}, errors.New("no such city")
			}
			if in.City == "Nowhere" {
				return weatherOut{}, tool.Errorf("no weather station in %s; try a nearby city", in.City)
			}
			return weatherOut{City: in.City, TempC: 21.5}, nil
		}, nil)

	res, err := weather.Call(ctx, json.RawMessage(`{"city": "Paris"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != `{"city":"Paris","temp_c":21.5}` || string(res.Structured) != res.Output {
		t.Errorf("Call = %+v; want JSON output and structured output", res)
	}

	tests := []struct {
		args, wantErr string
	}{
		{`{"city": "Atlantis"}`, `tool "weather": no such city`},
		{`{"city": "Nowhere"}`, `tool "weather": no weather station in Nowhere; try a nearby city`},
		{`{"days": "3", "town": "Paris"}`, `tool "weather": invalid arguments: at /city: missing required property; at /days: expected integer, got string; at /town: unknown property (allowed: city, days, units)`},
		{``, `tool "weather": invalid arguments: at /city: missing required property`},
		{`null`, `tool "weather": invalid arguments: at /city: missing required property`},
	}
	for _, tt := range tests {
		_, err := weather.Call(ctx, json.RawMessage(tt.args))
		var te *tool.Error
		if !errors.As(err, &te) {
			t.Errorf("Call(%s) error = %v (%T), want *tool.Error", tt.args, err, err)
			continue
		}
		if err.Error() != tt.wantErr {
			t.Errorf("Call(%s) error:\n got %s\nwant %s", tt.args, err, tt.wantErr)
		}
	}
}

func TestFuncStringOutput(t *testing.T) {
	greet := tool.MustFunc("greet", "Greets.", func(_ context.Context, in struct {
		Name string `json:"name"`
	}) (string, error) {
		return "hello, " + in.Name, nil
	}, nil)
	res, err := greet.Call(context.Background(), json.RawMessage(`{"name": "Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != "hello, Ada" || res.Structured != nil {
		t.Errorf("Call = %+v; want the plain string and no structured output", res)
	}
}

func TestFuncMapInput(t *testing.T) {
	keys := tool.MustFunc("keys", "Counts keys.", func(_ context.Context, in map[string]any) (int, error) {
		return len(in), nil
	}, nil)
	res, err := keys.Call(context.Background(), json.RawMessage(`{"a": 1, "b": 2}`))
	if err != nil || res.Output != "2" {
		t.Errorf("Call = %+v, %v; want 2", res, err)
	}
}

func TestFuncErrors(t *testing.T) {
	ok := func(context.Context, weatherIn) (string, error) { return "", nil }
	if _, err := tool.Func("bad name", "", ok, nil); err == nil || !strings.Contains(err.Error(), "use only letters") {
		t.Errorf("Func with a bad name: %v", err)
	}
	if _, err := tool.Func[weatherIn, string]("x", "", nil, nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("Func with a nil function: %v", err)
	}
	if _, err := tool.Func("x", "", func(context.Context, int) (string, error) { return "", nil }, nil); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("Func with an int input: %v", err)
	}
	if _, err := tool.Func("x", "", func(context.Context, struct{ C chan int }) (string, error) { return "", nil }, nil); err == nil {
		t.Error("Func with a channel field succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("MustFunc with a bad name did not panic")
		}
	}()
	tool.MustFunc("", "", ok, nil)
}

func TestFuncSchemaOption(t *testing.T) {
	lookup := tool.MustFunc("lookup", "Looks up.", func(_ context.Context, in map[string]any) (string, error) {
		return "ok", nil
	}, &tool.FuncOptions{Schema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}`)})
	if !strings.Contains(string(lookup.Spec().Parameters), `"required":["id"]`) {
		t.Errorf("Spec().Parameters = %s; want the given schema", lookup.Spec().Parameters)
	}
	if _, err := lookup.Call(context.Background(), json.RawMessage(`{}`)); err == nil || !strings.Contains(err.Error(), "at /id: missing required property") {
		t.Errorf("Call({}) = %v; want validation against the given schema", err)
	}
}

func TestFuncTimeout(t *testing.T) {
	slow := tool.MustFunc("slow", "Waits.", func(ctx context.Context, _ struct{}) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}, &tool.FuncOptions{Timeout: 10 * time.Millisecond})
	_, err := slow.Call(context.Background(), nil)
	var te *tool.Error
	if !errors.As(err, &te) || err.Error() != `tool "slow": timed out after 10ms` {
		t.Errorf("Call = %v (%T); want a *tool.Error saying it timed out", err, err)
	}
}

func TestFuncCancelledIsGoError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	wait := tool.MustFunc("wait", "Waits.", func(ctx context.Context, _ struct{}) (string, error) {
		cancel()
		<-ctx.Done()
		return "", ctx.Err()
	}, nil)
	_, err := wait.Call(ctx, nil)
	var te *tool.Error
	if !errors.Is(err, context.Canceled) || errors.As(err, &te) {
		t.Errorf("Call = %v (%T); want a Go error wrapping context.Canceled, not a *tool.Error", err, err)
	}
}

func TestFuncPanic(t *testing.T) {
	boom := tool.MustFunc("boom", "Panics.", func(context.Context, struct{}) (string, error) {
		panic("kaboom")
	}, nil)
	_, err := boom.Call(context.Background(), nil)
	var te *tool.Error
	if !errors.As(err, &te) || !strings.Contains(te.Message, "panic: kaboom") || te.Tool != "boom" {
		t.Fatalf("Call = %v (%T); want a *tool.Error about the panic", err, err)
	}
	if !strings.Contains(te.Err.Error(), "func_test.go") {
		t.Errorf("the cause %q lacks the stack trace", te.Err)
	}
}
