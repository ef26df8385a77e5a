package fuzz_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"duplex/handshake"
)

// acceptPlaceholder in a fuzzed response stands for the correct
// Sec-WebSocket-Accept of the key the client sends, which the input cannot
// know in advance; it lets the fuzzer reach the client's success path.
const acceptPlaceholder = "{{accept}}"

// clientExtension is the extension the client under test offers.
var clientExtension = handshake.Extension{Name: "permessage-deflate", Params: []handshake.ExtensionParam{{Name: "client_max_window_bits"}}}

const validResponse = "HTTP/1.1 101 Switching Protocols\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: " + acceptPlaceholder + "\r\n\r\n"

// FuzzReadResponse attacks the client's side of the opening handshake.
// handshake.ReadResponse is compared with the reference reading of RFC
// 9112 and with net/http's response reader where both accept, within the
// head limit. handshake.Client, answered with the same bytes (the accept
// placeholder filled in), sends a request that passes the server's checks
// and accepts only a response that passes the client's checks of RFC 6455,
// Section 4.1; bytes after the head stay for the connection.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte(validResponse), uint16(0), uint8(0))
	f.Add([]byte(validResponse+"\x81\x05Hello"), uint16(0), uint8(0))
	f.Add([]byte(strings.Replace(validResponse, "\r\n\r\n",
		"\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n\r\n", 1)), uint16(0), uint8(0))
	f.Add([]byte(strings.Replace(validResponse, "\r\n\r\n",
		"\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12\r\n\r\n", 1)), uint16(0), uint8(0))
	f.Add([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno\n"), uint16(0), uint8(0))
	f.Add([]byte("HTTP/1.1 101\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n"), uint16(100), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, maxHead uint16, maxFields uint8) {
		defer watchdog("FuzzReadResponse", data)()
		lim, mb, mf := effectiveLimits(maxHead, maxFields)
		v := refReadHead(data, false, mb, mf)
		major, minor, code, reason, lineOK, lenient := refStatusLine(v.head.start)
		if v.head.start != "" && !lineOK {
			v.malformed = true
			v.ok = false
		}
		cr := &countingReader{r: bytes.NewReader(data)}
		br := bufio.NewReaderSize(cr, smallBuffer)
		resp, err := handshake.ReadResponse(br, lim)
		if cr.n > mb+smallBuffer {
			t.Fatalf("pulled %d bytes for a head limited to %d", cr.n, mb)
		}
		if err != nil {
			if v.ok {
				t.Fatalf("refused a valid head %q: %v", data[:v.head.size], err)
			}
			checkHeadError(t, err, v, 0, 0)
		} else {
			if !v.ok && !(lenient && !v.tooLarge && !v.eof) {
				t.Fatalf("accepted %q, reference verdict %+v", data, v)
			}
			rest, _ := io.ReadAll(br)
			if !bytes.Equal(rest, data[v.head.size:]) {
				t.Fatalf("consumed %d bytes, the head is %d", len(data)-len(rest), v.head.size)
			}
			wantHdr, hosts := v.head.header()
			if len(hosts) > 0 {
				wantHdr["Host"] = hosts
			}
			if resp.ProtoMajor != major || resp.ProtoMinor != minor || resp.StatusCode != code || resp.Reason != reason || !headersEqual(resp.Header, wantHdr) {
				t.Fatalf("parsed %+v, reference %d.%d %d %q %q", resp, major, minor, code, reason, wantHdr)
			}
			if nr, nerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil); nerr == nil {
				if nr.StatusCode != resp.StatusCode || nr.ProtoMajor != resp.ProtoMajor || nr.ProtoMinor != resp.ProtoMinor {
					t.Fatalf("net/http reads %d %d.%d, handshake %d %d.%d", nr.StatusCode, nr.ProtoMajor, nr.ProtoMinor, resp.StatusCode, resp.ProtoMajor, resp.ProtoMinor)
				}
				for k, vs := range resp.Header {
					if !slices.Equal(nr.Header[k], vs) {
						t.Fatalf("header %q: net/http reads %q, handshake %q", k, nr.Header[k], vs)
					}
				}
			}
		}
		checkClient(t, data, lim)
	})
}

// refClientChecks applies RFC 6455, Section 4.1 (the client's validation
// of the server's response) to a response head read with the accept key
// expected. It returns whether a check fails, and whether one is left to
// the client's judgement.
func refClientChecks(resp *handshake.Response, accept string) (fail, unclear bool) {
	h := resp.Header
	// "If the status code received from the server is not 101, the client
	// handles the response per HTTP procedures."
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return true, false
	}
	// "If the response lacks an |Upgrade| header field or the |Upgrade|
	// header field contains a value that is not an ASCII case-insensitive
	// match for the value "websocket", the client MUST _Fail_".
	switch up := h.Values("Upgrade"); {
	case !tokenListHas(up, "websocket"):
		fail = true
	case len(up) != 1 || !strings.EqualFold(up[0], "websocket"):
		unclear = true
	}
	if !tokenListHas(h.Values("Connection"), "upgrade") {
		fail = true
	}
	switch acc := h.Values("Sec-WebSocket-Accept"); {
	case !slices.Contains(acc, accept):
		fail = true
	case len(acc) != 1:
		unclear = true
	}
	// Item 5: an extension "that was not present in the client's
	// handshake" fails the connection.
	exts, err := handshake.ParseExtensions(h.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		fail = true
	}
	deflates := 0
	for _, e := range exts {
		if !strings.EqualFold(e.Name, clientExtension.Name) {
			fail = true
			continue
		}
		deflates++
		f, u := refDeflateResponse(e)
		fail, unclear = fail || f, unclear || u
	}
	if deflates > 1 {
		unclear = true // one offer, answered twice
	}
	// Item 6: a subprotocol "that was not present in the client's
	// handshake" fails it; the server selects one.
	switch sp := h.Values("Sec-WebSocket-Protocol"); {
	case len(sp) == 0:
	case len(sp) > 1 || !slices.Contains(serverProtocols, sp[0]):
		fail = true
	}
	return fail, unclear
}

