package interop_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium.
func chromiumPath() (string, error) { return exec.LookPath("chromium") }

// startChromium launches headless Chromium with a fresh profile, or skips
// the test (fails it under DUPLEX_REQUIRE_PEERS=1) when there is none. It
// trusts the test certificate by its public key hash only, so any other
// certificate error still fails. The browser ends with the test.
func startChromium(t testing.TB, pki *testPKI) context.Context {
	t.Helper()
	path, err := chromiumPath()
	requirePeer(t, "chromium", err)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", pki.spkiHash),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser and ties it to ctx, not to the
	// timeouts of later steps.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// navigate loads url in the browser of ctx within waitTimeout.
func navigate(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	runCtx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(runCtx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s in chromium: %v", url, err)
	}
}

// reportingPage returns an HTML page titled title that runs script, in
// which report(ev) posts ev as JSON to /event; reports arrive in the order
// they were made.
func reportingPage(title, script string) string {
	return `<!doctype html>
<meta charset="utf-8">
<title>` + title + `</title>
<script>
let reports = Promise.resolve();
function report(ev) {
  reports = reports.then(() => fetch('/event', {method: 'POST', body: JSON.stringify(ev)}));
}
` + script + `</script>
`
}
