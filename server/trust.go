package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/retrain-rl/retrain/config"
	wire "github.com/retrain-rl/retrain/internal/openenvwire"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/reward"
)

// What a client may set, and what only the operator may: the operator's
// configuration (flags, --env-config, a config file) may name commands,
// paths and URLs; a client's (a session's config, a rollout's env_config
// and model) may set only the keys each environment marks
// access:"client", and may use only the model endpoints the operator
// allowed. Both checks run before anything is started, opened or read.

// clientConfigReply checks the configuration a client sent for environment
// name; nil when every key it sets is one a client may set. Otherwise it is
// a 403 naming the keys (or a 422 when the config is not an object).
func (s *Server) clientConfigReply(name string, raw json.RawMessage) *reply {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	keys, err := s.reg.OperatorKeys(name, raw)
	if err != nil {
		return errorReply(http.StatusUnprocessableEntity, wire.CodeValidationError, "environment %q: %v", name, err)
	}
	if len(keys) == 0 {
		return nil
	}
	return errorReply(http.StatusForbidden, wire.CodeForbidden, "%s", operatorKeysMessage(name, keys, s.clientKeys(name)))
}

// operatorKeysMessage says which keys a client may not set, and which it may.
func operatorKeysMessage(name string, keys, allowed []string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	what := "config key " + quoted[0]
	if len(keys) > 1 {
		what = "config keys " + strings.Join(quoted, ", ")
	}
	may := "none"
	if len(allowed) > 0 {
		may = strings.Join(allowed, ", ")
	}
	return fmt.Sprintf("%s of environment %q may be set only by the operator (retrain serve --env-config), not by a client; a client may set: %s", what, name, may)
}

// clientKeys lists the top-level keys of environment name that a client may set.
func (s *Server) clientKeys(name string) []string {
	for _, info := range s.reg.Describe() {
		if info.Name != name {
			continue
		}
		var keys []string
		for _, k := range info.Keys {
			if k.Access == config.Client {
				keys = append(keys, k.Name)
			}
		}
		return keys
	}
	return nil
}

// modelAllowed reports whether a client may have the server call the model
// endpoint ep: the built-in local model and the fake always, with the
// built-in weights; a URL only when the operator allowed it (--model-url).
// The error says what is allowed.
func (s *Server) modelAllowed(ep model.Endpoint) error {
	switch {
	case ep.Weights != "":
		return fmt.Errorf("model.weights may be set only by the operator: a client may not name a file; serve the weights with \"retrain serve-model --weights\" and have the operator allow its URL (--model-url)")
	case ep.Kind() != "openai":
		return nil
	case slices.Contains(s.modelURLs, normalizeURL(ep.BaseURL)):
		return nil
	case len(s.modelURLs) == 0:
		return fmt.Errorf("model.base_url %q is not allowed: this server calls no model server a client names; use \"local\" or \"fake\", or start retrain serve with --model-url %s", ep.BaseURL, ep.BaseURL)
	}
	return fmt.Errorf("model.base_url %q is not allowed; the operator allows: local, fake, %s (retrain serve --model-url)", ep.BaseURL, strings.Join(s.modelURLs, ", "))
}

// normalizeURL is u without surrounding space and trailing slashes, for
// comparing base URLs.
func normalizeURL(u string) string {
	return strings.TrimRight(strings.TrimSpace(u), "/")
}

// rewardParamsAllowed checks the reward configuration a client sent: it may
// not set the params a reward keeps for the operator (see
// reward.RegisterParams), such as a judge's base_url, api_key_env or cache:
// an address to call, an environment variable to send, a path to write. A
// judge a client asks for uses the judge server the operator configured in
// retrain serve's environment ($RETRAIN_JUDGE_BASE_URL and its kin).
func rewardParamsAllowed(cfg *reward.Config) error {
	keys, err := reward.Default.OperatorParams(cfg)
	if err != nil {
		return fmt.Errorf("reward: %v", err)
	}
	if len(keys) == 0 {
		return nil
	}
	return fmt.Errorf("reward params may be set only by the operator, not by a client: %s; a judge uses the judge server the operator configured ($RETRAIN_JUDGE_BASE_URL, $RETRAIN_JUDGE_MODEL, $RETRAIN_JUDGE_API_KEY, $RETRAIN_JUDGE_CACHE in retrain serve's environment)", strings.Join(keys, "; "))
}
