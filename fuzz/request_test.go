package fuzz_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"duplex/handshake"
)

// countingReader counts the bytes a parser pulled from the stream.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// smallBuffer is the bufio size under the head parsers: small, so long
// lines take the path that assembles them from several reads.
const smallBuffer = 64

func effectiveLimits(maxHead uint16, maxFields uint8) (handshake.Limits, int, int) {
	lim := handshake.Limits{MaxHeadBytes: int(maxHead), MaxHeaders: int(maxFields)}
	mb, mf := lim.MaxHeadBytes, lim.MaxHeaders
	if mb == 0 {
		mb = handshake.DefaultLimits.MaxHeadBytes
	}
	if mf == 0 {
		mf = handshake.DefaultLimits.MaxHeaders
	}
	return lim, mb, mf
}

// checkHeadError checks a refused head: the error is one the verdict
// justifies, and a *handshake.Error carries the status wanted for it.
func checkHeadError(t *testing.T, err error, v headVerdict, badStatus, largeStatus int) {
	t.Helper()
	var he *handshake.Error
	switch {
	case errors.Is(err, handshake.ErrMalformedHead) && v.malformed:
		if !errors.As(err, &he) || he.Status != badStatus {
			t.Fatalf("malformed head: %v, want status %d", err, badStatus)
		}
	case errors.Is(err, handshake.ErrHeadTooLarge) && v.tooLarge:
		if !errors.As(err, &he) || he.Status != largeStatus {
			t.Fatalf("head too large: %v, want status %d", err, largeStatus)
		}
	case (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) && v.eof:
	default:
		t.Fatalf("head refused with %v, reference verdict %+v", err, v)
	}
}

// FuzzReadRequest attacks the server's side of the opening handshake.
// handshake.ReadRequest is compared with the reference reading of RFC 9112
// (the same verdict, fields and head size) and with net/http's request
// reader where both accept (the same method, target, version, Host and
// header values); it never pulls more than the head limit and one buffer
// from the stream. handshake.Accept, run on the same bytes, accepts only
// requests that pass the checks of RFC 6455, Section 4.2.1, refuses with
// the status of a check that failed, and answers a 101 that a client
// validates; bytes after the head stay for the connection.
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte(validRequest), uint16(0), uint8(0))
	f.Add([]byte(validRequest+"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), uint16(0), uint8(0))
	f.Add([]byte(strings.Replace(validRequest, "\r\n\r\n",
		"\r\nOrigin: http://server.example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"+
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n", 1)), uint16(0), uint8(0))
	f.Add([]byte("\r\n\r\n"+validRequest), uint16(200), uint8(6))
	f.Add([]byte("GET / HTTP/1.0\r\nHost: a\r\n\r\n"), uint16(0), uint8(0))
	f.Add([]byte("GET / HTTP/1.1\nHost: a\n\n"), uint16(0), uint8(0))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"), uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, maxHead uint16, maxFields uint8) {
		defer watchdog("FuzzReadRequest", data)()
		lim, mb, mf := effectiveLimits(maxHead, maxFields)
		v := refReadHead(data, true, mb, mf)
		method, target, major, minor, lineOK := refRequestLine(v.head.start)
		wantHdr, hosts := v.head.header()
		if v.head.start != "" && !lineOK || len(hosts) > 1 || len(hosts) == 1 && !validHost(hosts[0]) {
			v.malformed = true
			v.ok = false
		}

		cr := &countingReader{r: bytes.NewReader(data)}
		br := bufio.NewReaderSize(cr, smallBuffer)
		req, err := handshake.ReadRequest(br, lim)
		if cr.n > mb+smallBuffer {
			t.Fatalf("pulled %d bytes for a head limited to %d", cr.n, mb)
		}
		if err != nil {
			if v.ok {
				t.Fatalf("refused a valid head %q: %v", data[:v.head.size], err)
			}
			checkHeadError(t, err, v, http.StatusBadRequest, http.StatusRequestHeaderFieldsTooLarge)
		} else {
			if !v.ok {
				t.Fatalf("accepted %q, reference verdict %+v", data, v)
			}
			rest, _ := io.ReadAll(br)
			if !bytes.Equal(rest, data[v.head.size:]) {
				t.Fatalf("consumed %d bytes, the head is %d", len(data)-len(rest), v.head.size)
			}
			host := ""
			if len(hosts) == 1 {
				host = hosts[0]
			}
			if req.Method != method || req.Target != target || req.ProtoMajor != major || req.ProtoMinor != minor || req.Host != host {
				t.Fatalf("parsed %+v, reference %q %q %d.%d host %q", req, method, target, major, minor, host)
			}
			if !headersEqual(req.Header, wantHdr) {
				t.Fatalf("header %q, reference %q", req.Header, wantHdr)
			}
			compareNetHTTPRequest(t, data, req)
		}
		checkAccept(t, data, lim, req, err)
	})
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		if !slices.Equal(va, b[k]) {
			return false
		}
	}
	return true
}

// compareNetHTTPRequest reads data with net/http too. net/http is more
// lenient on line ends and stricter on bodies and targets, so only heads
// both accept are compared, on what both must read alike.
func compareNetHTTPRequest(t *testing.T, data []byte, req *handshake.Request) {
	t.Helper()
	nr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return
	}
	if nr.Method != req.Method || nr.RequestURI != req.Target || nr.ProtoMajor != req.ProtoMajor || nr.ProtoMinor != req.ProtoMinor {
		t.Fatalf("net/http reads %q %q %d.%d, handshake %q %q %d.%d",
			nr.Method, nr.RequestURI, nr.ProtoMajor, nr.ProtoMinor, req.Method, req.Target, req.ProtoMajor, req.ProtoMinor)
	}
	if strings.HasPrefix(req.Target, "/") && nr.Host != req.Host {
		t.Fatalf("net/http reads Host %q, handshake %q", nr.Host, req.Host)
	}
	for k, vs := range req.Header {
		if !slices.Equal(nr.Header[k], vs) {
			t.Fatalf("header %q: net/http reads %q, handshake %q", k, nr.Header[k], vs)
		}
	}
}

