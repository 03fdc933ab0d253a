package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable writes r for people to read: one line per statistic, then a
// table of the reward components.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	episodes := fmt.Sprintf("%d (%d %s", r.Episodes, r.Tasks, plural(r.Tasks, "task"))
	if r.Failed > 0 {
		episodes += fmt.Sprintf(", %d failed: %s", r.Failed, FormatCounts(r.Failures))
	}
	fmt.Fprintf(tw, "episodes\t%s)\n", episodes)
	if p := r.Pass; p != nil {
		fmt.Fprintf(tw, "success rate\t%s (%d of %d pass: %s >= %g)\n", percent(p.SuccessRate), p.Passed, r.Episodes, p.Reward, p.Threshold)
		if len(p.AtK) > 0 {
			parts := make([]string, len(p.AtK))
			for i, v := range p.AtK {
				parts[i] = fmt.Sprintf("pass@%d %.4f", v.K, v.Value)
			}
			fmt.Fprintf(tw, "pass@k\t%s\n", strings.Join(parts, "  "))
		}
	}
	fmt.Fprintf(tw, "mean turns\t%.3g\n", r.MeanTurns)
	fmt.Fprintf(tw, "tool calls\t%d, %d failed (%s)\n", r.ToolCalls, r.ToolErrors, percent(r.ToolErrorRate))
	fmt.Fprintf(tw, "parse errors\t%d of %d turns (%s)\n", r.ParseErrors, r.Turns, percent(r.ParseErrorRate))
	if len(r.StopReasons) > 0 {
		fmt.Fprintf(tw, "stop reasons\t%s\n", FormatCounts(r.StopReasons))
	}
	fmt.Fprintf(tw, "tokens\t%d prompt, %d completion\n", r.PromptTokens, r.CompletionTokens)
	if r.RewardErrors > 0 {
		fmt.Fprintf(tw, "reward errors\t%d (see rewards.errors in the trajectories)\n", r.RewardErrors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Total == nil {
		_, err := fmt.Fprintln(w, "no scored episodes")
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "reward\tlevel\t%8s\t%8s\t%8s\t%8s\t%6s\n", "mean", "std", "min", "max", "n")
	row := func(name, level string, s Stats) {
		fmt.Fprintf(tw, "%s\t%s\t%8.4f\t%8.4f\t%8.4f\t%8.4f\t%6d\n", name, level, s.Mean, s.Std, s.Min, s.Max, s.N)
	}
	row(TotalName, "", *r.Total)
	for _, c := range r.Rewards {
		level := string(c.Level)
		if c.Level == LevelStep {
			level = "step (sum)"
		}
		row(c.Name, level, c.Stats)
	}
	return tw.Flush()
}

// plural returns word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// percent formats a fraction as a percentage.
func percent(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// FormatCounts lists counts as "name n", largest first, then by name,
// comma-separated: "terminated 7, max_turns 2". An empty name is written
// "(none)".
func FormatCounts[K ~string](m map[K]int) string {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := string(k)
		if name == "" {
			name = "(none)"
		}
		parts[i] = fmt.Sprintf("%s %d", name, m[k])
	}
	return strings.Join(parts, ", ")
}
