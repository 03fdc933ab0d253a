package procenv

import (
	"slices"
	"testing"
)

func TestMinimalKeepsOnlyPassedAndExtra(t *testing.T) {
	t.Setenv("PATH", "/usr/bin")
	t.Setenv("HOME", "/home/x")
	t.Setenv("OPENAI_API_KEY", "sk-secret")
	t.Setenv("RETRAIN_SERVE_TOKEN", "tok")
	env := Minimal("FOO=1", "HOME=/override")
	for _, kv := range env {
		if kv == "OPENAI_API_KEY=sk-secret" || kv == "RETRAIN_SERVE_TOKEN=tok" {
			t.Errorf("secret %q passed to a subprocess: %v", kv, env)
		}
	}
	for _, want := range []string{"PATH=/usr/bin", "FOO=1", "HOME=/override"} {
		if !slices.Contains(env, want) {
			t.Errorf("%q missing from %v", want, env)
		}
	}
	if slices.Contains(env, "HOME=/home/x") {
		t.Errorf("extra HOME did not win: %v", env)
	}
}
