package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/retrain-rl/retrain/tool"
	// The built-in tools register themselves with tool.Default.
)

func init() {
	// Set here, not in the literals: the run functions refer to the
	// commands (for their flag sets), which would be an initialization cycle.
	toolsCommand.run = runTools
	toolCallCommand.run = runToolCall
	register(toolsCommand)
	register(toolCallCommand)
}

var toolsCommand = &command{
	name:    "tools",
	summary: "list the available tools with their descriptions and argument schemas",
	usage:   "[--json] [NAME...]",
}

var toolCallCommand = &command{
	name:    "tool call",
	summary: "call one tool with JSON arguments and print its output",
	usage:   "[--timeout D] [--json] NAME ['JSON' | -]",
}

// toolSource holds the flags that say where tools come from: the built-in
// registry, plus the MCP servers of --mcp CONFIG.
type toolSource struct {
	mcp *string
}

// addToolSourceFlags defines the tool-source flags on fs.
func addToolSourceFlags(fs *flag.FlagSet) *toolSource {
	return &toolSource{mcp: fs.String("mcp", "", "also offer the tools of the MCP servers in this mcpServers JSON `file`")}
}

// load collects the tools. The returned function releases what loading
// acquired (e.g. MCP sessions) and must be called when done.
func (ts *toolSource) load(ctx context.Context) (*tool.Set, func(), error) {
	providers := []tool.Provider{tool.FromRegistry(tool.Default)}
	release := func() {}
	if *ts.mcp != "" {
		p, err := loadMCP(*ts.mcp)
		if err != nil {
			return nil, nil, err
		}
		providers = append(providers, p)
		release = func() { p.Close() }
	}
	set, err := tool.Collect(ctx, providers...)
	if err != nil {
		release()
		return nil, nil, err
	}
	return set, release, nil
}

func runTools(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(toolsCommand, s.err)
	asJSON := fs.Bool("json", false, "print a JSON array of tool specs {name, description, parameters}")
	src := addToolSourceFlags(fs)
	names, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	set, release, err := src.load(ctx)
	if err != nil {
		return err
	}
	defer release()

	specs := set.Specs()
	if len(names) > 0 {
		specs = specs[:0]
		for _, n := range names {
			t, ok := set.Lookup(n)
			if !ok {
				return usageErrorf("unknown tool %q; available tools: %s", n, strings.Join(set.Names(), ", "))
			}
			specs = append(specs, t.Spec())
		}
	}
	if *asJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		return enc.Encode(specs)
	}
	if len(specs) == 0 {
		fmt.Fprintln(s.out, "no tools are available")
		return nil
	}
	for i, sp := range specs {
		if i > 0 {
			fmt.Fprintln(s.out)
		}
		fmt.Fprintln(s.out, sp.Name)
		if sp.Description != "" {
			fmt.Fprintf(s.out, "    %s\n", sp.Description)
		}
		var schema bytes.Buffer
		if err := json.Indent(&schema, sp.Parameters, "    ", "  "); err != nil || len(sp.Parameters) == 0 {
			schema.Reset()
			schema.WriteString("{}")
		}
		fmt.Fprintf(s.out, "    arguments: %s\n", schema.String())
	}
	return nil
}

func runToolCall(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(toolCallCommand, s.err)
	timeout := fs.Duration("timeout", tool.DefaultTimeout, "give up on the call after this long")
	asJSON := fs.Bool("json", false, "print the whole result {name, output, structured, success, error} as JSON")
	src := addToolSourceFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErrorf("missing the tool name; run \"retrain tools\" for the list")
	}
	if len(pos) > 2 {
		return usageErrorf("too many arguments: pass the tool name and one JSON object, quoted, e.g. calculator '{\"expression\": \"1+2\"}'")
	}
	if *timeout <= 0 {
		return usageErrorf("--timeout must be positive, got %v", *timeout)
	}
	name, raw := pos[0], "{}"
	if len(pos) == 2 {
		raw = pos[1]
	}
	if raw == "-" {
		b, err := io.ReadAll(s.in)
		if err != nil {
			return fmt.Errorf("reading the arguments from standard input: %w", err)
		}
		raw = string(b)
	}
	if strings.TrimSpace(raw) == "" {
		raw = "{}"
	}
	if !json.Valid([]byte(raw)) {
		return usageErrorf("the arguments are not valid JSON: %q; pass one JSON object, quoted, e.g. '{\"expression\": \"1+2\"}'", raw)
	}

	set, release, err := src.load(ctx)
	if err != nil {
		return err
	}
	defer release()
	t, ok := set.Lookup(name)
	if !ok {
		return fmt.Errorf("unknown tool %q; available tools: %s", name, strings.Join(set.Names(), ", "))
	}
	res, err := tool.Invoke(ctx, t, json.RawMessage(raw), &tool.CallOptions{Timeout: *timeout})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else if res.Success {
		fmt.Fprint(s.out, res.Output)
		if !strings.HasSuffix(res.Output, "\n") {
			fmt.Fprintln(s.out)
		}
	}
	if !res.Success {
		return errors.New(res.Error)
	}
	return nil
}
