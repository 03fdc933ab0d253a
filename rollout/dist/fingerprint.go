package dist

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/retrain-rl/retrain/rollout"
)

// jobMetadataKey is the episode stream's metadata key holding the
// fingerprint of the job that started the run (see [jobFingerprint]).
const jobMetadataKey = "retrain.job"

// jobFingerprint hashes what decides a run's episodes and their scores: the
// environment and its configuration, the tasks, the samples per task, the
// seed, the sampling, the model's name, the limits of an episode and the
// rewards. A resumed run must have the same, or its file would mix two
// runs; settings that change how the run goes but not what it produces (its
// concurrency, timeouts, retries, the model's address) are left out, so
// that they may change on resume.
func jobFingerprint(job *rollout.Job, p *rollout.Prepared) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.Encode(struct {
		Env              string          `json:"env"`
		EnvConfig        json.RawMessage `json:"env_config,omitempty"`
		N                int             `json:"n"`
		Seed             *int64          `json:"seed"`
		Sampling         any             `json:"sampling"`
		Model            string          `json:"model"`
		MaxTurns         int             `json:"max_turns"`
		MaxEpisodeTokens int             `json:"max_episode_tokens"`
		Reward           any             `json:"reward"`
	}{job.Env, job.EnvConfig, job.N, job.Seed, job.Sampling, p.ModelName(), job.MaxTurns, job.MaxEpisodeTokens, p.RewardConfig()})
	for _, t := range p.Tasks() {
		enc.Encode(t)
	}
	return hex.EncodeToString(h.Sum(nil))
}
