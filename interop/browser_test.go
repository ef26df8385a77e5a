package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// browserPage runs the peer script with the browser's own WebSocket. A page
// cannot send pings or choose fragments, so it obeys only "close" and
// "zeros". Reports are posted back in order.
var browserPage = reportingPage("duplex interop", `function start(url, id, protocols) {
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
`)

// startBrowser launches headless Chromium (see startChromium) on the test
// page of s.
func startBrowser(t testing.TB, s *duplexServer, pki *testPKI) context.Context {
	t.Helper()
	ctx := startChromium(t, pki)
	navigate(t, ctx, s.plain.URL+"/")
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
