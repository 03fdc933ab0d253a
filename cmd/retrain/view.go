package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/retrain-rl/retrain/internal/httpserve"
	"github.com/retrain-rl/retrain/viewer"
)

func init() {
	viewCommand.run = runView
	register(viewCommand)
}

var viewCommand = &command{
	name:    "view",
	summary: "look at rollouts and training runs in a browser: episodes, tokens by log-prob, groups, training charts",
	usage: "[--addr HOST:PORT] [--open] [--pass-reward NAME] [--pass-threshold X] FILE...\n\n" +
		"Serves a local web page for each FILE: a trajectory file (retrain rollout's output) gets its summary\n" +
		"(success rate, pass@k, failures, stop reasons, tokens, drift) and a table of its episodes to sort,\n" +
		"filter and page; each episode turn by turn with its completion tokens coloured by log-prob; each\n" +
		"task's group side by side. A training log (retrain train's train.jsonl) gets charts of reward,\n" +
		"accuracy, KL, clip fraction and parse rate per step. What a file holds is told from its content.\n" +
		"Files are indexed once; pages read only the lines they show. Everything is served from the binary\n" +
		"(no CDN, no script). The listener flags work as for \"retrain serve\" (see docs/security.md);\n" +
		"with a --token the printed URL carries it.\n\n" +
		"Examples:\n" +
		"  retrain view rollouts.jsonl                  # prints http://127.0.0.1:PORT/\n" +
		"  retrain view --open rollouts.jsonl runs/train.jsonl",
}

func runView(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(viewCommand, s.err)
	addr := fs.String("addr", "127.0.0.1:0", "listen `address` (host:port; port 0 picks a free one)")
	open := fs.Bool("open", false, "open the page in the default browser, where there is one")
	pass := fs.String("pass-reward", "", "the reward component `name` whose score decides a pass (\"total\" for the total reward; default: the first rollout-level component)")
	threshold := fs.Float64("pass-threshold", 1, "an episode passes when its --pass-reward score is at least this")
	pageSize := fs.Int("page-size", viewer.DefaultPageSize, "episodes on a page of the table")
	front := addFrontFlags(fs, "RETRAIN_VIEW_TOKEN")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErrorf("name the files to view: retrain view rollouts.jsonl [train.jsonl ...]")
	}
	if *pageSize < 1 || *pageSize > viewer.MaxPageSize {
		return usageErrorf("--page-size is %d; it must be from 1 to %d", *pageSize, viewer.MaxPageSize)
	}
	if err := front.check(); err != nil {
		return err
	}
	start := time.Now()
	v, err := viewer.Open(ctx, files, &viewer.Options{Pass: *pass, Threshold: threshold, PageSize: *pageSize, Token: *front.token})
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, viewer.ErrUnknownFormat) {
			return usageErrorf("%v", err)
		}
		return err
	}
	defer v.Close()
	for _, f := range v.Files() {
		if f.Kind == viewer.KindTrajectories {
			fmt.Fprintf(s.err, "%s: %d episodes\n", f.Path, f.Episodes)
		} else {
			fmt.Fprintf(s.err, "%s: %s\n", f.Path, f.Kind)
		}
	}
	ln, err := front.listen(*addr)
	if err != nil {
		return err
	}
	u := "http://" + ln.Addr().String() + "/"
	if *front.token != "" {
		u += "?token=" + url.QueryEscape(*front.token)
	}
	fmt.Fprintf(s.err, "indexed in %s\n", time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(s.out, "%s\n", u)
	fmt.Fprintf(s.err, "serving at %s — Ctrl-C stops it\n", u)
	if *open {
		if err := openBrowser(u); err != nil {
			fmt.Fprintf(s.err, "no browser opened (%v): open %s yourself\n", err, u)
		}
	}
	so := front.serveOptions()
	so.Grace = 2 * time.Second
	return httpserve.Serve(ctx, ln, front.handler(v.Handler(), nil), so)
}

// openBrowser starts the default browser on u: $BROWSER when set (a
// program, or several separated by ':' as in Python's webbrowser), else the
// system's opener. It does not wait for the browser.
func openBrowser(u string) error {
	var candidates [][]string
	if b := os.Getenv("BROWSER"); b != "" {
		for _, p := range strings.Split(b, ":") {
			if p = strings.TrimSpace(p); p != "" {
				candidates = append(candidates, []string{p, u})
			}
		}
	}
	switch runtime.GOOS {
	case "darwin":
		candidates = append(candidates, []string{"open", u})
	case "windows":
		candidates = append(candidates, []string{"rundll32", "url.dll,FileProtocolHandler", u})
	default:
		candidates = append(candidates, []string{"xdg-open", u})
	}
	for _, c := range candidates {
		path, err := exec.LookPath(c[0])
		if err != nil {
			continue
		}
		cmd := exec.Command(path, c[1:]...)
		if err := cmd.Start(); err != nil {
			continue
		}
		go cmd.Wait() // reap it; a browser may outlive the server
		return nil
	}
	return errors.New("no $BROWSER and no system opener found")
}
