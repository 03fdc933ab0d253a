package chatwire

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzArgumentsRoundTrip checks that whatever arguments string the model
// wrote comes back as valid JSON and is sent back as the model wrote it
// (trimmed when it was JSON; {} when blank).
func FuzzArgumentsRoundTrip(f *testing.F) {
	for _, s := range []string{`{"a":1}`, ` {"a": 1} `, `not json`, ``, `  `, `"quoted"`, `[1,2]`, `{"a":`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = strings.ToValidUTF8(s, "")
		args := ArgumentsJSON(s)
		if !json.Valid(args) {
			t.Fatalf("ArgumentsJSON(%q) = %s, not valid JSON", s, args)
		}
		back := ArgumentsText(args)
		trimmed := strings.TrimSpace(s)
		switch {
		case trimmed == "":
			if back != "{}" {
				t.Fatalf("blank arguments sent back as %q", back)
			}
		case trimmed[0] != '"' && json.Valid([]byte(trimmed)):
			if back != trimmed {
				t.Fatalf("JSON arguments %q sent back as %q", s, back)
			}
		default:
			if back != s {
				t.Fatalf("arguments %q sent back as %q", s, back)
			}
		}
	})
}
