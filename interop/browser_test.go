package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// browserPage runs the peer script with the browser's own WebSocket. A page
// cannot send pings or choose fragments, so it obeys only "close" and
// "zeros". Reports are posted back in order.
const browserPage = `<!doctype html>
<meta charset="utf-8">
<title>duplex interop</title>
<script>
let reports = Promise.resolve();
function report(ev) {
  reports = reports.then(() => fetch('/event', {method: 'POST', body: JSON.stringify(ev)}));
}
function start(url, id, protocols) {
  const ws = new WebSocket(url, protocols);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => report({id, event: 'open', protocol: ws.protocol, extensions: ws.extensions});
  ws.onmessage = (e) => {
    if (typeof e.data === 'string' && e.data.startsWith('!')) {
      const cmd = JSON.parse(e.data.slice(1));
      if (cmd.cmd === 'close') {
        ws.close(cmd.code, cmd.reason);
      } else if (cmd.cmd === 'zeros') {
        ws.send(new Uint8Array(cmd.size));
      } else {
        report({id, event: 'error', message: 'unsupported command ' + cmd.cmd});
      }
      return;
    }
    ws.send(e.data);
  };
  ws.onerror = () => report({id, event: 'error', message: 'WebSocket error event'});
  ws.onclose = (e) => report({id, event: 'close', code: e.code, reason: e.reason});
}
</script>
`

// chromiumPath finds Debian's chromium.
func chromiumPath() (string, error) { return exec.LookPath("chromium") }

// startBrowser launches headless Chromium on the test page of s. It trusts
// the test certificate by its public key hash only, so any other
// certificate error still fails.
func startBrowser(t testing.TB, s *duplexServer, pki *testPKI) context.Context {
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
	runCtx, cancelRun := context.WithTimeout(ctx, waitTimeout)
	defer cancelRun()
	if err := chromedp.Do(runCtx, chromedp.Navigate(s.plain.URL+"/")); err != nil {
		t.Fatalf("open the test page in chromium: %v", err)
	}
	return ctx
}

// browserClient returns the function that opens a connection from the page.
func browserClient(t testing.TB, ctx context.Context) peerClient {
	return func(url, id string, _ deflateMode) {
		t.Helper()
		args, err := json.Marshal([]any{url, id, clientProtocols})
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		js := fmt.Sprintf("start(...%s)", args)
		runCtx, cancel := context.WithTimeout(ctx, waitTimeout)
		defer cancel()
		if _, err := chromedp.Run(runCtx, chromedp.Evaluate[chromedp.Void](js)); err != nil {
			t.Fatalf("start a WebSocket in chromium: %v", err)
		}
	}
}
