package autobahn

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// userAgent identifies the suite in its requests and responses.
const userAgent = "duplex-autobahn"

// maxHead bounds an HTTP head the suite reads.
const maxHead = 16 << 10

// errHeadTooLarge reports an HTTP head over maxHead.
var errHeadTooLarge = errors.New("autobahn: HTTP head too large")

// readHead reads an HTTP head through the blank line and not one byte more,
// so that frames the peer sends right after it stay in r.
func readHead(r *bufio.Reader) ([]byte, error) {
	var head []byte
	for {
		line, err := r.ReadSlice('\n')
		head = append(head, line...)
		if err != nil {
			return head, err
		}
		if len(head) > maxHead {
			return head, errHeadTooLarge
		}
		if len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "" {
			return head, nil
		}
	}
}

// acceptKey computes Sec-WebSocket-Accept (RFC 6455, Section 4.2.2).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// HandshakeError reports a failed opening handshake.
type HandshakeError struct {
	Status int // HTTP status of the response, when one was read
	Reason string
}

// Error describes the refusal, with the HTTP status when there is one.
func (e *HandshakeError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("autobahn: handshake refused with status %d: %s", e.Status, e.Reason)
	}
	return "autobahn: handshake: " + e.Reason
}

// clientHandshake writes the opening request for u and reads the response.
// It returns the raw request and response heads for the report.
func clientHandshake(rw *bufio.ReadWriter, u *url.URL, offer []string) (req, resp string, exts string, err error) {
	key := newKey()
	path := u.RequestURI()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\n", path)
	fmt.Fprintf(&b, "User-Agent: %s\r\nHost: %s\r\n", userAgent, u.Host)
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n")
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	if len(offer) > 0 {
		fmt.Fprintf(&b, "Sec-WebSocket-Extensions: %s\r\n", strings.Join(offer, ", "))
	}
	b.WriteString("\r\n")
	req = b.String()
	if _, err = rw.WriteString(req); err == nil {
		err = rw.Flush()
	}
	if err != nil {
		return req, "", "", err
	}
	head, err := readHead(rw.Reader)
	resp = string(head)
	if err != nil {
		return req, resp, "", err
	}
	r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), nil)
	if err != nil {
		return req, resp, "", &HandshakeError{Reason: err.Error()}
	}
	_ = r.Body.Close()
	// RFC 6455, Section 4.1: "If the status code received from the server is
	// not 101, the client handles the response per HTTP procedures."
	if r.StatusCode != http.StatusSwitchingProtocols {
		return req, resp, "", &HandshakeError{Status: r.StatusCode, Reason: "status is not 101"}
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") || !headerHasToken(r.Header, "Connection", "upgrade") {
		return req, resp, "", &HandshakeError{Status: r.StatusCode, Reason: "missing Upgrade or Connection header"}
	}
	if r.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		return req, resp, "", &HandshakeError{Status: r.StatusCode, Reason: "wrong Sec-WebSocket-Accept"}
	}
	return req, resp, strings.Join(r.Header.Values("Sec-WebSocket-Extensions"), ", "), nil
}

// serverRequest is an opening request the suite accepted as a server.
type serverRequest struct {
	raw    string
	path   string
	query  url.Values
	key    string
	offers []string // Sec-WebSocket-Extensions values
}

// readClientRequest reads and checks an opening request (RFC 6455, Section 4.2.1).
func readClientRequest(r *bufio.Reader) (*serverRequest, error) {
	head, err := readHead(r)
	if err != nil {
		return nil, err
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		return nil, &HandshakeError{Status: http.StatusBadRequest, Reason: err.Error()}
	}
	sr := &serverRequest{raw: string(head), path: req.URL.Path, query: req.URL.Query(), key: req.Header.Get("Sec-WebSocket-Key")}
	switch {
	case req.Method != http.MethodGet:
		return sr, &HandshakeError{Status: http.StatusMethodNotAllowed, Reason: "method is not GET"}
	case !headerHasToken(req.Header, "Upgrade", "websocket"), !headerHasToken(req.Header, "Connection", "upgrade"):
		return sr, &HandshakeError{Status: http.StatusBadRequest, Reason: "not a WebSocket upgrade"}
	case sr.key == "":
		return sr, &HandshakeError{Status: http.StatusBadRequest, Reason: "missing Sec-WebSocket-Key"}
	case req.Header.Get("Sec-WebSocket-Version") != "13":
		return sr, &HandshakeError{Status: http.StatusUpgradeRequired, Reason: "unsupported Sec-WebSocket-Version"}
	}
	for _, v := range req.Header.Values("Sec-WebSocket-Extensions") {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				sr.offers = append(sr.offers, o)
			}
		}
	}
	return sr, nil
}

// acceptResponse is the 101 response to sr, with the accepted extension (may be empty).
func acceptResponse(sr *serverRequest, ext string) string {
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	fmt.Fprintf(&b, "Server: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", userAgent)
	fmt.Fprintf(&b, "Sec-WebSocket-Accept: %s\r\n", acceptKey(sr.key))
	if ext != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Extensions: %s\r\n", ext)
	}
	b.WriteString("\r\n")
	return b.String()
}

// refusal is an HTTP error response for err.
func refusal(err error) string {
	status := http.StatusBadRequest
	var he *HandshakeError
	if errors.As(err, &he) && he.Status != 0 {
		status = he.Status
	}
	body := err.Error() + "\n"
	extra := ""
	if status == http.StatusUpgradeRequired {
		extra = "Sec-WebSocket-Version: 13\r\n"
	}
	return fmt.Sprintf("HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), extra, len(body), body)
}

// headerHasToken reports whether a comma-separated header contains token,
// compared case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
