package handshake_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// chunkings are the ways a test feeds bytes to a parser: all at once, one byte per Read,
// half of each Read, and with io.EOF returned along with the last bytes.
var chunkings = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one-byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data-err", iotest.DataErrReader},
}

// forChunkings runs f in a subtest per chunking, on raw behind a 16-byte bufio.Reader:
// bufio's smallest buffer, so most lines span several fills.
func forChunkings(t *testing.T, name, raw string, f func(t *testing.T, br *bufio.Reader)) {
	t.Helper()
	for _, ch := range chunkings {
		t.Run(name+"/"+ch.name, func(t *testing.T) {
			f(t, bufio.NewReaderSize(ch.wrap(strings.NewReader(raw)), 16))
		})
	}
}

// tail stands for the first frame a peer sends right behind its head.
const tail = "\x81\x05hello"

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want handshake.Request
	}{
		{name: "4.1/browser-like", raw: head(getLine, validFields...), want: handshake.Request{
			Method: "GET", Target: "/chat", ProtoMajor: 1, ProtoMinor: 1, Host: "example.com",
			Header: http.Header{
				"Upgrade": {"websocket"}, "Connection": {"Upgrade"},
				"Sec-Websocket-Key": {rfcKey}, "Sec-Websocket-Version": {"13"},
			}}},
		{name: "rfc9112-5/repeated-field-keeps-order",
			raw: head("GET /?a=b HTTP/1.1", "Host: h:81", "x-a: 1", "X-A: 2", "x-A:3"),
			want: handshake.Request{Method: "GET", Target: "/?a=b", ProtoMajor: 1, ProtoMinor: 1, Host: "h:81",
				Header: http.Header{"X-A": {"1", "2", "3"}}}},
		{name: "rfc9110-5.5/ows-trimmed-inner-kept",
			raw: head("GET / HTTP/1.1", "Host: h", "X-A: \t a \t b \t", "X-Empty:", "X-Spaces:   "),
			want: handshake.Request{Method: "GET", Target: "/", ProtoMajor: 1, ProtoMinor: 1, Host: "h",
				Header: http.Header{"X-A": {"a \t b"}, "X-Empty": {""}, "X-Spaces": {""}}}},
		{name: "rfc9110-5.5/obs-text-allowed",
			raw: head("GET / HTTP/1.1", "Host: h", "X-A: caf\xc3\xa9 \xff"),
			want: handshake.Request{Method: "GET", Target: "/", ProtoMajor: 1, ProtoMinor: 1, Host: "h",
				Header: http.Header{"X-A": {"caf\xc3\xa9 \xff"}}}},
		{name: "rfc9112-2.2/leading-empty-lines-skipped",
			raw:  "\r\n\r\n" + head("GET / HTTP/1.1", "Host: h"),
			want: handshake.Request{Method: "GET", Target: "/", ProtoMajor: 1, ProtoMinor: 1, Host: "h", Header: http.Header{}}},
		{name: "rfc9112-3/no-host-left-to-checks",
			raw:  head("POST * HTTP/1.0"),
			want: handshake.Request{Method: "POST", Target: "*", ProtoMajor: 1, ProtoMinor: 0, Header: http.Header{}}},
		{name: "rfc9112-5/line-longer-than-buffer",
			raw: head("GET /"+strings.Repeat("p", 100)+" HTTP/1.1", "Host: h", "X-Long: "+strings.Repeat("v", 200)),
			want: handshake.Request{Method: "GET", Target: "/" + strings.Repeat("p", 100), ProtoMajor: 1, ProtoMinor: 1, Host: "h",
				Header: http.Header{"X-Long": {strings.Repeat("v", 200)}}}},
	}
	for _, tt := range tests {
		forChunkings(t, tt.name, tt.raw+tail, func(t *testing.T, br *bufio.Reader) {
			req, err := handshake.ReadRequest(br, handshake.Limits{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, *req)
			assertRest(t, br, tail)
		})
	}
}

