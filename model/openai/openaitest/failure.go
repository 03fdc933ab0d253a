package openaitest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Failure is a kind of injected failure of a chat completion request.
type Failure string

// Failure kinds.
const (
	// FailNone lets the request through.
	FailNone Failure = ""
	// Fail500 answers 500 Internal Server Error with an OpenAI-style error body.
	Fail500 Failure = "500"
	// Fail503 answers 503 Service Unavailable, with Retry-After when
	// FailurePlan.RetryAfter is set.
	Fail503 Failure = "503"
	// Fail429 answers 429 Too Many Requests, with Retry-After when
	// FailurePlan.RetryAfter is set.
	Fail429 Failure = "429"
	// FailTimeout never answers: the handler waits until the client gives
	// up or the server is closed.
	FailTimeout Failure = "timeout"
	// FailMalformed answers 200 with a truncated JSON body.
	FailMalformed Failure = "malformed"
	// FailDrop closes the connection without answering.
	FailDrop Failure = "drop"
	// FailNoChoices answers 200 with JSON that is not a completion (an
	// object without "choices").
	FailNoChoices Failure = "no_choices"
	// FailEmpty answers 200 with an empty body.
	FailEmpty Failure = "empty"
	// FailHuge answers 200 with a valid completion whose content is
	// FailurePlan.HugeBytes long (default DefaultHugeBytes).
	FailHuge Failure = "huge"
	// FailInvalidUTF8 answers 200 with a valid completion whose content
	// holds bytes that are not UTF-8.
	FailInvalidUTF8 Failure = "invalid_utf8"
)

// DefaultHugeBytes is the content size of a FailHuge reply: 10 MB.
const DefaultHugeBytes = 10_000_000

// failureKinds is the fixed order in which rates are drawn (new kinds go at
// the end, so that older plans draw as before).
var failureKinds = []Failure{Fail500, Fail503, Fail429, FailTimeout, FailMalformed, FailDrop,
	FailNoChoices, FailEmpty, FailHuge, FailInvalidUTF8}

// FailureKinds returns every kind of failure, FailNone excluded.
func FailureKinds() []Failure { return append([]Failure(nil), failureKinds...) }

// FailurePlan says which chat completion requests fail and how. Requests are
// numbered from 0 in order of arrival; GET /v1/models never fails.
type FailurePlan struct {
	// Schedule[i] is the failure of request i. Requests past its end fail
	// only as Rates say.
	Schedule []Failure
	// Rates gives, for each kind, the probability that a request (past the
	// Schedule) fails that way. The draws come from a generator seeded with
	// Seed, so a run of sequential requests is reproducible.
	Rates map[Failure]float64
	// Seed seeds the draws for Rates.
	Seed uint64
	// Decide, when set, decides the failure of each request past the
	// Schedule instead of Rates, from its number and its body (a retried
	// request has the same body). It is called concurrently.
	Decide func(n int64, body []byte) Failure
	// HugeBytes is the content size of a FailHuge reply (default
	// DefaultHugeBytes).
	HugeBytes int
	// RetryAfter is sent in the Retry-After header of 429 and 503 replies:
	// whole seconds when it is a whole number of seconds, else fractional
	// seconds (e.g. "0.05", which lenient clients accept). Zero sends none.
	RetryAfter time.Duration
}

// failures decides the failure of each request.
type failures struct {
	plan FailurePlan
	mu   sync.Mutex
	rng  *rand.Rand
}

func newFailures(p FailurePlan) *failures {
	total := 0.0
	for k, r := range p.Rates {
		known := false
		for _, f := range failureKinds {
			known = known || f == k
		}
		if !known {
			panic(fmt.Sprintf("openaitest: FailurePlan.Rates has unknown failure %q", k))
		}
		if r < 0 || r > 1 {
			panic(fmt.Sprintf("openaitest: FailurePlan.Rates[%q] = %v, want a probability in [0, 1]", k, r))
		}
		total += r
	}
	if total > 1 {
		panic(fmt.Sprintf("openaitest: FailurePlan.Rates sum to %v, more than 1", total))
	}
	return &failures{plan: p, rng: rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))}
}

// forRequest returns the failure of request n, whose body is body.
func (f *failures) forRequest(n int64, body []byte) Failure {
	if n < int64(len(f.plan.Schedule)) {
		return f.plan.Schedule[n]
	}
	if f.plan.Decide != nil {
		return f.plan.Decide(n, body)
	}
	if len(f.plan.Rates) == 0 {
		return FailNone
	}
	f.mu.Lock()
	x := f.rng.Float64()
	f.mu.Unlock()
	for _, k := range failureKinds {
		r := f.plan.Rates[k]
		if x < r {
			return k
		}
		x -= r
	}
	return FailNone
}

// retryAfter formats the Retry-After header value, or "" for none.
func (f *failures) retryAfter() string {
	d := f.plan.RetryAfter
	if d <= 0 {
		return ""
	}
	if d%time.Second == 0 {
		return fmt.Sprint(int64(d / time.Second))
	}
	return fmt.Sprintf("%g", d.Seconds())
}
