package openenv

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/retrain-rl/retrain"
)

// textFields are the observation fields tried, in order, when no
// observation field is configured.
var textFields = []string{"text", "prompt", "content", "message"}

// observe turns a reply into the observation the model sees and the
// conversation after it. a is the action of a step (nil for a reset).
func (e *Env) observe(res *Result, initial bool, a *retrain.Action) (retrain.Observation, []retrain.Message) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(res.Observation))
	dec.UseNumber()
	_ = dec.Decode(&m) // a non-object observation is rendered as its JSON

	if e.f.opts.ObservationField == "" && isRetrainObservation(m) {
		var obs retrain.Observation
		if json.Unmarshal(res.Observation, &obs) == nil {
			conv := obs.Messages
			if len(conv) == 0 {
				conv = e.extend(initial, a, obs.Content)
			}
			obs.Messages = slices.Clone(conv)
			return obs, conv
		}
	}

	text := renderObservation(res.Observation, m, e.f.opts.ObservationField)
	obs := retrain.Observation{Content: text, RequiresAction: !res.Done}
	switch {
	case initial:
		obs.Kind = retrain.ObsInitial
	case res.Done:
		obs.Kind = retrain.ObsFinalAnswerFeedback
	default:
		obs.Kind = retrain.ObsEnvironmentState
	}
	conv := chatMessages(m["messages"])
	if conv == nil {
		conv = e.extend(initial, a, text)
	}
	obs.Messages = slices.Clone(conv)
	return obs, conv
}

// extend returns the conversation with the model's action and text added,
// or a new one (system prompt and text) for a reset.
func (e *Env) extend(initial bool, a *retrain.Action, text string) []retrain.Message {
	if initial {
		var conv []retrain.Message
		sys := e.f.opts.SystemPrompt
		if sys == "" {
			sys = e.mapper.instructions()
		}
		if sys != "" {
			conv = append(conv, retrain.Message{Role: retrain.RoleSystem, Content: sys})
		}
		return append(conv, retrain.Message{Role: retrain.RoleUser, Content: text})
	}
	conv := slices.Clip(e.conv)
	if a != nil {
		conv = append(conv, retrain.Message{Role: retrain.RoleAssistant, Content: rawOf(*a)})
	}
	return append(conv, retrain.Message{Role: retrain.RoleUser, Content: text})
}

// isRetrainObservation reports whether m is a retrain observation (what
// retrain serve sends): it has a string kind and a boolean requires_action.
func isRetrainObservation(m map[string]any) bool {
	_, kind := m["kind"].(string)
	_, req := m["requires_action"].(bool)
	return kind && req
}

// renderObservation is the text shown for an observation: the configured
// field, else the first non-empty text field, else indented JSON.
func renderObservation(raw json.RawMessage, m map[string]any, field string) string {
	if field != "" {
		var v any = m
		for _, part := range strings.Split(field, ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = obj[part]
		}
		if s, ok := v.(string); ok {
			return s
		}
		if v != nil {
			return indent(v)
		}
		return indent(m) // the field is missing: show everything
	}
	for _, f := range textFields {
		if s, ok := m[f].(string); ok && strings.TrimSpace(s) != "" {
			return s
		}
	}
	if m == nil {
		var buf bytes.Buffer
		if json.Indent(&buf, raw, "", "  ") == nil {
			return buf.String()
		}
		return string(raw)
	}
	return indent(m)
}

func indent(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

// chatMessages decodes an observation's "messages" when it is a
// conversation of {role, content} messages; nil otherwise.
func chatMessages(v any) []retrain.Message {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil
	}
	out := make([]retrain.Message, 0, len(list))
	for _, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil
		}
		role, _ := obj["role"].(string)
		content, ok := obj["content"].(string)
		if role == "" || !ok {
			return nil
		}
		out = append(out, retrain.Message{Role: retrain.Role(role), Content: content})
	}
	return out
}
