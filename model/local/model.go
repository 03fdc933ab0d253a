package local

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/local/internal/kernel"
)

// DefaultName is the name of the built-in model.
const DefaultName = "retrain-local"

// DefaultMaxTokens is the completion limit of a request that sets none:
// well above the longest answer the model was trained to give (under 100
// tokens), so a model that rambles is cut short.
const DefaultMaxTokens = 160

//go:embed weights/calculator.bin
var embedded []byte

// ErrContextLength is wrapped by the error of a request whose prompt does
// not fit in the model's context.
var ErrContextLength = errors.New("local: prompt longer than the model's context")

// Options configure a Model. The zero value (or nil) loads the built-in
// weights.
type Options struct {
	// Weights is a weights file in the format of EncodeWeights; nil means
	// the built-in weights (trained on the calculator environment).
	Weights []byte
	// Name is the model's name, as reported in completions (default
	// DefaultName).
	Name string
	// MaxTokens is the completion limit of requests that set none (default
	// DefaultMaxTokens).
	MaxTokens int
}

// Model is the local model. It is safe for concurrent use: the weights are
// read-only and each generation takes its own KV cache from a pool.
type Model struct {
	name      string
	maxTokens int
	net       *network
	notes     json.RawMessage
	params    int
	version   string
	caches    sync.Pool
}

var _ model.Model = (*Model)(nil)

// New loads a model. It does no I/O; with the built-in weights it takes a
// few milliseconds.
func New(opts *Options) (*Model, error) {
	o := defaults(opts)
	if o.Weights == nil {
		o.Weights = embedded
	}
	w, notes, err := DecodeWeights(o.Weights)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(o.Weights)
	return newModel(w, o, notes, hex.EncodeToString(sum[:])[:12])
}

// FromWeights makes a model that computes with w, in memory and in float32,
// without the half-precision round trip of a weights file: a trainer's
// rollouts then sample from exactly the weights it trains, and report the
// log-probabilities its own forward pass computes. The model reads w, not a
// copy: w must not change while the model is in use (to follow training,
// make a new model from a copy after each step; see [Weights.Clone]).
// opts.Weights is ignored. Its policy version is the name, "@", and the first
// 12 hex digits of the SHA-256 of the values (little-endian float32, in the
// order of [Weights.Tensors]), so every optimizer step gives a new one.
func FromWeights(w *Weights, opts *Options) (*Model, error) {
	o := defaults(opts)
	h := sha256.New()
	var b [4]byte
	for _, t := range w.Tensors() {
		for _, x := range t.Data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
			h.Write(b[:])
		}
	}
	return newModel(w, o, nil, hex.EncodeToString(h.Sum(nil))[:12])
}

// defaults returns opts, or the zero Options, with the defaults filled in.
func defaults(opts *Options) Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = DefaultMaxTokens
	}
	return o
}

func newModel(w *Weights, o Options, notes json.RawMessage, hash string) (*Model, error) {
	nt, err := newNetwork(w)
	if err != nil {
		return nil, err
	}
	m := &Model{name: o.Name, maxTokens: o.MaxTokens, net: nt, notes: notes, params: w.Params(),
		version: o.Name + "@" + hash}
	m.caches.New = func() any { return nt.newCache() }
	return m, nil
}

// DefaultWeights decodes the built-in weights into new float32 weights
// (the starting point of training them further).
func DefaultWeights() (*Weights, error) {
	w, _, err := DecodeWeights(embedded)
	return w, err
}

var loadDefault = sync.OnceValues(func() (*Model, error) { return New(nil) })

// Default returns the model with the built-in weights, loaded once and
// shared.
func Default() (*Model, error) { return loadDefault() }

// Name returns the model's name.
func (m *Model) Name() string { return m.name }

