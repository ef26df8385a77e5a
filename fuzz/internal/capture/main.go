// Command capture records real WebSocket traffic and writes it as seed
// corpus files for the fuzz targets of package duplex/fuzz, in the
// "go test fuzz v1" format that plain `go test ./fuzz` replays.
//
// It records two sources:
//
//   - Chromium (with -chromium PATH): a headless browser loads a page whose
//     script opens a WebSocket to a raw TCP listener, which answers the
//     handshake by hand and records the request and every byte of the
//     client's frames;
//   - duplex itself: a client and a server made with package conn talk over
//     loopback TCP while both directions are recorded.
//
// Run it from the repository root:
//
//	go run ./fuzz/internal/capture -chromium /usr/bin/chromium
//
// It only listens on 127.0.0.1.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"duplex/frame"
	"duplex/handshake"
)

func main() {
	chromium := flag.String("chromium", "", "path of a Chromium binary; empty skips the browser capture")
	out := flag.String("out", "fuzz/testdata/fuzz", "corpus directory (one subdirectory per target)")
	flag.Parse()
	log.SetFlags(0)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := &corpus{dir: *out}
	if *chromium != "" {
		s, err := captureChromium(ctx, *chromium, false)
		if err != nil {
			log.Fatalf("capture: chromium: %v", err)
		}
		w.session("chromium", s)
		// The same session with permessage-deflate agreed: Chromium then
		// compresses its messages (RFC 7692).
		if s, err = captureChromium(ctx, *chromium, true); err != nil {
			log.Fatalf("capture: chromium, compressed: %v", err)
		}
		w.write("FuzzReadCompressed", "chromium-deflate-client-frames", smallFrames(s.clientTx), false, uint16(4096))
		w.write("FuzzServerConn", "chromium-deflate-client-frames", smallFrames(s.clientTx))
		w.write("FuzzReadResponse", "chromium-deflate-response", acceptPlaceholder(s.response), uint16(0), uint8(0))
	}
	s, err := captureDuplex(ctx)
	if err != nil {
		log.Fatalf("capture: duplex: %v", err)
	}
	w.session("duplex", s)
	if w.err != nil {
		log.Fatalf("capture: %v", w.err)
	}
	log.Printf("capture: wrote %d seed files under %s", w.n, *out)
}

// session is one recorded connection: the bytes each side sent.
type session struct {
	request  []byte // the client's handshake request head
	clientTx []byte // the client's frames, masked
	response []byte // the server's handshake response head
	serverTx []byte // the server's frames
}

// corpus writes seed files.
type corpus struct {
	dir string
	n   int
	err error
}

// write stores one seed for target; args are the target's arguments.
func (c *corpus) write(target, name string, args ...any) {
	if c.err != nil {
		return
	}
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		case bool:
			fmt.Fprintf(&b, "bool(%t)\n", v)
		case uint8:
			fmt.Fprintf(&b, "byte(%d)\n", v)
		case uint16:
			fmt.Fprintf(&b, "uint16(%d)\n", v)
		case uint32:
			fmt.Fprintf(&b, "uint32(%d)\n", v)
		default:
			c.err = fmt.Errorf("seed %s/%s: unsupported argument %T", target, name, a)
			return
		}
	}
	dir := filepath.Join(c.dir, target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.err = err
		return
	}
	c.err = os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
	c.n++
}

// maxSeedFrame keeps large frames out of stream seeds: the fuzzer mutates
// small inputs faster, and their headers are seeded on their own.
const maxSeedFrame = 4096

// session writes the seeds one recorded session gives every target.
func (c *corpus) session(src string, s session) {
	c.write("FuzzReadRequest", src+"-request", s.request, uint16(0), uint8(0))
	c.write("FuzzReadRequest", src+"-request-and-frames", append(bytes.Clone(s.request), firstFrames(s.clientTx, 2)...), uint16(0), uint8(0))
	c.write("FuzzReadResponse", src+"-response", acceptPlaceholder(s.response), uint16(0), uint8(0))
	if req, err := handshake.ReadRequest(bufio.NewReader(bytes.NewReader(s.request)), handshake.Limits{}); err == nil {
		if v := req.Header.Values("Sec-WebSocket-Extensions"); len(v) > 0 {
			c.write("FuzzParseExtensions", src+"-offer", strings.Join(v, "\n"))
		}
	}
	client := smallFrames(s.clientTx)
	server := smallFrames(s.serverTx)
	c.write("FuzzServerConn", src+"-client-frames", client)
	c.write("FuzzReadFrames", src+"-client-frames", client, false, uint16(1))
	c.write("FuzzReadFrames", src+"-server-frames", server, true, uint16(1))
	for i, f := range frames(s.clientTx) {
		name := fmt.Sprintf("%s-client-%02d", src, i)
		c.write("FuzzParseHeader", name, f.raw[:f.h.Size()], uint8(0))
		payload := bytes.Clone(f.payload)
		if len(payload) > maxSeedFrame {
			continue
		}
		c.write("FuzzMask", name, payload, leUint32(f.h.MaskKey), uint8(0), []byte{byte(len(payload) / 3)})
		frame.Mask(f.h.MaskKey, 0, payload)
		switch f.h.Opcode {
		case frame.OpText:
			c.write("FuzzUTF8Validator", name, payload, []byte{byte(len(payload) / 2)})
		case frame.OpClose:
			c.write("FuzzParseClosePayload", name, payload)
		}
	}
}

