package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/retrain-rl/retrain/env"
	// The built-in environments register themselves.
)

func init() {
	envsCommand.run = runEnvs
	register(envsCommand)
}

var envsCommand = &command{
	name:    "envs",
	summary: "list the registered environments",
	usage:   "[--json]",
}

func runEnvs(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(envsCommand, s.err)
	asJSON := fs.Bool("json", false, "print a JSON array of {name, description}")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	infos := env.Describe()
	if *asJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	w := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	for _, i := range infos {
		fmt.Fprintf(w, "%s\t%s\n", i.Name, i.Description)
	}
	return w.Flush()
}
