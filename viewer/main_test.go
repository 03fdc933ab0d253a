package viewer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"
)

// The one headless Chromium the browser tests share, started by the first
// of them (so that other tests, and fuzzing workers, start none); each
// test opens its own tab in it.
var (
	browserOnce sync.Once
	browser     context.Context // nil when none is installed
	browserErr  error
	stopBrowser = func() {}
)

// chromiumPaths are the names Chromium is installed under (Debian's
// package installs /usr/bin/chromium).
var chromiumPaths = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// startBrowser starts headless Chromium with a fresh profile, when one is
// installed; stop ends it and removes the profile.
func startBrowser() (stop func(), err error) {
	var path string
	for _, name := range chromiumPaths {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		return func() {}, nil // the browser tests skip, saying how to install it
	}
	profile, err := os.MkdirTemp("", "viewer-chromium-")
	if err != nil {
		return nil, err
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	stop = func() {
		cancelBrowser()
		cancelAlloc()
		os.RemoveAll(profile)
	}
	// Starts the browser, which lives as long as bctx (a context derived
	// from it with a timeout would end the browser with the timeout).
	if err := chromedp.Do(bctx); err != nil {
		stop()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	browser = bctx
	return stop, nil
}

// tab opens a tab of the shared browser for t, closed when t ends; it
// skips t when no Chromium is installed.
func tab(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		var stop func()
		stop, browserErr = startBrowser()
		if browserErr == nil {
			stopBrowser = stop
		}
	})
	if browserErr != nil {
		t.Fatalf("starting Chromium: %v", browserErr)
	}
	if browser == nil {
		t.Skip("no Chromium: install Debian's chromium (apt-get install chromium), as scripts/test.sh does")
	}
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

// do runs steps in the tab, failing t on an error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// textOf returns the text of the first element matching the CSS selector
// sel, waiting for it to be visible.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page, for a value of type T.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// follow runs steps that navigate (a click, a submit) and waits for the
// new page's response.
func follow(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 {
		t.Fatalf("%s: status %d", resp.URL, resp.Status)
	}
}
