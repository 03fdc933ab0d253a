package openenv

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/retrain-rl/retrain/env"
)

// Name is the name the bridge is registered under.
const Name = "openenv"

func init() {
	env.MustRegisterSpec(env.NewSpec(Name,
		"an environment of an OpenEnv server, over its WebSocket or HTTP protocol",
		DefaultConfig, construct))
}

// DefaultConfig returns the defaults of the "openenv" environment's
// configuration.
func DefaultConfig() Config {
	return Config{
		Transport:            TransportAuto,
		Timeout:              env.Duration(DefaultTimeout),
		ConnectTimeout:       env.Duration(DefaultConnectTimeout),
		MaxReconnects:        DefaultMaxReconnects,
		InvalidActionPenalty: new(DefaultInvalidActionPenalty),
		SendTask:             new(true),
	}
}

// Config is the JSON configuration of the registered environment.
type Config struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8000 (or an
	// environment of retrain serve: http://127.0.0.1:8080/envs/calculator).
	URL string `json:"url" doc:"the server's base URL, e.g. http://127.0.0.1:8000 (required)"`
	// Token is sent as "Authorization: Bearer TOKEN".
	Token string `json:"token" doc:"sent as \"Authorization: Bearer TOKEN\""`
	// Headers are sent with every request.
	Headers map[string]string `json:"headers" doc:"sent with every request"`
	// Transport is "auto" (default: WebSocket, else HTTP), "websocket" or "http".
	Transport string `json:"transport" doc:"\"auto\" (WebSocket, else HTTP), \"websocket\" or \"http\""`
	// ActionField, when set, makes the model's text the value of this field
	// of the action object ({FIELD: TEXT}); "none" means the model writes
	// the whole action JSON object. Empty means: chosen from the action
	// schema (see Options.ActionField).
	ActionField string `json:"action_field" doc:"the action object's field that takes the model's text; \"none\": the model writes the whole action JSON; empty: chosen from the action schema" access:"client"`
	// ObservationField names the observation's field (dotted for nested
	// ones) shown to the model; empty means the first string among text,
	// prompt, content, message, else the whole observation as JSON.
	ObservationField string `json:"observation_field" doc:"the observation's field (dotted for nested ones) shown to the model; empty: the first of text, prompt, content, message, else the whole observation" access:"client"`
	// AnswerTag is the tag the model's answer is read from
	// (<answer>...</answer>); "none" reads the whole output. Default
	// "answer", except for a "raw" action field (retrain serve), which gets
	// the whole output.
	AnswerTag *string `json:"answer_tag" doc:"the tag the model's answer is read from; \"none\" reads the whole output; default \"answer\" (the whole output for a \"raw\" action field)" access:"client"`
	// SystemPrompt is the system message of each episode; empty means one
	// describing the action format when the model must write JSON.
	SystemPrompt string `json:"system_prompt" doc:"the system message of each episode; empty: one describing the action format when the model must write JSON" access:"client"`
	// Timeout bounds the wait for each reply ("60s" or seconds; default 60s).
	Timeout env.Duration `json:"timeout" doc:"bounds the wait for each reply"`
	// ConnectTimeout bounds connecting (default 10s).
	ConnectTimeout env.Duration `json:"connect_timeout" doc:"bounds connecting"`
	// MaxReconnects bounds the reconnections to resume a dropped session
	// (default 3; -1 for none).
	MaxReconnects int `json:"max_reconnects" doc:"bounds the reconnections to resume a dropped session (-1: none)"`
	// InvalidActionPenalty is the reward of an invalid action (default -0.1).
	InvalidActionPenalty *float64 `json:"invalid_action_penalty" doc:"the reward of an invalid action" access:"client"`
	// ResetParams are added to every reset's parameters (OpenEnv passes them
	// to the environment's reset as keyword arguments).
	ResetParams map[string]any `json:"reset_params" doc:"added to every reset's parameters (keyword arguments of the environment's reset)"`
	// SendTask sends the task (its prompt, answer, id and metadata) as the
	// reset parameter "task" (default true).
	SendTask *bool `json:"send_task" doc:"send the task (prompt, answer, id, metadata) as the reset parameter \"task\"" access:"client"`
}

func construct(c Config) (env.Factory, error) {
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
