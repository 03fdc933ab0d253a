package strictjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/retrain-rl/retrain/internal/strictjson"
)

func decodeStrict(data string) error {
	var v struct {
		Name string `json:"name"`
		Sub  struct {
			Size int `json:"size"`
		} `json:"sub"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	dec.DisallowUnknownFields()
	return dec.Decode(&v)
}

func TestUnknownField(t *testing.T) {
	tests := []struct {
		name, data string
		key        string
		ok         bool
	}{
		{"top level", `{"nmae": "x"}`, "nmae", true},
		{"nested", `{"sub": {"sise": 1}}`, "sise", true},
		{"quote in key", `{"a\"b": 1}`, `a\"b`, true},
		{"wrong type", `{"name": 1}`, "", false},
		{"syntax", `{"name": `, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodeStrict(tt.data)
			if err == nil {
				t.Fatal("decoding succeeded")
			}
			key, ok := strictjson.UnknownField(err)
			if key != tt.key || ok != tt.ok {
				t.Errorf("UnknownField(%q) = %q, %v; want %q, %v", err, key, ok, tt.key, tt.ok)
			}
		})
	}
}

func TestUnknownFieldOtherErrors(t *testing.T) {
	for _, msg := range []string{"", `unknown field "`, `unknown field`, "something else"} {
		if key, ok := strictjson.UnknownField(errors.New(msg)); ok {
			t.Errorf("UnknownField(%q) = %q, true", msg, key)
		}
	}
}

// FuzzUnknownField checks that any error text is read without a panic, and
// that a key found stands in the text.
func FuzzUnknownField(f *testing.F) {
	for _, s := range []string{`json: unknown field "x"`, `unknown field "a" and "b"`, `unknown field "`, "", `"unknown field ""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		key, ok := strictjson.UnknownField(errors.New(msg))
		if !ok {
			if key != "" {
				t.Errorf("not found, but key %q", key)
			}
			return
		}
		if !strings.Contains(msg, `unknown field "`+key+`"`) {
			t.Errorf("key %q is not quoted after unknown field in %q", key, msg)
		}
	})
}
