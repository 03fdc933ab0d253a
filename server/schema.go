package server

import (
	"encoding/json"
	"sync"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/retrain-rl/retrain"
)

// actionSchema is the JSON Schema of a step's action: a raw model output,
// parsed with the environment's dialect, or a retrain Action.
var actionSchema = json.RawMessage(`{
  "title": "RetrainAction",
  "description": "A raw model output ({\"raw\": \"...\"}), parsed with the environment's dialect, or a parsed retrain Action ({\"kind\": \"text\", \"text\": \"...\"} or {\"kind\": \"tool_call\", \"tool_calls\": [...]}).",
  "type": "object",
  "properties": {
    "raw": {"type": "string", "description": "the model's output exactly as generated"},
    "kind": {"type": "string", "enum": ["text", "tool_call"]},
    "text": {"type": "string"},
    "tool_calls": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "id": {"type": "string"},
          "name": {"type": "string"},
          "arguments": {"type": "object"}
        },
        "required": ["name"]
      }
    },
    "reasoning": {"type": "string"},
    "tokens": {"type": "object"},
    "metadata": {"type": "object"}
  },
  "anyOf": [{"required": ["raw"]}, {"required": ["kind"]}],
  "additionalProperties": false
}`)

// stateSchema is the JSON Schema of GET /state.
var stateSchema = json.RawMessage(`{
  "title": "RetrainState",
  "type": "object",
  "properties": {
    "episode_id": {"type": ["string", "null"]},
    "step_count": {"type": "integer", "minimum": 0},
    "session_id": {"type": "string"},
    "env": {"type": "string"},
    "done": {"type": "boolean"},
    "total_reward": {"type": "number"},
    "render": {"type": "string"}
  }
}`)

var observationSchema = sync.OnceValue(func() json.RawMessage {
	s, err := jsonschema.For[retrain.Observation](nil)
	if err != nil {
		return json.RawMessage(`{"type": "object"}`)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return json.RawMessage(`{"type": "object"}`)
	}
	return b
})
