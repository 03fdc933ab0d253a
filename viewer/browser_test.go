package viewer

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// Screenshots for the README: go test ./viewer -run Screenshots -screenshots $PWD/docs/images
// (with -screenshot-run and -screenshot-train, of real files).
var (
	screenshotDir   = flag.String("screenshots", "", "write a screenshot of each page to this `directory` (TestScreenshots)")
	screenshotRun   = flag.String("screenshot-run", "", "trajectory `file` for the screenshots (default: the test fixture)")
	screenshotTrain = flag.String("screenshot-train", "", "training log `file` for the screenshots (default: the test fixture)")
)

// The run page shows the file's counts; its filter form and its sortable
// headers, used as a reader would, narrow and order the table.
func TestBrowserRunPage(t *testing.T) {
	ctx := tab(t)
	base, _ := serve(t, []string{writeFixture(t, t.TempDir())}, &Options{PageSize: 8})
	do(t, ctx, chromedp.Navigate(base+"/f/0"))
	var got []string
	for _, sel := range []string{"#sum-episodes", "#sum-tasks", "#sum-failed", "#sum-drift", "#sum-success", "#matched"} {
		got = append(got, textOf(t, ctx, sel))
	}
	got = append(got, strconv.Itoa(eval[int](t, ctx, `document.querySelectorAll("#episodes tbody tr[data-index]").length`)))
	if diff := cmp.Diff([]string{"20", "5", "1", "1", "45.0%", "20", "8"}, got); diff != "" {
		t.Errorf("episodes, tasks, failed, drift, success, matched, rows on the page (-want +got):\n%s", diff)
	}

	// Filter: the failed episodes of tasks matching "t2", with the form.
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#filters select[name=failed]`), "yes"),
		chromedp.SendKeys(chromedp.CSS(`#filters input[name=task]`), "t2"))
	follow(t, ctx, chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)))
	matched := textOf(t, ctx, "#matched")
	cells := eval[[]string](t, ctx, `[...document.querySelectorAll("#episodes tbody tr[data-index] td")].map(td => td.textContent.trim())`)
	if matched != "1" || len(cells) < 7 || cells[1] != "t2" || cells[2] != "3" || !strings.HasPrefix(cells[6], "error model") {
		t.Errorf("filtered table: %s matched, cells %q", matched, cells)
	}

	// Sort by reward, descending: click the header twice; the filter stays.
	for range 2 {
		follow(t, ctx, chromedp.Click(chromedp.CSS(`#episodes th a[href*="sort=reward"]`)))
	}
	if loc := eval[string](t, ctx, `location.search`); !strings.Contains(loc, "failed=yes") || !strings.Contains(loc, "order=desc") {
		t.Errorf("after sorting, the query is %q", loc)
	}
	do(t, ctx, chromedp.Navigate(base+"/f/0?sort=reward&order=desc&per=50")) // every row, to check the order
	header := textOf(t, ctx, `#episodes th a[href*="sort=reward"]`)
	rewards := eval[[]string](t, ctx, `[...document.querySelectorAll("#episodes tbody td.reward")].map(td => td.textContent.trim())`)
	if len(rewards) != 20 || rewards[0] != "1.100" || rewards[18] != "0.100" || rewards[19] != "–" || !strings.HasSuffix(header, "▼") {
		t.Errorf("sorted by reward, descending: header %q, rewards %q", header, rewards)
	}
}

