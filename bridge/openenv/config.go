package openenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/retrain-rl/retrain/env"
)

// Name is the name the bridge is registered under.
const Name = "openenv"

func init() {
	env.MustRegister(Name,
		"an environment of an OpenEnv server, over its WebSocket or HTTP protocol (config: url, token, headers, action_field, observation_field, timeout, invalid_action_penalty, ...)",
		construct)
}

// Config is the JSON configuration of the registered environment.
type Config struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8000 (or an
	// environment of retrain serve: http://127.0.0.1:8080/envs/calculator).
	URL string `json:"url"`
	// Token is sent as "Authorization: Bearer TOKEN".
	Token string `json:"token"`
	// Headers are sent with every request.
	Headers map[string]string `json:"headers"`
	// Transport is "auto" (default: WebSocket, else HTTP), "websocket" or "http".
	Transport string `json:"transport"`
	// ActionField, when set, makes the model's text the value of this field
	// of the action object ({FIELD: TEXT}); "none" means the model writes
	// the whole action JSON object. Empty means: chosen from the action
	// schema (see Options.ActionField).
	ActionField string `json:"action_field"`
	// ObservationField names the observation's field (dotted for nested
	// ones) shown to the model; empty means the first string among text,
	// prompt, content, message, else the whole observation as JSON.
	ObservationField string `json:"observation_field"`
	// AnswerTag is the tag the model's answer is read from
	// (<answer>...</answer>); "none" reads the whole output. Default
	// "answer", except for a "raw" action field (retrain serve), which gets
	// the whole output.
	AnswerTag *string `json:"answer_tag"`
	// SystemPrompt is the system message of each episode; empty means one
	// describing the action format when the model must write JSON.
	SystemPrompt string `json:"system_prompt"`
	// Timeout bounds the wait for each reply ("60s" or seconds; default 60s).
	Timeout env.Duration `json:"timeout"`
	// ConnectTimeout bounds connecting (default 10s).
	ConnectTimeout env.Duration `json:"connect_timeout"`
	// MaxReconnects bounds the reconnections to resume a dropped session
	// (default 3; -1 for none).
	MaxReconnects int `json:"max_reconnects"`
	// InvalidActionPenalty is the reward of an invalid action (default -0.1).
	InvalidActionPenalty *float64 `json:"invalid_action_penalty"`
	// ResetParams are added to every reset's parameters (OpenEnv passes them
	// to the environment's reset as keyword arguments).
	ResetParams map[string]any `json:"reset_params"`
	// SendTask sends the task (its prompt, answer, id and metadata) as the
	// reset parameter "task" (default true).
	SendTask *bool `json:"send_task"`
}

func construct(raw json.RawMessage) (env.Factory, error) {
	var c Config
	if err := env.DecodeConfig(raw, &c); err != nil {
		return nil, err
	}
	if c.URL == "" {
		return nil, errors.New(`config key "url" is required: the OpenEnv server's base URL, e.g. {"url": "http://127.0.0.1:8000"}`)
	}
	o := &Options{
		URL:                  c.URL,
		Token:                c.Token,
		Transport:            c.Transport,
		ActionField:          c.ActionField,
		ObservationField:     c.ObservationField,
		AnswerTag:            c.AnswerTag,
		SystemPrompt:         c.SystemPrompt,
		Timeout:              time.Duration(c.Timeout),
		ConnectTimeout:       time.Duration(c.ConnectTimeout),
		MaxReconnects:        c.MaxReconnects,
		InvalidActionPenalty: c.InvalidActionPenalty,
		ResetParams:          c.ResetParams,
		SendTask:             c.SendTask,
	}
	if len(c.Headers) > 0 {
		o.Header = http.Header{}
		for k, v := range c.Headers {
			o.Header.Set(k, v)
		}
	}
	f, err := NewFactory(o)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return f, nil
}
