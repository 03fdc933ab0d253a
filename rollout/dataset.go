package rollout

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/retrain-rl/retrain"
)

// DatasetOptions say which fields of a JSONL row make a task. The zero value
// reads the common layouts, GSM8K's included.
type DatasetOptions struct {
	// PromptField names the prompt's field; empty means "prompt", else "question".
	PromptField string
	// AnswerField names the reference answer's field; empty means "answer".
	// A GSM8K-style answer (a solution ending in "#### 18") gives the text
	// after the last "####" as the answer ("18", as written) and keeps the
	// whole solution in Metadata["solution"].
	AnswerField string
	// IDField names the task id's field; empty means "id", else the row's
	// line number ("1" for the first line).
	IDField string
	// Limit keeps only the first Limit tasks; zero means all.
	Limit int
}

// LoadTasks reads tasks from a JSONL file, one JSON object a line (blank
// lines are skipped). Fields other than the prompt, answer and id go to
// Task.Metadata. A row without a prompt, a line that is not a JSON object, or
// a repeated id is an error naming the file and the line.
func LoadTasks(path string, opts *DatasetOptions) ([]retrain.Task, error) {
	f, err := openDatasetFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tasks, err := ReadTasks(f, opts)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	return tasks, nil
}

// openDatasetFile opens the dataset at path; a missing file is an error
// wrapping os.ErrNotExist that says what to give instead.
func openDatasetFile(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("dataset %s does not exist: give the path of a JSONL file of tasks: %w", path, os.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	return f, nil
}

// ReadTasks reads tasks from JSONL, as [LoadTasks] does from a file.
func ReadTasks(r io.Reader, opts *DatasetOptions) ([]retrain.Task, error) {
	var o DatasetOptions
	if opts != nil {
		o = *opts
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var tasks []retrain.Task
	seen := map[string]int{} // id → line
	for line := 1; o.Limit <= 0 || len(tasks) < o.Limit; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			t, terr := parseTask(b, line, &o)
			if terr != nil {
				return nil, fmt.Errorf("line %d: %w", line, terr)
			}
			if prev, dup := seen[t.ID]; dup {
				return nil, fmt.Errorf("line %d: task id %q was already used on line %d: ids must be unique (resume and groups rely on them)", line, t.ID, prev)
			}
			seen[t.ID] = line
			tasks = append(tasks, t)
		}
		if err == io.EOF {
			break
		}
	}
	if len(tasks) == 0 {
		return nil, errors.New("no tasks: the file is empty")
	}
	return tasks, nil
}

// parseTask makes a task of one JSONL row.
func parseTask(b []byte, line int, o *DatasetOptions) (retrain.Task, error) {
	var row map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&row); err != nil || row == nil {
		return retrain.Task{}, fmt.Errorf("not a JSON object: each line must be one object like {\"prompt\": \"...\", \"answer\": \"...\"}")
	}
	if d.More() {
		return retrain.Task{}, fmt.Errorf("more than one JSON value on the line: put one object on each line")
	}
	var t retrain.Task
	promptKey := o.PromptField
	if promptKey == "" {
		promptKey = "prompt"
		if _, ok := row[promptKey]; !ok {
			if _, ok := row["question"]; ok {
				promptKey = "question"
			}
		}
	}
	p, ok := row[promptKey]
	if !ok {
		keys := make([]string, 0, len(row))
		for k := range row {
			keys = append(keys, strconv.Quote(k))
		}
		return t, fmt.Errorf("no prompt field %q (the row has %s): name the prompt's field (--prompt-field)", promptKey, strings.Join(keys, ", "))
	}
	if t.Prompt, ok = p.(string); !ok || t.Prompt == "" {
		return t, fmt.Errorf("the prompt field %q must be a non-empty string", promptKey)
	}
	delete(row, promptKey)

	answerKey := cmp.Or(o.AnswerField, "answer")
	if a, ok := row[answerKey]; ok {
		s, err := scalarText(a)
		if err != nil {
			return t, fmt.Errorf("answer field %q: %w", answerKey, err)
		}
		if i := strings.LastIndex(s, "####"); i >= 0 {
			t.Answer = strings.TrimSpace(s[i+len("####"):])
			row["solution"] = s
		} else {
			t.Answer = s
		}
		delete(row, answerKey)
	}

	idKey := cmp.Or(o.IDField, "id")
	if v, ok := row[idKey]; ok {
		s, err := scalarText(v)
		if err != nil || s == "" {
			return t, fmt.Errorf("id field %q must be a non-empty string or number", idKey)
		}
		t.ID = s
		delete(row, idKey)
	} else if o.IDField != "" {
		return t, fmt.Errorf("no id field %q", idKey)
	} else {
		t.ID = strconv.Itoa(line)
	}
	if len(row) > 0 {
		t.Metadata = row
	}
	return t, nil
}

// scalarText returns a string, number or boolean as text.
func scalarText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("must be a string or a number, not %T", v)
}