func TestReadRequestErrors(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		lim    handshake.Limits
		status int   // 0: not an *Error
		cause  error // matched with errors.Is
	}{
		{name: "io/empty-stream", raw: "", cause: io.EOF},
		{name: "io/cut-in-request-line", raw: "GET / HT", cause: io.ErrUnexpectedEOF},
		{name: "io/cut-in-headers", raw: "GET / HTTP/1.1\r\nHost: h\r\n", cause: io.ErrUnexpectedEOF},
		{name: "io/cut-before-final-lf", raw: "GET / HTTP/1.1\r\nHost: h\r\n\r", cause: io.ErrUnexpectedEOF},
		{name: "rfc9112-2.2/bare-lf-request-line", raw: "GET / HTTP/1.1\nHost: h\r\n\r\n", status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-2.2/bare-lf-header", raw: "GET / HTTP/1.1\r\nHost: h\n\r\n", status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-2.2/bare-lf-end", raw: "GET / HTTP/1.1\r\nHost: h\r\n\n", status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-2.2/bare-cr-in-value", raw: head("GET / HTTP/1.1", "X: a\rb"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-3/method-not-token", raw: head("G(T / HTTP/1.1"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-3/missing-target", raw: head("GET HTTP/1.1"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-3/double-space", raw: head("GET /  HTTP/1.1"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-3/trailing-space", raw: head("GET / HTTP/1.1 "), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-3/target-non-ascii", raw: head("GET /caf\xc3\xa9 HTTP/1.1"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-3/target-control", raw: head("GET /a\x01 HTTP/1.1"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-2.3/version-lowercase", raw: head("GET / http/1.1"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-2.3/version-two-digits", raw: head("GET / HTTP/1.10"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-2.3/version-no-minor", raw: head("GET / HTTP/1"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-5/missing-colon", raw: head(getLine, "Host h"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-5/empty-name", raw: head(getLine, ": v"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-5/name-not-token", raw: head(getLine, "X(a): v"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-5.1/space-before-colon", raw: head(getLine, "Host : h"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-5.2/obs-fold", raw: head(getLine, "Host: h", "X: a", "\tb"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-2.2/space-before-first-field", raw: head(getLine, " Host: h"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9110-5.5/nul-in-value", raw: head(getLine, "X: a\x00"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9110-5.5/del-in-value", raw: head(getLine, "X: a\x7f"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-3.2/two-hosts", raw: head(getLine, "Host: a", "Host: a"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "rfc9112-3.2/invalid-host", raw: head(getLine, "Host: a b"), status: 400, cause: handshake.ErrMalformedHead},
		{name: "limits/bytes", raw: head(getLine, "Host: h", "X: "+strings.Repeat("v", 100)),
			lim: handshake.Limits{MaxHeadBytes: 64}, status: 431, cause: handshake.ErrHeadTooLarge},
		{name: "limits/request-line-alone", raw: head("GET /" + strings.Repeat("p", 100) + " HTTP/1.1"),
			lim: handshake.Limits{MaxHeadBytes: 64}, status: 431, cause: handshake.ErrHeadTooLarge},
		{name: "limits/unterminated-line", raw: "GET /" + strings.Repeat("p", 100),
			lim: handshake.Limits{MaxHeadBytes: 64}, status: 431, cause: handshake.ErrHeadTooLarge},
		{name: "limits/empty-lines-count", raw: strings.Repeat("\r\n", 40) + head(getLine),
			lim: handshake.Limits{MaxHeadBytes: 64}, status: 431, cause: handshake.ErrHeadTooLarge},
		{name: "limits/headers", raw: head(getLine, "A: 1", "B: 2", "C: 3"),
			lim: handshake.Limits{MaxHeaders: 2}, status: 431, cause: handshake.ErrHeadTooLarge},
	}
	for _, tt := range tests {
		forChunkings(t, tt.name, tt.raw, func(t *testing.T, br *bufio.Reader) {
			req, err := handshake.ReadRequest(br, tt.lim)
			require.ErrorIs(t, err, tt.cause)
			assert.Nil(t, req)
			var he *handshake.Error
			if tt.status == 0 {
				assert.NotErrorAs(t, err, &he)
				return
			}
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tt.status, he.Status)
		})
	}
}

// assertRest checks that what is left in br is want: the parser consumed exactly the head.
func assertRest(tb testing.TB, br *bufio.Reader, want string) {
	tb.Helper()
	rest, err := io.ReadAll(br)
	require.NoError(tb, err)
	assert.Equal(tb, want, string(rest), "exactly the head is consumed")
}

// TestReadHeadReaderError checks that an error of the underlying reader mid-head comes back
// as itself, not as a malformed head.
func TestReadHeadReaderError(t *testing.T) {
	raw := head(getLine, validFields...)
	_, err := handshake.ReadRequest(bufio.NewReaderSize(iotest.TimeoutReader(iotest.HalfReader(strings.NewReader(raw))), 16), handshake.Limits{})
	require.ErrorIs(t, err, iotest.ErrTimeout)
	var he *handshake.Error
	assert.NotErrorAs(t, err, &he)

	raw = head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket")
	_, err = handshake.ReadResponse(bufio.NewReaderSize(iotest.TimeoutReader(iotest.HalfReader(strings.NewReader(raw))), 16), handshake.Limits{})
	require.ErrorIs(t, err, iotest.ErrTimeout)
	assert.NotErrorAs(t, err, &he)
}

// TestReadRequestLimitBoundary checks that a head of exactly MaxHeadBytes bytes and exactly
// MaxHeaders lines passes and one more byte or line does not.
func TestReadRequestLimitBoundary(t *testing.T) {
	raw := head(getLine, "Host: h", "X: 1")
	_, err := handshake.ReadRequest(bufio.NewReader(strings.NewReader(raw)), handshake.Limits{MaxHeadBytes: len(raw), MaxHeaders: 2})
	require.NoError(t, err)

	_, err = handshake.ReadRequest(bufio.NewReader(strings.NewReader(raw)), handshake.Limits{MaxHeadBytes: len(raw) - 1})
	require.ErrorIs(t, err, handshake.ErrHeadTooLarge)

	_, err = handshake.ReadRequest(bufio.NewReader(strings.NewReader(raw)), handshake.Limits{MaxHeaders: 1})
	require.ErrorIs(t, err, handshake.ErrHeadTooLarge)
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want handshake.Response
	}{
		{name: "4.2.2/switching", raw: head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
			"Sec-WebSocket-Accept: "+rfcAccept),
			want: handshake.Response{ProtoMajor: 1, ProtoMinor: 1, StatusCode: 101, Reason: "Switching Protocols",
				Header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Accept": {rfcAccept}}}},
		{name: "rfc9112-4/empty-reason", raw: head("HTTP/1.1 403 "),
			want: handshake.Response{ProtoMajor: 1, ProtoMinor: 1, StatusCode: 403, Header: http.Header{}}},
		{name: "rfc9112-4/no-reason-no-space", raw: head("HTTP/1.0 200"),
			want: handshake.Response{ProtoMajor: 1, ProtoMinor: 0, StatusCode: 200, Header: http.Header{}}},
	}
	for _, tt := range tests {
		forChunkings(t, tt.name, tt.raw+tail, func(t *testing.T, br *bufio.Reader) {
			resp, err := handshake.ReadResponse(br, handshake.Limits{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, *resp)
			assertRest(t, br, tail)
		})
	}
}

func TestReadResponseErrors(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		lim   handshake.Limits
		cause error
	}{
		{name: "io/empty-stream", raw: "", cause: io.EOF},
		{name: "io/cut", raw: "HTTP/1.1 101 Switching", cause: io.ErrUnexpectedEOF},
		{name: "rfc9112-4/not-http", raw: head("ICY 200 OK"), cause: handshake.ErrMalformedHead},
		{name: "rfc9112-4/two-digit-status", raw: head("HTTP/1.1 10 x"), cause: handshake.ErrMalformedHead},
		{name: "rfc9112-4/status-leading-zero", raw: head("HTTP/1.1 010 x"), cause: handshake.ErrMalformedHead},
		{name: "rfc9112-4/status-letters", raw: head("HTTP/1.1 1o1 x"), cause: handshake.ErrMalformedHead},
		{name: "rfc9112-4/control-in-reason", raw: head("HTTP/1.1 101 a\x00b"), cause: handshake.ErrMalformedHead},
		{name: "rfc9112-2.2/bare-lf", raw: "HTTP/1.1 101 x\nUpgrade: websocket\n\n", cause: handshake.ErrMalformedHead},
		{name: "rfc9112-4/empty-status-line", raw: "\r\nHTTP/1.1 101 x\r\n\r\n", cause: handshake.ErrMalformedHead},
		{name: "rfc9112-5.2/obs-fold", raw: head("HTTP/1.1 101 x", "A: b", " c"), cause: handshake.ErrMalformedHead},
		{name: "limits/bytes", raw: head("HTTP/1.1 101 x", "A: "+strings.Repeat("b", 100)),
			lim: handshake.Limits{MaxHeadBytes: 50}, cause: handshake.ErrHeadTooLarge},
		{name: "limits/headers", raw: head("HTTP/1.1 101 x", "A: 1", "B: 2"),
			lim: handshake.Limits{MaxHeaders: 1}, cause: handshake.ErrHeadTooLarge},
	}
	for _, tt := range tests {
		forChunkings(t, tt.name, tt.raw, func(t *testing.T, br *bufio.Reader) {
			resp, err := handshake.ReadResponse(br, tt.lim)
			require.ErrorIs(t, err, tt.cause)
			assert.Nil(t, resp)
			var he *handshake.Error
			if errors.As(err, &he) {
				assert.Zero(t, he.Status, "a client sends no status")
			}
		})
	}
}

// TestReadRequestMatchesNetHTTP reads valid heads with both ReadRequest and net/http's
// ReadRequest, which must agree on every field both have.
func TestReadRequestMatchesNetHTTP(t *testing.T) {
	heads := []string{
		head(getLine, validFields...),
		head("GET /chat?room=1&x=%20 HTTP/1.1", append(validFields, "Origin: http://example.com", "Cookie: a=b; c=d")...),
		head("GET http://example.com:8080/a HTTP/1.1", "Host: example.com:8080", "Accept: */*"),
		head("GET / HTTP/1.1", "Host: [::1]:80", "x-lower: v", "X-UPPER: V", "x-Mixed-CASE: v", "X-Dup: 1", "x-dup: 2"),
		head("GET / HTTP/1.1", "host: h", "sec-websocket-key: k", "SEC-WEBSOCKET-VERSION: 13", "uSER-aGENT: u",
			"connection: a", "Connection: b", "accept: */*", "x_under: v", "Content-Md5: x", "Www-Authenticate: y"),
		head("GET / HTTP/1.1", "Host: h", "X-Ows:  \t v \t ", "X-Empty:", "X-Tab: a\tb"),
		head("POST /upload HTTP/1.0", "Host: h", "Content-Type: text/plain"),
		head("GET / HTTP/1.1", "Host: h", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits", "Sec-WebSocket-Extensions: x-foo"),
	}
	for i, raw := range heads {
		mine, err := handshake.ReadRequest(bufio.NewReader(strings.NewReader(raw)), handshake.Limits{})
		require.NoError(t, err, "head %d", i)
		theirs, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		require.NoError(t, err, "head %d", i)
		assert.Equal(t, theirs.Method, mine.Method, "head %d", i)
		assert.Equal(t, theirs.RequestURI, mine.Target, "head %d", i)
		assert.Equal(t, theirs.ProtoMajor, mine.ProtoMajor, "head %d", i)
		assert.Equal(t, theirs.ProtoMinor, mine.ProtoMinor, "head %d", i)
		assert.Equal(t, theirs.Host, mine.Host, "head %d", i)
		assert.Equal(t, theirs.Header, mine.Header, "head %d", i)
	}
}

func BenchmarkReadRequest(b *testing.B) {
	raw := head(getLine, append(validFields,
		"Origin: https://example.com",
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
		"Sec-WebSocket-Protocol: chat, superchat")...)
	sr := strings.NewReader(raw)
	br := bufio.NewReader(sr)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		sr.Reset(raw)
		br.Reset(sr)
		if _, err := handshake.ReadRequest(br, handshake.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
