package handshake_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"duplex/handshake"
)

func requestSeeds(f *testing.F) {
	f.Add([]byte(head(getLine, validFields...) + tail))
	f.Add([]byte("\r\n" + head("GET http://h/a?b HTTP/1.1", "Host: h", "X: \t v \t", "X: w", "Y:")))
	f.Add([]byte(head(getLine, "Host: a", "Host: b")))
	f.Add([]byte(head(getLine, "A: b", " c")))
	f.Add([]byte("GET / HTTP/1.1\nHost: h\n\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h"))
}

// FuzzReadRequest checks that ReadRequest never panics, consumes exactly the head, and that
// a request it accepts, written out again, reads back the same.
func FuzzReadRequest(f *testing.F) {
	requestSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), 16)
		req, err := handshake.ReadRequest(br, handshake.Limits{MaxHeadBytes: 1024, MaxHeaders: 16})
		if err != nil {
			return
		}
		rest, _ := io.ReadAll(br)
		consumed := in[:len(in)-len(rest)]
		if !bytes.HasSuffix(consumed, []byte("\r\n\r\n")) {
			t.Fatalf("consumed %q, which does not end the head", consumed)
		}
		again, err := handshake.ReadRequest(bufio.NewReader(strings.NewReader(writeRequest(req))), handshake.Limits{})
		if err != nil {
			t.Fatalf("rewritten request %q: %v", writeRequest(req), err)
		}
		if !equalRequest(req, again) {
			t.Fatalf("read %+v, then %+v", req, again)
		}
	})
}

func writeRequest(r *handshake.Request) string {
	var b strings.Builder
	b.WriteString(r.Method + " " + r.Target + " HTTP/" + string(rune('0'+r.ProtoMajor)) + "." + string(rune('0'+r.ProtoMinor)) + "\r\n")
	if r.Host != "" {
		b.WriteString("Host: " + r.Host + "\r\n")
	}
	_ = http.Header(r.Header).Write(&b)
	b.WriteString("\r\n")
	return b.String()
}

func equalRequest(a, b *handshake.Request) bool {
	if a.Method != b.Method || a.Target != b.Target || a.ProtoMajor != b.ProtoMajor ||
		a.ProtoMinor != b.ProtoMinor || a.Host != b.Host || len(a.Header) != len(b.Header) {
		return false
	}
	for k, v := range a.Header {
		if !slices.Equal(v, b.Header[k]) {
			return false
		}
	}
	return true
}

// FuzzReadResponse checks that ReadResponse never panics and consumes exactly the head.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte(head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
		"Sec-WebSocket-Accept: "+rfcAccept) + tail))
	f.Add([]byte(head("HTTP/1.0 403")))
	f.Add([]byte("HTTP/1.1 101 x\nA: b\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), 16)
		resp, err := handshake.ReadResponse(br, handshake.Limits{MaxHeadBytes: 1024, MaxHeaders: 16})
		if err != nil {
			return
		}
		rest, _ := io.ReadAll(br)
		if consumed := in[:len(in)-len(rest)]; !bytes.HasSuffix(consumed, []byte("\r\n\r\n")) {
			t.Fatalf("consumed %q, which does not end the head", consumed)
		}
		if resp.StatusCode < 100 || resp.StatusCode > 999 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// FuzzParseExtensions checks that what ParseExtensions accepts, AppendExtensions writes in
// a form that parses back the same.
func FuzzParseExtensions(f *testing.F) {
	f.Add("permessage-deflate; client_max_window_bits, x-foo")
	f.Add(`foo; p1; p2=v; p3="quoted", , bar`)
	f.Add(`foo; a="\"x"`)
	f.Add("foo;;")
	f.Fuzz(func(t *testing.T, v string) {
		exts, err := handshake.ParseExtensions([]string{v})
		if err != nil {
			return
		}
		wire := string(handshake.AppendExtensions(nil, exts))
		again, err := handshake.ParseExtensions([]string{wire})
		if err != nil {
			t.Fatalf("%q -> %q: %v", v, wire, err)
		}
		if len(exts) != len(again) {
			t.Fatalf("%q -> %q: %d then %d extensions", v, wire, len(exts), len(again))
		}
		for i := range exts {
			if exts[i].Name != again[i].Name || !slices.Equal(exts[i].Params, again[i].Params) {
				t.Fatalf("%q -> %q: %+v then %+v", v, wire, exts[i], again[i])
			}
		}
	})
}
