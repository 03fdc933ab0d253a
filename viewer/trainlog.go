package viewer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// StepLine is a "step" line of a training log (the train.jsonl that
// retrain train writes): the metrics of one optimizer step. A metric the
// line does not have is NaN.
type StepLine struct {
	Step               int
	TimeS              float64
	Reward             float64
	Accuracy           float64
	ParseRate          float64
	KL                 float64
	ClipFraction       float64
	Loss               float64
	TokensPerS         float64
	Episodes           float64
	ZeroVarianceGroups float64
	LR                 float64
}

// EvalLine is an "eval" line of a training log: an evaluation at a step.
type EvalLine struct {
	Step        int
	Split       string
	Accuracy    float64 // NaN when missing
	ParseErrors float64 // NaN when missing
	Tasks       int
	N           int
	Temperature float64 // NaN when missing
}

// TrainLog is a training log read whole.
type TrainLog struct {
	Steps []StepLine
	Evals []EvalLine
	// Other counts lines of other types, which are skipped.
	Other int
}

// trainLine is a training log line as written; pointers tell a missing
// metric from a zero.
type trainLine struct {
	Type               string   `json:"type"`
	Step               *int     `json:"step"`
	TimeS              *float64 `json:"time_s"`
	Reward             *float64 `json:"reward"`
	Accuracy           *float64 `json:"accuracy"`
	ParseRate          *float64 `json:"parse_rate"`
	KL                 *float64 `json:"kl"`
	ClipFraction       *float64 `json:"clip_fraction"`
	Loss               *float64 `json:"loss"`
	TokensPerS         *float64 `json:"tokens_per_s"`
	Episodes           *float64 `json:"episodes"`
	ZeroVarianceGroups *float64 `json:"zero_variance_groups"`
	LR                 *float64 `json:"lr"`
	Split              string   `json:"split"`
	ParseErrors        *float64 `json:"parse_errors"`
	Tasks              int      `json:"tasks"`
	N                  int      `json:"n"`
	Temperature        *float64 `json:"temperature"`
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// isTrainLine reports whether data is a line of a training log: a JSON
// object whose "type" is "step" or "eval".
func isTrainLine(data []byte) bool {
	var l struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(data, &l) == nil && (l.Type == "step" || l.Type == "eval")
}

// ReadTrainLog reads a training log: JSON Lines of "step" and "eval"
// objects, unknown fields and line types ignored, missing metrics NaN. A
// line that is not a JSON object with a "type" and a "step" is an error
// naming it, but for a last line cut short by a writer that is still
// running, which is skipped. Steps and evals are sorted by step.
func ReadTrainLog(r io.Reader) (*TrainLog, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	log := &TrainLog{}
	for n := 1; len(data) > 0; n++ {
		line, rest, found := bytes.Cut(data, []byte("\n"))
		data = rest
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var l trainLine
		err := json.Unmarshal(line, &l)
		if err == nil && l.Type == "" {
			err = errors.New(`no "type"`)
		}
		if err == nil && l.Step == nil && (l.Type == "step" || l.Type == "eval") {
			err = errors.New(`no "step"`)
		}
		if err != nil {
			if !found { // the writer is still writing it
				break
			}
			return nil, fmt.Errorf("line %d is not a training log line: %v", n, err)
		}
		switch l.Type {
		case "step":
			log.Steps = append(log.Steps, StepLine{
				Step: *l.Step, TimeS: orNaN(l.TimeS), Reward: orNaN(l.Reward), Accuracy: orNaN(l.Accuracy),
				ParseRate: orNaN(l.ParseRate), KL: orNaN(l.KL), ClipFraction: orNaN(l.ClipFraction),
				Loss: orNaN(l.Loss), TokensPerS: orNaN(l.TokensPerS), Episodes: orNaN(l.Episodes),
				ZeroVarianceGroups: orNaN(l.ZeroVarianceGroups), LR: orNaN(l.LR),
			})
		case "eval":
			log.Evals = append(log.Evals, EvalLine{
				Step: *l.Step, Split: l.Split, Accuracy: orNaN(l.Accuracy), ParseErrors: orNaN(l.ParseErrors),
				Tasks: l.Tasks, N: l.N, Temperature: orNaN(l.Temperature),
			})
		default:
			log.Other++
		}
	}
	slices.SortStableFunc(log.Steps, func(a, b StepLine) int { return a.Step - b.Step })
	slices.SortStableFunc(log.Evals, func(a, b EvalLine) int { return a.Step - b.Step })
	return log, nil
}
