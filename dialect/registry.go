package dialect

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrUnknownDialect is returned (wrapped) by [Get] for a name that is not a
// built-in dialect.
var ErrUnknownDialect = errors.New("dialect: unknown dialect")

// builtins holds one value of every built-in dialect, by name.
var builtins = map[string]Dialect{
	SmolAgent().Name():  SmolAgent(),
	Hermes().Name():     Hermes(),
	Llama3JSON().Name(): Llama3JSON(),
	Mistral().Name():    Mistral(),
	Pythonic().Name():   Pythonic(),
	Qwen3Coder().Name(): Qwen3Coder(),
	Native().Name():     Native(),
}

// Get returns the built-in dialect called name ("smolagent", "hermes",
// "llama3_json", "mistral", "pythonic", "qwen3_coder", "native"). An unknown
// name yields an error wrapping [ErrUnknownDialect] that lists the known ones.
func Get(name string) (Dialect, error) {
	if d, ok := builtins[strings.TrimSpace(name)]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("%w %q; known dialects: %s", ErrUnknownDialect, name, strings.Join(Names(), ", "))
}

// Names returns the names of the built-in dialects, sorted.
func Names() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