// The episode page shows the conversation with each completion token in
// a span holding its exact log-prob, coloured by probability, the tool
// call and its result, the rewards of each turn, and drift where it was.
func TestBrowserEpisodePage(t *testing.T) {
	ctx := tab(t)
	base, s := serve(t, []string{writeFixture(t, t.TempDir())}, nil)
	type token struct {
		Text, LP, Class, Title string
	}
	do(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/f/0/e/%d", base, rowOf(t, s, "t1#0"))))
	if id := textOf(t, ctx, "#episode-id"); id != "t1#0" {
		t.Errorf("episode %q", id)
	}
	tokens := eval[[]token](t, ctx, `[...document.querySelectorAll("#tokens-0 span.tok")].map(s => ({Text: s.textContent, LP: s.dataset.lp, Class: s.className, Title: s.title}))`)
	if len(tokens) != len(fixtureTokens.Text) {
		t.Fatalf("%d token spans, want %d: %+v", len(tokens), len(fixtureTokens.Text), tokens)
	}
	wantClass := []string{"tok h0", "tok h1", "tok h2", "tok h5", "tok h0", "tok h5"}
	for i, tk := range tokens {
		lp := strconv.FormatFloat(fixtureTokens.Logprobs[i], 'g', -1, 64)
		if tk.Text != fixtureTokens.Text[i] || tk.LP != lp || tk.Class != wantClass[i] || !strings.Contains(tk.Title, "log-prob "+lp) {
			t.Errorf("token %d: %+v, want text %q, log-prob %s, class %q", i, tk, fixtureTokens.Text[i], lp, wantClass[i])
		}
	}
	roles := eval[[]string](t, ctx, `[...document.querySelectorAll("#conversation > li > .role")].map(r => r.textContent.trim())`)
	if diff := cmp.Diff([]string{"system", "user", "assistant", "user", "assistant"}, roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	call, result, rewards := textOf(t, ctx, "#turn-0 .call"), textOf(t, ctx, "#turn-0 .result"), textOf(t, ctx, "#turn-1 .turn-rewards")
	if !strings.Contains(call, "calculator") || !strings.Contains(call, `"expression": "6*7"`) || !strings.Contains(result, "42") {
		t.Errorf("tool call %q, result %q", call, result)
	}
	if !strings.Contains(rewards, "turn reward 1.1") || !strings.Contains(rewards, "correct") {
		t.Errorf("turn 1 rewards %q", rewards)
	}

	// The drifted episode shows where.
	do(t, ctx, chromedp.Navigate(fmt.Sprintf("%s/f/0/e/%d", base, rowOf(t, s, "t3#1"))))
	drift := textOf(t, ctx, "#ep-drift")
	driftTurn := eval[string](t, ctx, `document.querySelector(".drift").closest(".turn").dataset.turn`)
	if drift != "yes" || driftTurn != "1" {
		t.Errorf("drift %q at turn %q, want yes at turn 1", drift, driftTurn)
	}
}

// The group page shows a task's samples side by side, with their rewards
// and advantages, and says when the group has no variance.
func TestBrowserGroupPage(t *testing.T) {
	ctx := tab(t)
	base, _ := serve(t, []string{writeFixture(t, t.TempDir())}, nil)
	do(t, ctx, chromedp.Navigate(base+"/f/0"))
	follow(t, ctx, chromedp.Click(chromedp.CSS(`#episodes tr[data-index="0"] a[href*="group"]`)))
	if zero := textOf(t, ctx, "#zero-variance"); !strings.Contains(zero, "zero variance") {
		t.Errorf("t0's group: %q", zero)
	}
	do(t, ctx, chromedp.Navigate(base+"/f/0/group?task=t1"))
	rewards := eval[[]string](t, ctx, `[...document.querySelectorAll("#samples .sample-reward")].map(e => e.textContent.trim())`)
	advantages := eval[[]string](t, ctx, `[...document.querySelectorAll("#samples .sample-advantage")].map(e => e.textContent.trim())`)
	zeroShown := eval[bool](t, ctx, `document.querySelector("#zero-variance") !== null`)
	if diff := cmp.Diff([]string{"1.100", "0.100", "1.100", "0.100"}, rewards); diff != "" {
		t.Errorf("t1's rewards (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0.500", "-0.500", "0.500", "-0.500"}, advantages); diff != "" || zeroShown {
		t.Errorf("t1's advantages (zero variance shown: %v) (-want +got):\n%s", zeroShown, diff)
	}
}

// The training page draws a point per step of each metric, at its value,
// and the evaluations as a second series of the accuracy chart.
func TestBrowserTrainPage(t *testing.T) {
	ctx := tab(t)
	base, _ := serve(t, []string{writeFixture(t, t.TempDir()), fixtureTrainLog(t, t.TempDir())}, nil)
	type dot struct{ Series, Step, Value string }
	do(t, ctx, chromedp.Navigate(base+"/"))
	follow(t, ctx, chromedp.Click(chromedp.CSS(`#files a[href="/f/1"]`)))
	if steps := textOf(t, ctx, "#train-steps"); steps != "12" {
		t.Errorf("%s steps, want 12", steps)
	}
	charts := eval[[]string](t, ctx, `[...document.querySelectorAll("#charts figure")].map(f => f.id)`)
	for _, id := range []string{"chart-reward", "chart-accuracy", "chart-kl", "chart-clip", "chart-parse"} {
		if !strings.Contains(strings.Join(charts, " "), id) {
			t.Errorf("no chart %s among %q", id, charts)
		}
	}
	dots := func(chart string) []dot {
		return eval[[]dot](t, ctx, `[...document.querySelectorAll("#`+chart+` circle")].map(c => ({Series: c.dataset.series, Step: c.dataset.step, Value: c.dataset.value}))`)
	}
	reward, accuracy := dots("chart-reward"), dots("chart-accuracy")
	if len(reward) != 12 || reward[0] != (dot{"reward", "1", "0.53"}) || reward[11] != (dot{"reward", "12", "0.86"}) {
		t.Errorf("reward points %+v", reward)
	}
	var evals []dot
	for _, d := range accuracy {
		if d.Series == "eval held_out" {
			evals = append(evals, d)
		}
	}
	if len(accuracy) != 12+3 || len(evals) != 3 || evals[0] != (dot{"eval held_out", "0", "0.5"}) || evals[2] != (dot{"eval held_out", "10", "0.7"}) {
		t.Errorf("accuracy points %+v", accuracy)
	}
}

// TestScreenshots writes a screenshot of each page for the README, when
// -screenshots names a directory.
func TestScreenshots(t *testing.T) {
	if *screenshotDir == "" {
		t.Skip("run with -screenshots DIR to write screenshots of the pages")
	}
	ctx := tab(t)
	run, train := *screenshotRun, *screenshotTrain
	if run == "" {
		run = writeFixture(t, t.TempDir())
	}
	if train == "" {
		train = fixtureTrainLog(t, t.TempDir())
	}
	base, s := serve(t, []string{run, train}, &Options{PageSize: 14})
	ix := s.files[0].ix
	episode, least := 0, 0.0 // the one with the least likely token
	for i := range ix.rows {
		tr, err := readEpisode(s.files[0], &ix.rows[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, turn := range tr.Turns {
			if tk := turn.Action.Tokens; tk != nil && len(tr.Turns) > 1 {
				for _, lp := range tk.Logprobs {
					if lp < least {
						episode, least = i, lp
					}
				}
			}
		}
	}
	group := ix.rows[episode].Task
	for name, path := range map[string]string{
		"view-run.png":     "/f/0",
		"view-episode.png": fmt.Sprintf("/f/0/e/%d", episode),
		"view-group.png":   "/f/0/group?task=" + group,
		"view-train.png":   "/f/1",
	} {
		height := int64(900)
		if name == "view-episode.png" {
			height = 1250
		}
		do(t, ctx, chromedp.EmulateViewport(1280, height), chromedp.Navigate(base+path))
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*screenshotDir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
