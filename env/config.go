package env

import (
	"encoding/json"

	"github.com/retrain-rl/retrain/config"
)

// DecodeConfig decodes a configuration object into the struct that into
// points at, which holds the defaults: it is [config.Decode]. Nil, empty or
// JSON null config leaves into as it is. Unknown keys are an error that
// lists the allowed ones, and a value of the wrong type is an error that
// names its key and the expected type.
func DecodeConfig(raw json.RawMessage, into any) error {
	return config.Decode(raw, into)
}

// Duration is a time.Duration in a configuration: a Go duration string
// ("30s", "1m30s") or a number of seconds. It must not be negative. It is
// [config.Duration], kept here for the code that names it env.Duration.
type Duration = config.Duration