// PolicyVersion names the policy that generates: the model's name, "@",
// and the first 12 hex digits of the SHA-256 of its weights file (computed
// once, by [New]), e.g. "retrain-local@0123456789ab"; for a model made by
// [FromWeights], of its float32 values.
func (m *Model) PolicyVersion() string { return m.version }

// LogprobsMode is [model.LogprobsRaw]: the log-probabilities the model
// reports are the log-softmax of the raw logits.
func (m *Model) LogprobsMode() string { return model.LogprobsRaw }

// Config returns the shape of the network.
func (m *Model) Config() Config { return m.net.c }

// Params returns the number of parameters.
func (m *Model) Params() int { return m.params }

// ParamsText returns the number of parameters the way people write it:
// "190k", "1.2M".
func (m *Model) ParamsText() string { return humanCount(m.params) }

// humanCount writes n like "190k" or "1.2M".
func humanCount(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%dk", (n+500)/1000)
	}
	return fmt.Sprint(n)
}

// Notes returns the free-form notes stored with the weights (how they were
// trained), or nil.
func (m *Model) Notes() json.RawMessage { return m.notes }

// Generate renders req.Messages with the chat template (see [Render]) and
// samples a completion.
//
// Sampling: Temperature (default 1; 0 is greedy), TopP (default 1),
// MaxTokens (default Options.MaxTokens, and never past the context), Stop
// strings, and Seed (the same seed and request give the same completion;
// nil draws a random seed). Sampling.Extra and req.Tools are ignored.
//
// The completion reports every generated token's id, text and
// log-probability, like an OpenAI-compatible server with vLLM's token-id
// extensions; its PromptTokenIDs are Render's ids (as int32, the type of
// the completion's ids). As in vLLM's default (logprobs_mode "raw_logprobs"), the
// log-probability is that of the model's own distribution, the log-softmax
// of the raw logits, before temperature and top-p: a full forward pass over
// prompt and completion (see [Model.Score]) gives the same numbers.
//
// The completion ends with FinishReason "stop" when the model generates a
// special token (normally TokenEnd, which ends its message) or the text
// ends with a stop string, and "length" at MaxTokens. As in vLLM, the
// tokens include the last one generated (TokenEnd, or the one completing a
// stop string) while Text leaves out the special token and the stop string.
func (m *Model) Generate(ctx context.Context, req model.Request) (model.Completion, error) {
	start := time.Now()
	c := m.net.c
	prompt, _ := render[int32](req.Messages, true)
	if len(prompt) >= c.Context {
		return model.Completion{}, fmt.Errorf("%w: this model's maximum context length is %d tokens, and the prompt is %d; shorten the conversation", ErrContextLength, c.Context, len(prompt))
	}
	s := &req.Sampling
	temp, topP := 1.0, 1.0
	if s.Temperature != nil {
		temp = *s.Temperature
	}
	if s.TopP != nil {
		topP = *s.TopP
	}
	switch {
	case temp < 0:
		return model.Completion{}, fmt.Errorf("local: temperature %g is negative; use 0 for greedy sampling", temp)
	case topP <= 0 || topP > 1:
		return model.Completion{}, fmt.Errorf("local: top_p %g is outside (0, 1]", topP)
	case s.MaxTokens < 0:
		return model.Completion{}, fmt.Errorf("local: max_tokens %d is negative", s.MaxTokens)
	}
	maxTokens := s.MaxTokens
	if maxTokens == 0 {
		maxTokens = m.maxTokens
	}
	maxTokens = min(maxTokens, c.Context-len(prompt))
	seed := rand.Uint64()
	if s.Seed != nil {
		seed = uint64(*s.Seed)
	}
	smp := newSampler(temp, topP, seed)
	stops := make([]string, 0, len(s.Stop))
	for _, st := range s.Stop {
		if st != "" {
			stops = append(stops, st)
		}
	}

	kc := m.caches.Get().(*cache)
	defer m.caches.Put(kc)
	kc.reset()
	for i, id := range prompt {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return model.Completion{}, fmt.Errorf("local: generate: %w", err)
			}
		}
		m.net.feed(kc, int(id), i == len(prompt)-1)
	}

	toks := &retrain.Tokens{IDs: make([]int32, 0, 64), Text: make([]string, 0, 64), Logprobs: make([]float64, 0, 64)}
	var text []byte
	finish := "length"
	for len(toks.IDs) < maxTokens {
		if err := ctx.Err(); err != nil {
			return model.Completion{}, fmt.Errorf("local: generate: %w", err)
		}
		id := smp.pick(kc.logits)
		toks.IDs = append(toks.IDs, int32(id))
		toks.Text = append(toks.Text, TokenText(id))
		toks.Logprobs = append(toks.Logprobs, kernel.LogSoftmax(kc.logits, id))
		if id >= 256 {
			finish = "stop"
			break
		}
		text = append(text, byte(id))
		if st, ok := endsWithStop(text, stops); ok {
			text = text[:len(text)-len(st)]
			finish = "stop"
			break
		}
		if len(toks.IDs) < maxTokens {
			m.net.feed(kc, id, true)
		}
	}
	toks.Bytes = tokenBytes(toks.IDs)
	return model.Completion{
		Text:           string(text),
		Tokens:         toks,
		PromptTokenIDs: prompt,
		FinishReason:   finish,
		Usage:          model.Usage{PromptTokens: len(prompt), CompletionTokens: len(toks.IDs)},
		Latency:        time.Since(start),
	}, nil
}

