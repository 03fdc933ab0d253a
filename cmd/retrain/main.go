// Command retrain runs environments, tools and rollouts for RL training of
// language models. Run "retrain help" for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
)

// command is one subcommand. Each lives in its own file and registers itself
// in init with register.
type command struct {
	// name is the word after "retrain" (may contain a space, e.g. "tool call").
	name string
	// summary is the one-line description shown by "retrain help".
	summary string
	// usage is the argument synopsis shown by --help, e.g. "[flags] NAME 'JSON'".
	usage string
	// run executes the command. args are the arguments after the name.
	run func(ctx context.Context, args []string, stdio stdio) error
}

// stdio carries the streams a command reads and writes, so tests can run
// commands in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("retrain: duplicate command " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error caused by bad arguments; main exits 2 for it.
var errUsage = errors.New("usage error")

// usageErrorf returns an error that wraps errUsage.
func usageErrorf(format string, args ...any) error {
	msg := strings.TrimPrefix(fmt.Sprintf(format, args...), errUsage.Error()+": ") // wrapped once only
	return fmt.Errorf("%w: %s", errUsage, msg)
}

// newFlagSet returns a flag set for c whose --help prints the command's
// usage and flags to w.
func newFlagSet(c *command, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("retrain "+c.name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: retrain %s %s\n\n%s\n", c.name, c.usage, c.summary)
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseOnlyFlags parses args with fs like parseFlags, for a command that
// takes no positional arguments: one is a usage error.
func parseOnlyFlags(fs *flag.FlagSet, args []string) error {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q; %s takes only flags", pos[0], strings.TrimPrefix(fs.Name(), "retrain "))
	}
	return nil
}

// parseFlags parses args with fs, allowing flags after positional arguments.
// It returns the positional arguments. --help prints the usage and yields
// flag.ErrHelp; a bad flag yields a one-line usage error (the full usage is
// one --help away, not repeated under every typo).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		out := fs.Output()
		fs.SetOutput(io.Discard)
		err := fs.Parse(args)
		fs.SetOutput(out)
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return nil, err
		}
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// lookup finds the command named by the leading words of args, longest
// name first ("tool call" before "tool").
func lookup(args []string) (*command, []string) {
	for n := min(len(args), 2); n >= 1; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c, args[n:]
		}
	}
	return nil, args
}

// groupCommands returns the names of the commands whose first word is
// group ("tool call", "tool list" for "tool"), sorted; none when group is
// not the first word of a command of several words.
func groupCommands(group string) []string {
	var names []string
	for n := range commands {
		if first, _, ok := strings.Cut(n, " "); ok && first == group {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// printGroupHelp lists the subcommands of a group.
func printGroupHelp(w io.Writer, group string, names []string) {
	fmt.Fprintf(w, "Usage: retrain %s SUBCOMMAND [flags] [args]\n\nSubcommands:\n", group)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun \"retrain %s SUBCOMMAND --help\" for a subcommand's flags.\n", group)
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "retrain: environments, tools, rewards and rollouts for RL training of language models.")
	fmt.Fprintln(w, "\nUsage: retrain COMMAND [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun \"retrain COMMAND --help\" for a command's flags.")
}

// run is main without the exit, for tests. It returns the exit code.
func run(ctx context.Context, args []string, s stdio) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, _ := lookup(args[1:]); c != nil {
				return run(ctx, append(strings.Fields(c.name), "--help"), s)
			}
			if names := groupCommands(args[1]); len(names) > 0 {
				printGroupHelp(s.out, args[1], names)
				return 0
			}
		}
		printHelp(s.out)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, rest := lookup(args)
	if c == nil {
		if names := groupCommands(args[0]); len(names) > 0 {
			switch {
			case len(args) > 1 && isHelp(args[1]):
				printGroupHelp(s.out, args[0], names)
				return 0
			case len(args) > 1:
				fmt.Fprintf(s.err, "retrain: unknown command \"%s %s\"\n\n", args[0], args[1])
			}
			printGroupHelp(s.err, args[0], names)
			return 2
		}
		fmt.Fprintf(s.err, "retrain: unknown command %q; run \"retrain help\" for the list\n", args[0])
		return 2
	}
	err := c.run(ctx, rest, s)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(s.err, "retrain %s: %v\nRun \"retrain %s --help\" for usage.\n", c.name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "), c.name)
		return 2
	default:
		fmt.Fprintf(s.err, "retrain %s: %v\n", c.name, err)
		return 1
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	stopProfile := startCPUProfile(os.Getenv("RETRAIN_CPUPROFILE"), os.Args[1:])
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stopProfile()
	stop()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of this process to
// PREFIX-COMMAND-PID.pprof when prefix ($RETRAIN_CPUPROFILE) is set, so that
// the child processes of a benchmark (a coordinator, its workers) can be
// profiled (docs/benchmarks.md). It returns the function that ends it.
func startCPUProfile(prefix string, args []string) (stop func()) {
	if prefix == "" {
		return func() {}
	}
	name := "retrain"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name = args[0]
	}
	path := fmt.Sprintf("%s-%s-%d.pprof", prefix, name, os.Getpid())
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "retrain: RETRAIN_CPUPROFILE: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "retrain: RETRAIN_CPUPROFILE: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
