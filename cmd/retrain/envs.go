package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/retrain-rl/retrain/config"
	"github.com/retrain-rl/retrain/env"
	"github.com/retrain-rl/retrain/reward"
	// The built-in environments register themselves.
)

func init() {
	envsCommand.run = runEnvs
	register(envsCommand)
}

var envsCommand = &command{
	name:    "envs",
	summary: "list the registered environments, or describe one's config keys",
	usage:   "[--json] [NAME]",
}

func runEnvs(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(envsCommand, s.err)
	asJSON := fs.Bool("json", false, "print a JSON array of {name, description, keys, rewards} (with NAME: that one object)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErrorf("unexpected argument %q; envs takes at most one environment name", pos[1])
	}
	infos := env.Describe()
	if len(pos) == 1 {
		info, err := findEnv(infos, pos[0])
		if err != nil {
			return err
		}
		if *asJSON {
			return writeIndented(s.out, info)
		}
		return printEnvKeys(s.out, info)
	}
	if *asJSON {
		return writeIndented(s.out, infos)
	}
	w := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	for _, i := range infos {
		desc := i.Description
		if len(i.Keys) > 0 {
			desc += " (config: " + strings.Join(keyNames(i.Keys), ", ") + ")"
		}
		fmt.Fprintf(w, "%s\t%s\n", i.Name, desc)
	}
	return w.Flush()
}

func findEnv(infos []env.Info, name string) (env.Info, error) {
	var names []string
	for _, i := range infos {
		if i.Name == name {
			return i, nil
		}
		names = append(names, i.Name)
	}
	return env.Info{}, usageErrorf("%v %q; known: %s", env.ErrUnknown, name, strings.Join(names, ", "))
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func keyNames(keys []config.Key) []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	return names
}

// printEnvKeys writes an environment's description and, for each config
// key (nested ones indented under theirs), its type, who may set it, its
// default and its doc.
func printEnvKeys(w io.Writer, info env.Info) error {
	fmt.Fprintf(w, "%s: %s\n", info.Name, info.Description)
	if err := printEnvRewards(w, info.Rewards); err != nil {
		return err
	}
	if len(info.Keys) == 0 {
		_, err := fmt.Fprintln(w, "\nno config keys are described (it registered without a typed config)")
		return err
	}
	fmt.Fprintf(w, "\nconfig keys (--env-config '{\"key\": value}'; client: a network client of retrain serve may set it, operator: only whoever runs retrain):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var write func(keys []config.Key, indent string)
	write = func(keys []config.Key, indent string) {
		for _, k := range keys {
			doc := k.Doc
			if k.Default != nil {
				doc = strings.TrimSpace(doc + "; default " + string(k.Default))
				doc = strings.TrimPrefix(doc, "; ")
			}
			fmt.Fprintf(tw, "  %s%s\t%s\t%s\t%s\n", indent, k.Name, k.Access, k.Type, doc)
			write(k.Keys, indent+"  ")
		}
	}
	write(info.Keys, "")
	return tw.Flush()
}

// printEnvRewards writes an environment's default rewards, one component a
// line; nothing when it brings none.
func printEnvRewards(w io.Writer, cfg *reward.Config) error {
	if cfg == nil {
		return nil
	}
	fmt.Fprintf(w, "\ndefault rewards (scored when a run gives no --rewards; --rewards FILE replaces them):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range []struct {
		level string
		comps []reward.Component
	}{{"rollout", cfg.Rollout}, {"step", cfg.Step}} {
		for _, c := range l.comps {
			weight := 1.0
			if c.Weight != nil {
				weight = *c.Weight
			}
			extra := ""
			if len(c.Verifiers) > 0 {
				extra = fmt.Sprintf("verifiers %s (penalty %g)", strings.Join(c.Verifiers, ", "), c.Penalty)
			}
			if len(c.Params) > 0 {
				b, _ := json.Marshal(c.Params)
				extra = strings.TrimSpace(extra + " params " + string(b))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\tweight %g\t%s\n", cmp.Or(c.Name, c.Reward), l.level, cmp.Or(c.Reward, c.Name), weight, extra)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var more []string
	if cfg.Distribution != "" {
		more = append(more, "distribution "+string(cfg.Distribution))
	}
	if cfg.Advantage != "" {
		more = append(more, "advantage "+string(cfg.Advantage))
	}
	if cfg.EnvWeight != nil {
		more = append(more, fmt.Sprintf("env_weight %g", *cfg.EnvWeight))
	}
	if len(more) > 0 {
		_, err := fmt.Fprintf(w, "  %s\n", strings.Join(more, ", "))
		return err
	}
	return nil
}
