package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// step bounds one browser action or wait; generous, because the machine is shared.
const step = 30 * time.Second

// chromiumPath finds the browser, or skips (fails under DUPLEX_REQUIRE_PEERS=1) naming the install step.
func chromiumPath(t testing.TB) string {
	t.Helper()
	names := []string{"chromium", "chromium-browser", "/usr/bin/chromium"}
	if p := os.Getenv("CHROMIUM"); p != "" {
		names = []string{p}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found: run `make deps` (or `apt-get install chromium`) to run the browser tests"
	if os.Getenv("DUPLEX_REQUIRE_PEERS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser is the one headless Chromium the tests share: starting one takes a second or two, and every
// page opens in a browser context of its own (see openPage), so tests share no cookies, storage or cache.
var browser struct {
	once sync.Once
	ctx  context.Context
	stop func()
	err  error
	dir  string // its profile, removed by TestMain
}

// newBrowser returns a context holding the shared headless Chromium, started with a fresh profile on
// first use and ended by TestMain.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	path := chromiumPath(t)
	browser.once.Do(func() {
		browser.dir, browser.err = os.MkdirTemp("", "duplex-e2e-chromium-")
		if browser.err != nil {
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Headless,
			// Chromium runs as root here, which its sandbox refuses.
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(browser.dir),
			chromedp.WindowSize(1100, 720),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, cancelBrowser := chromedp.NewContext(actx)
		browser.ctx = bctx
		browser.stop = func() {
			cancelBrowser()
			cancelAlloc()
		}
		// The first Run starts the browser; it must not carry a timeout, which would end the browser with it.
		browser.err = chromedp.Do(bctx)
	})
	require.NoError(t, browser.err, "start chromium")
	return browser.ctx
}

// stopBrowser ends the shared browser, if one was started, and removes its profile.
func stopBrowser() {
	if browser.stop != nil {
		browser.stop()
	}
	if browser.dir != "" {
		_ = os.RemoveAll(browser.dir)
	}
}

// page is one tab in a browser context of its own, so two pages are two users with separate state.
type page struct {
	t      testing.TB
	ctx    context.Context
	cancel context.CancelFunc
}

func openPage(t testing.TB, browser context.Context, url string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &page{t: t, ctx: ctx, cancel: cancel}
	// The first Run creates the tab, which lives as long as the context of that call: no timeout here either.
	require.NoError(t, chromedp.Do(ctx), "open a tab")
	p.do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("nick")))
	return p
}

// do runs actions within one step's time.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, actions...))
}

// waitFor polls a JavaScript expression until it is truthy.
func (p *page) waitFor(expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(step), chromedp.WithPollingInterval(50*time.Millisecond)))
	require.NoError(p.t, err, "waiting for %s", expr)
}

// eval evaluates expr and decodes its JSON value into out.
func (p *page) eval(expr string, out any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(`+expr+`)`))
	require.NoError(p.t, err, "evaluating %s", expr)
	require.NoError(p.t, json.Unmarshal([]byte(raw), out))
}
