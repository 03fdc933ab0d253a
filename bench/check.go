package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Output is what a worker's JSONL file holds, checked line by line.
type Output struct {
	// Lines counts the lines, Unique the distinct episode ids among them.
	Lines  int `json:"lines"`
	Unique int `json:"unique"`
	// Failed counts the lines of failed episodes (an "error" field).
	Failed int `json:"failed"`
	// Correct counts the episodes of two turns whose answer is the task's
	// reference answer.
	Correct int `json:"correct"`
	// BadTokens counts the turns without exactly the expected number of
	// log-probabilities and token ids.
	BadTokens int `json:"bad_tokens"`
	// Bytes is the file's size.
	Bytes int64 `json:"bytes"`
}

// Problems lists what is wrong with o for a run of episodes episodes: lost,
// repeated, failed or wrong episodes, turns without the expected tokens.
func (o Output) Problems(episodes int) []string {
	var p []string
	if o.Lines != episodes || o.Unique != episodes {
		p = append(p, fmt.Sprintf("%d lines with %d distinct episodes for %d episodes run", o.Lines, o.Unique, episodes))
	}
	if o.Failed > 0 {
		p = append(p, fmt.Sprintf("%d failed episodes", o.Failed))
	}
	if o.Correct != o.Lines-o.Failed {
		p = append(p, fmt.Sprintf("%d of %d successful episodes did not answer right in two turns", o.Lines-o.Failed-o.Correct, o.Lines-o.Failed))
	}
	if o.BadTokens > 0 {
		p = append(p, fmt.Sprintf("%d turns without the expected tokens", o.BadTokens))
	}
	return p
}

// outputLine is the part of either client's line the check reads.
type outputLine struct {
	ID   string `json:"id"`
	Task struct {
		Answer string `json:"answer"`
	} `json:"task"`
	Error string `json:"error"`
	Turns []struct {
		// retrain
		Action struct {
			Text   string `json:"text"`
			Tokens *struct {
				IDs      []int32   `json:"ids"`
				Logprobs []float64 `json:"logprobs"`
			} `json:"tokens"`
		} `json:"action"`
		// baseline
		TokenIDs []int32   `json:"token_ids"`
		Logprobs []float64 `json:"logprobs"`
	} `json:"turns"`
	Answer string `json:"answer"` // baseline
}

// CheckOutput reads a JSONL file written by either client and counts what
// it holds; tokens is the number of tokens each reply should carry. A line
// that is not a JSON object with an id is an error naming it.
func CheckOutput(path string, tokens int) (Output, error) {
	var o Output
	f, err := os.Open(path)
	if err != nil {
		return o, fmt.Errorf("bench: check output: %w", err)
	}
	defer f.Close()
	ids := map[string]bool{}
	br := bufio.NewReaderSize(f, 1<<20)
	for n := 1; ; n++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(b) == 0 {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return o, fmt.Errorf("bench: check %s: %w", path, err)
		}
		o.Bytes += int64(len(b))
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var l outputLine
		if err := json.Unmarshal(b, &l); err != nil || l.ID == "" {
			return o, fmt.Errorf("bench: %s line %d is not an episode (%v)", path, n, err)
		}
		o.Lines++
		ids[l.ID] = true
		if l.Error != "" {
			o.Failed++
			continue
		}
		answer := l.Answer
		for i, t := range l.Turns {
			idList, lps := t.TokenIDs, t.Logprobs
			if t.Action.Tokens != nil {
				idList, lps = t.Action.Tokens.IDs, t.Action.Tokens.Logprobs
			}
			if len(idList) != tokens || len(lps) != tokens {
				o.BadTokens++
			}
			if i == len(l.Turns)-1 && answer == "" {
				answer = t.Action.Text
			}
		}
		if len(l.Turns) == 2 && answer != "" && answer == l.Task.Answer {
			o.Correct++
		}
	}
	o.Unique = len(ids)
	return o, nil
}
