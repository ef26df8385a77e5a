package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// page opens a WebSocket to the recording listener and sends messages
// that cover every length form, text with multi-byte characters, binary,
// an empty message and a close with a reason.
const page = `<!doctype html><meta charset="utf-8"><title>capture</title><script>
const ws = new WebSocket("ws://127.0.0.1:%d/chat", ["chat", "superchat"]);
ws.binaryType = "arraybuffer";
ws.onopen = () => {
	ws.send("Hello");
	ws.send("κόσμε ✓ 𝄞 done");
	ws.send(new Uint8Array([0, 1, 2, 3, 255]));
	ws.send("x".repeat(200));
	ws.send(new Uint8Array(70000));
	ws.send("");
	ws.close(1000, "bye");
};
</script>`

// captureChromium runs a headless Chromium against the recording listener
// and returns what it sent; deflate agrees on permessage-deflate.
func captureChromium(ctx context.Context, bin string, deflate bool) (session, error) {
	ws, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return session{}, err
	}
	defer ws.Close()
	web, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return session{}, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, page, ws.Addr().(*net.TCPAddr).Port)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(web) }()
	defer srv.Close()

	profile, err := os.MkdirTemp("", "capture-chromium-")
	if err != nil {
		return session{}, err
	}
	defer os.RemoveAll(profile)
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "http://"+web.Addr().String()+"/")
	if err := cmd.Start(); err != nil {
		return session{}, err
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()

	done := make(chan struct{})
	var s session
	go func() {
		defer close(done)
		s, err = serveRaw(ctx, ws, deflate)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		ws.Close()
		<-done
	}
	return s, err
}