// refDeflateResponse applies RFC 7692, Section 7 to a permessage-deflate
// response to the client's offer (which has client_max_window_bits without
// a value): "A client MUST _Fail the WebSocket Connection_ if the peer
// server accepted an extension negotiation offer for this extension with
// an extension negotiation response" with a parameter "not defined for use
// in a response", one "with an invalid value", or "multiple extension
// parameters with the same name". It also lets the client refuse "the
// configuration that the response represents" where it may not support it
// (an 8-bit window, which zlib does not implement) and parameter names in
// other cases, which the RFC does not settle.
func refDeflateResponse(e handshake.Extension) (fail, unclear bool) {
	if e.Name != clientExtension.Name {
		unclear = true
	}
	seen := map[string]bool{}
	for _, p := range e.Params {
		name := strings.ToLower(p.Name)
		if name != p.Name {
			unclear = true
		}
		if seen[name] {
			fail = true
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover", "client_no_context_takeover":
			// Section 7.1.1: "This parameter has no value."
			fail = fail || p.HasValue
		case "server_max_window_bits", "client_max_window_bits":
			// Section 7.1.2: "a decimal integer value without leading
			// zeroes between 8 to 15, inclusive"; in a response
			// client_max_window_bits must have one (7.1.2.2).
			n, err := strconv.Atoi(p.Value)
			switch {
			case !p.HasValue || err != nil || n < 8 || n > 15 || strconv.Itoa(n) != p.Value:
				fail = true
			case n == 8:
				unclear = true
			}
		default:
			fail = true
		}
	}
	return fail, unclear
}

// checkClient runs handshake.Client against data as the server's answer.
func checkClient(t *testing.T, data []byte, lim handshake.Limits) {
	t.Helper()
	var sent *handshake.Request
	var accept string
	var answer []byte
	nc := newMemConn(nil)
	nc.respond = func(written []byte) []byte {
		req, err := handshake.ReadRequest(bufio.NewReader(bytes.NewReader(written)), handshake.Limits{})
		if err != nil {
			t.Errorf("the client sent a request its own server refuses: %v\n%q", err, written)
			return nil
		}
		sent = req
		accept = refAcceptKey(req.Header.Get("Sec-WebSocket-Key"))
		answer = bytes.ReplaceAll(data, []byte(acceptPlaceholder), []byte(accept))
		return answer
	}
	u := &url.URL{Scheme: "ws", Host: "server.example.com", Path: "/chat"}
	res, err := handshake.Client(context.Background(), nc, u, &handshake.ClientOptions{
		Origin:       "http://server.example.com",
		Subprotocols: serverProtocols,
		Extensions:   []handshake.Extension{clientExtension},
		Limits:       lim,
	})
	if sent == nil {
		t.Fatalf("the client read before sending its request: %v", err)
	}
	// What the client sent passes the server's checks.
	if fails, unclear := refServerChecks(sent); len(fails)+len(unclear) > 0 {
		t.Fatalf("the client's request fails server checks %v %v: %+v", fails, unclear, sent)
	}
	resp, rerr := handshake.ReadResponse(bufio.NewReader(bytes.NewReader(answer)), lim)
	if rerr != nil {
		if err == nil {
			t.Fatalf("Client took a response ReadResponse refuses (%v)", rerr)
		}
		return
	}
	fail, unclear := refClientChecks(resp, accept)
	if err != nil {
		if !fail && !unclear {
			t.Fatalf("Client refused a response that passes RFC 6455, Section 4.1: %v\n%q", err, answer)
		}
		var he *handshake.Error
		if !errors.As(err, &he) || he.Status != resp.StatusCode {
			t.Fatalf("Client refused with %v, want an *Error with status %d", err, resp.StatusCode)
		}
		if !nc.isClosed() {
			t.Fatalf("Client failed (%v) without closing the connection", err)
		}
		return
	}
	if fail {
		t.Fatalf("Client accepted a response failing RFC 6455, Section 4.1:\n%q", answer)
	}
	if !reflect.DeepEqual(res.Response, resp) {
		t.Fatalf("Result.Response %+v, ReadResponse %+v", res.Response, resp)
	}
	if want := resp.Header.Get("Sec-WebSocket-Protocol"); res.Subprotocol != want {
		t.Fatalf("subprotocol %q, the server selected %q", res.Subprotocol, want)
	}
	exts, _ := handshake.ParseExtensions(resp.Header.Values("Sec-WebSocket-Extensions"))
	if !reflect.DeepEqual(res.Extensions, exts) {
		t.Fatalf("extensions %v, the server agreed to %v", res.Extensions, exts)
	}
	rest, _ := io.ReadAll(io.MultiReader(bytes.NewReader(res.Rest), nc))
	if tail := answer[len(answer)-len(rest):]; !bytes.Equal(rest, tail) || !bytes.HasSuffix(answer[:len(answer)-len(rest)], []byte("\r\n\r\n")) {
		t.Fatalf("bytes after the head lost: Reader holds %q of %q", rest, answer)
	}
}