// refAcceptKey is RFC 6455, Section 4.2.2, item 5.4: base64 of the SHA-1
// of the key with the GUID appended.
func refAcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func tokenListHas(values []string, token string) bool {
	for _, v := range values {
		for _, e := range strings.Split(v, ",") {
			if strings.EqualFold(strings.Trim(e, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// serverProtocols are the subprotocols the server under test speaks.
var serverProtocols = []string{"chat", "superchat"}

// refServerChecks applies RFC 6455, Section 4.2.1 to a request head. It
// returns the statuses of the checks that fail, and of those where the RFC
// leaves the server a choice (unclear).
func refServerChecks(req *handshake.Request) (fail, unclear []int) {
	h := req.Header
	if req.Method != http.MethodGet {
		fail = append(fail, http.StatusMethodNotAllowed)
	}
	if req.ProtoMajor != 1 || req.ProtoMinor < 1 {
		fail = append(fail, http.StatusBadRequest, http.StatusHTTPVersionNotSupported)
	}
	if req.Host == "" {
		fail = append(fail, http.StatusBadRequest)
	}
	if !tokenListHas(h.Values("Upgrade"), "websocket") || !tokenListHas(h.Values("Connection"), "upgrade") {
		fail = append(fail, http.StatusUpgradeRequired)
	}
	switch vs := h.Values("Sec-WebSocket-Version"); {
	case !slices.Contains(vs, "13"):
		fail = append(fail, http.StatusUpgradeRequired)
	case len(vs) != 1:
		unclear = append(unclear, http.StatusUpgradeRequired)
	}
	keys := h.Values("Sec-WebSocket-Key")
	decodes := func(enc *base64.Encoding, k string) bool {
		b, err := enc.DecodeString(k)
		return err == nil && len(b) == 16
	}
	switch {
	case len(keys) == 1 && decodes(base64.StdEncoding.Strict(), keys[0]):
	case !slices.ContainsFunc(keys, func(k string) bool { return decodes(base64.StdEncoding, k) }):
		fail = append(fail, http.StatusBadRequest)
	default:
		unclear = append(unclear, http.StatusBadRequest)
	}
	// RFC 6455, Section 10.2: by default an Origin must name the Host, with a web scheme (an origin is
	// scheme://host[:port], RFC 6454, Section 6.1; over plain TCP either http or https).
	switch origins := h.Values("Origin"); len(origins) {
	case 0:
	case 1:
		u, err := url.Parse(origins[0])
		web := err == nil && (strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https"))
		if !web || u.Host == "" || !strings.EqualFold(u.Host, req.Host) {
			fail = append(fail, http.StatusForbidden)
		}
	default:
		unclear = append(unclear, http.StatusForbidden)
	}
	// RFC 6455, Section 4.1, item 10: subprotocols are tokens.
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for _, e := range strings.Split(v, ",") {
			if e = strings.Trim(e, " \t"); e != "" && !isToken(e) {
				fail = append(fail, http.StatusBadRequest)
			}
		}
	}
	if _, err := handshake.ParseExtensions(h.Values("Sec-WebSocket-Extensions")); err != nil {
		fail = append(fail, http.StatusBadRequest)
	}
	return fail, unclear
}

// checkAccept runs handshake.Accept on data and judges it with the
// reference checks, given what ReadRequest made of the same bytes.
func checkAccept(t *testing.T, data []byte, lim handshake.Limits, req *handshake.Request, readErr error) {
	t.Helper()
	nc := newMemConn(data)
	res, err := handshake.Accept(context.Background(), nc, &handshake.ServerOptions{Subprotocols: serverProtocols, Limits: lim})
	var he *handshake.Error
	if readErr != nil {
		if err == nil {
			t.Fatalf("Accept took a head ReadRequest refuses (%v)", readErr)
		}
		var rhe *handshake.Error
		if errors.As(readErr, &rhe) && (!errors.As(err, &he) || he.Status != rhe.Status) {
			t.Fatalf("Accept: %v; ReadRequest: %v", err, readErr)
		}
		checkRefusal(t, nc, err)
		return
	}
	fail, unclear := refServerChecks(req)
	if err != nil {
		if len(fail)+len(unclear) == 0 {
			t.Fatalf("Accept refused a request that passes RFC 6455, Section 4.2.1: %v\n%q", err, data)
		}
		if !errors.As(err, &he) || !slices.Contains(append(fail, unclear...), he.Status) {
			t.Fatalf("Accept refused with %v; failing checks want %v, unclear %v", err, fail, unclear)
		}
		checkRefusal(t, nc, err)
		return
	}
	if len(fail) > 0 {
		t.Fatalf("Accept took a request failing checks with statuses %v:\n%q", fail, data)
	}
	// The 101 response, as a client validates it (RFC 6455, Section 4.1).
	br := bufio.NewReader(bytes.NewReader(nc.written()))
	resp, rerr := http.ReadResponse(br, nil)
	if rerr != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("Accept wrote no 101: %v", rerr)
	}
	if extra, _ := io.ReadAll(br); len(extra) > 0 {
		t.Fatalf("Accept wrote %q after the 101 head", extra)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") || !tokenListHas(resp.Header.Values("Connection"), "upgrade") ||
		resp.Header.Get("Sec-WebSocket-Accept") != refAcceptKey(req.Header.Get("Sec-WebSocket-Key")) {
		t.Fatalf("bad 101 response header %q", resp.Header)
	}
	var offered []string
	for _, v := range req.Header.Values("Sec-WebSocket-Protocol") {
		for _, e := range strings.Split(v, ",") {
			offered = append(offered, strings.Trim(e, " \t"))
		}
	}
	want := ""
	for _, p := range serverProtocols {
		if slices.Contains(offered, p) {
			want = p
			break
		}
	}
	if res.Subprotocol != want || resp.Header.Get("Sec-WebSocket-Protocol") != want || len(resp.Header.Values("Sec-WebSocket-Protocol")) > 1 {
		t.Fatalf("subprotocol %q (header %q), want %q from offers %q", res.Subprotocol, resp.Header.Values("Sec-WebSocket-Protocol"), want, offered)
	}
	if len(res.Extensions) != 0 || resp.Header.Get("Sec-WebSocket-Extensions") != "" {
		t.Fatalf("accepted extensions %v without a negotiation hook", res.Extensions)
	}
	rest, _ := io.ReadAll(io.MultiReader(bytes.NewReader(res.Rest), nc))
	if tail := data[len(data)-len(rest):]; !bytes.Equal(rest, tail) || !bytes.HasSuffix(data[:len(data)-len(rest)], []byte("\r\n\r\n")) {
		t.Fatalf("bytes after the head lost: Reader holds %q of %q", rest, data)
	}
	// RequestHeader reads each field as ReadRequest's header map has it.
	for k := range req.Header {
		if got := res.RequestHeader(strings.ToUpper(k)); got != req.Header.Get(k) {
			t.Fatalf("RequestHeader(%q) = %q, ReadRequest %q", strings.ToUpper(k), got, req.Header.Get(k))
		}
	}
	if got := res.RequestHeader("host"); got != req.Host {
		t.Fatalf("RequestHeader(host) = %q, ReadRequest %q", got, req.Host)
	}
}

// checkRefusal checks what Accept wrote on refusing: nothing when it read
// no request, else one complete HTTP response whose status is the error's,
// closing the connection.
func checkRefusal(t *testing.T, nc *memConn, err error) {
	t.Helper()
	if !nc.isClosed() {
		t.Fatalf("refused (%v) without closing the connection", err)
	}
	out := nc.written()
	var he *handshake.Error
	if !errors.As(err, &he) || he.Status == 0 {
		if len(out) > 0 {
			t.Fatalf("wrote %q after an I/O error %v", out, err)
		}
		return
	}
	br := bufio.NewReader(bytes.NewReader(out))
	resp, rerr := http.ReadResponse(br, nil)
	if rerr != nil || resp.StatusCode != he.Status || !resp.Close {
		t.Fatalf("refusal %v answered with %q (%v)", err, out, rerr)
	}
	body, berr := io.ReadAll(resp.Body)
	if berr != nil || strconv.Itoa(len(body)) != resp.Header.Get("Content-Length") {
		t.Fatalf("refusal body %q does not match its Content-Length %q (%v)", body, resp.Header.Get("Content-Length"), berr)
	}
	if errors.Is(err, handshake.ErrBadVersion) && resp.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Fatalf("426 for the version without Sec-WebSocket-Version: 13: %q", out)
	}
}