// tokenBytes returns the exact bytes of each token of ids when some token's
// bytes are not valid UTF-8 on their own (a byte of a multi-byte character,
// 0x80 and above), else nil: the Tokens.Bytes of a completion. The entries
// share one backing array.
func tokenBytes(ids []int32) [][]byte {
	if !slices.ContainsFunc(ids, func(id int32) bool { return id >= utf8.RuneSelf && id < 256 }) {
		return nil
	}
	var buf []byte
	ends := make([]int, len(ids))
	for i, id := range ids {
		if id >= 0 && id < 256 {
			buf = append(buf, byte(id))
		} else {
			buf = append(buf, TokenText(int(id))...)
		}
		ends[i] = len(buf)
	}
	out := make([][]byte, len(ids))
	start := 0
	for i, end := range ends {
		out[i] = buf[start:end:end]
		start = end
	}
	return out
}

// endsWithStop returns the stop string text ends with, if any. Each token
// adds one byte, so a stop string can only newly appear at the end.
func endsWithStop(text []byte, stops []string) (string, bool) {
	for _, st := range stops {
		if len(text) >= len(st) && strings.HasSuffix(string(text[len(text)-len(st):]), st) {
			return st, true
		}
	}
	return "", false
}

// Score returns the log-probability of each token of ids from index from
// on, given the tokens before it, computed by one forward pass over the
// whole sequence without a cache (log-softmax of the raw logits, as
// Generate reports them). from must be at least 1.
func (m *Model) Score(ids []int, from int) ([]float64, error) {
	switch {
	case from < 1 || from > len(ids):
		return nil, fmt.Errorf("local: Score from %d: it must be in [1, %d]", from, len(ids))
	case len(ids) > m.net.c.Context:
		return nil, fmt.Errorf("%w: %d tokens, context %d", ErrContextLength, len(ids), m.net.c.Context)
	}
	for i, id := range ids {
		if id < 0 || id >= m.net.c.Vocab {
			return nil, fmt.Errorf("local: Score: token %d is id %d, outside the vocabulary [0, %d)", i, id, m.net.c.Vocab)
		}
	}
	logits := m.net.sequenceLogits(ids[:len(ids)-1])
	out := make([]float64, 0, len(ids)-from)
	for i := from; i < len(ids); i++ {
		out = append(out, kernel.LogSoftmax(logits[i-1], ids[i]))
	}
	return out, nil
}