// acceptPlaceholder replaces the Sec-WebSocket-Accept value of a response
// head with the placeholder FuzzReadResponse fills in with the right value
// for the key its client sends, so that the seed reaches the success path.
func acceptPlaceholder(resp []byte) []byte {
	lines := strings.Split(string(resp), "\r\n")
	for i, l := range lines {
		if name, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(name, "Sec-WebSocket-Accept") {
			lines[i] = name + ": {{accept}}"
		}
	}
	return []byte(strings.Join(lines, "\r\n"))
}

func leUint32(k [4]byte) uint32 {
	return uint32(k[0]) | uint32(k[1])<<8 | uint32(k[2])<<16 | uint32(k[3])<<24
}

type rawFrame struct {
	h       frame.Header
	raw     []byte // header and payload as sent
	payload []byte // as sent (masked, if it was)
}

// frames splits a recorded stream into frames.
func frames(b []byte) []rawFrame {
	var out []rawFrame
	for len(b) > 0 {
		h, n, err := frame.ParseHeader(b)
		if err != nil || int64(len(b)-n) < h.Length {
			break
		}
		end := n + int(h.Length)
		out = append(out, rawFrame{h: h, raw: b[:end], payload: b[n:end]})
		b = b[end:]
	}
	return out
}

func firstFrames(b []byte, n int) []byte {
	var out []byte
	for i, f := range frames(b) {
		if i == n {
			break
		}
		out = append(out, f.raw...)
	}
	return out
}

// smallFrames is the stream without its frames over maxSeedFrame.
func smallFrames(b []byte) []byte {
	var out []byte
	for _, f := range frames(b) {
		if f.h.Length <= maxSeedFrame {
			out = append(out, f.raw...)
		}
	}
	return out
}

// readHead reads an HTTP head through its empty line and returns it raw.
func readHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if err != nil {
			return head, err
		}
		if bytes.Equal(line, []byte("\r\n")) {
			return head, nil
		}
	}
}

// recordFrames reads frames from br, recording their bytes, until a close
// frame (returned) or an error.
func recordFrames(br *bufio.Reader, rec *bytes.Buffer) error {
	for {
		h, err := frame.ReadHeader(br)
		if err != nil {
			return err
		}
		rec.Write(frame.AppendHeader(nil, h))
		if _, err := io.CopyN(rec, br, h.Length); err != nil {
			return err
		}
		if h.Opcode == frame.OpClose {
			return nil
		}
	}
}

var errNoClose = errors.New("the peer ended without a close frame")

// serveRaw answers one WebSocket handshake by hand on l and records the
// session: it pings the client, reads its frames until its close frame,
// and answers that close. With deflate it agrees on permessage-deflate
// with the client's default parameters.
func serveRaw(ctx context.Context, l net.Listener, deflate bool) (session, error) {
	var s session
	nc, err := l.Accept()
	if err != nil {
		return s, err
	}
	defer nc.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(d)
	}
	br := bufio.NewReader(nc)
	if s.request, err = readHead(br); err != nil {
		return s, fmt.Errorf("reading the request: %w", err)
	}
	req, err := handshake.ReadRequest(bufio.NewReader(bytes.NewReader(s.request)), handshake.Limits{})
	if err != nil {
		return s, err
	}
	s.response = []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n" +
		"Sec-WebSocket-Protocol: chat\r\n")
	if deflate {
		s.response = append(s.response, "Sec-WebSocket-Extensions: permessage-deflate\r\n"...)
	}
	s.response = append(s.response, "\r\n"...)
	ping := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpPing, Length: 4})
	ping = append(ping, "ping"...)
	s.serverTx = ping
	if _, err := nc.Write(append(bytes.Clone(s.response), ping...)); err != nil {
		return s, err
	}
	var rec bytes.Buffer
	err = recordFrames(br, &rec)
	s.clientTx = rec.Bytes()
	if err != nil {
		return s, fmt.Errorf("%w: %w", errNoClose, err)
	}
	closeFrame := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpClose, Length: 2})
	closeFrame = append(closeFrame, 0x03, 0xE8)
	s.serverTx = append(s.serverTx, closeFrame...)
	_, err = nc.Write(closeFrame)
	return s, err
}
