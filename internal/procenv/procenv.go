// Package procenv builds the environment of the subprocesses that retrain
// starts for the operator (MCP servers over stdio, the Gymnasium shim): the
// few variables a program needs to run, plus what the operator's
// configuration names, and never the rest of this process's environment,
// where the server's secrets live ($OPENAI_API_KEY, $RETRAIN_SERVE_TOKEN).
//
//	cmd := exec.Command("npx", "server")
//	cmd.Env = procenv.Minimal("LOG_LEVEL=debug")
package procenv

import (
	"os"
	"strings"
)

// Passed lists the variables of this process that a subprocess inherits
// when they are set: what finds programs and libraries (PATH), where a
// program keeps its files (HOME, TMPDIR), and the locale and user.
var Passed = []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME"}

// Minimal returns the environment of a subprocess: the [Passed] variables
// set in this process, then extra ("NAME=value" entries, from the
// operator's configuration), which win over them.
func Minimal(extra ...string) []string {
	env := make([]string, 0, len(Passed)+len(extra))
	for _, name := range Passed {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return dedupe(append(env, extra...))
}

// dedupe keeps the last entry of each name, in the order of first sight.
func dedupe(env []string) []string {
	last := map[string]int{}
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		last[name] = i
	}
	out := env[:0:0]
	seen := map[string]bool{}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, env[last[name]])
	}
	return out
}
