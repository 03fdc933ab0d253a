package judge

import (
	"fmt"
	"strings"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/reward"
)

// render fills the placeholders of template t from vars, in one pass: a
// placeholder inside a value (a response that writes "{{task}}") stays as
// written.
func render(t string, vars map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(t, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}

// taskVars are the placeholders every prompt of sample s has.
func taskVars(s reward.Sample) map[string]string {
	task := strings.TrimSpace(s.Task.Prompt)
	if task == "" && s.Trajectory != nil { // a task-free environment: its first user message
		for _, m := range s.Trajectory.Messages {
			if m.Role == retrain.RoleUser {
				task = strings.TrimSpace(m.Content)
				break
			}
		}
	}
	if task == "" {
		task = "(none given)"
	}
	ref := strings.TrimSpace(s.Task.Answer)
	if ref == "" {
		ref = "(none given)"
	}
	return map[string]string{"task": task, "reference": ref}
}

// scaleWords says what a verdict on sc is, for the instructions.
func scaleWords(sc Scale) string {
	return fmt.Sprintf("a number from %g (does not meet it at all) to %g (fully meets it)", sc.Min, sc.Max)
}

// singleFormat asks for one verdict.
func singleFormat(sc Scale) string {
	if sc.YesNo {
		return `End your reply with a line "Verdict: yes" if the response meets the criteria, or "Verdict: no" if it does not.`
	}
	return fmt.Sprintf(`End your reply with a line "Score: N", where N is %s.`, scaleWords(sc))
}

// rubricFormat asks for one verdict per criterion in a JSON object.
func rubricFormat(sc Scale, cs []criterion) string {
	example := make([]string, len(cs))
	for i, c := range cs {
		v := fmt.Sprintf("%g", sc.Max)
		if sc.YesNo {
			v = `"yes"`
		}
		example[i] = fmt.Sprintf("%q: %s", c.name, v)
	}
	what := `"yes" or "no"`
	if !sc.YesNo {
		what = scaleWords(sc)
	}
	return fmt.Sprintf("End your reply with a JSON object that gives each criterion, by name, %s, like {%s}.", what, strings.Join(example, ", "))
}

// groupFormat asks for one verdict per response of n.
func groupFormat(sc Scale, n int) string {
	what := `"yes" or "no"`
	if !sc.YesNo {
		what = scaleWords(sc)
	}
	return fmt.Sprintf(`End your reply with a JSON object {"scores": [...]} that gives each of the %d responses, in order, %s.`, n, what)
}

// rubricText lists the criteria cs for a prompt.
func rubricText(cs []criterion) string {
	if len(cs) == 1 {
		return cs[0].description
	}
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "- %s (weight %.2g): %s", c.name, c.weight, c.description)
	}
	return b.String()
}

// responsesText lists a group's responses for a prompt.
func responsesText(samples []reward.Sample) string {
	var b strings.Builder
	for i, s := range samples {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "## Response %d\n%s", i+1, s.Completion)
	}
	return b.String()
}
