package main

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"strings"
	"sync"
)

// permessage-deflate ([RFC 7692]) for the broadcast row: the load generator
// offers it without context takeover either way, so that every server
// compresses each message on its own and can compress a broadcast once for
// all its connections, and inflates what arrives with compress/flate.
//
// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692

// deflateOffer is the one offer the load generator makes. It leaves out
// client_max_window_bits, so the server may not limit the client's window
// (the client never compresses anyway), and server_max_window_bits, so the
// server chooses its own.
const deflateOffer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// checkDeflateResponse checks the Sec-WebSocket-Extensions of a response to
// deflateOffer: one permessage-deflate, well formed, answering the offer.
// RFC 7692, Section 7: a client that receives a response it cannot accept
// "MUST _Fail the WebSocket Connection_".
func checkDeflateResponse(ext string) error {
	if strings.TrimSpace(ext) == "" {
		return fmt.Errorf("%w: permessage-deflate was offered and declined", errHandshake)
	}
	if strings.Contains(ext, ",") {
		return fmt.Errorf("%w: Sec-WebSocket-Extensions %q: one extension was offered", errHandshake, ext)
	}
	parts := strings.Split(ext, ";")
	if name := strings.TrimSpace(parts[0]); !strings.EqualFold(name, "permessage-deflate") {
		return fmt.Errorf("%w: extension %q was not offered", errHandshake, name)
	}
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		name, value, hasValue := strings.Cut(strings.TrimSpace(p), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.Trim(strings.TrimSpace(value), `"`)
		// RFC 7692, Section 7: a response with "multiple extension
		// parameters with the same name" is invalid.
		if seen[name] {
			return fmt.Errorf("%w: permessage-deflate: %s twice", errHandshake, name)
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover", "client_no_context_takeover":
			// Section 7.1.1: "This parameter has no value."
			if hasValue {
				return fmt.Errorf("%w: permessage-deflate: %s takes no value", errHandshake, name)
			}
		case "server_max_window_bits":
			// Section 7.1.2.1: the server may name its window even
			// unasked; a decimal 8 to 15 without leading zeros.
			if !windowBits(value) {
				return fmt.Errorf("%w: permessage-deflate: server_max_window_bits=%q", errHandshake, value)
			}
		case "client_max_window_bits":
			// Section 7.1.2.2: "If a received extension negotiation offer
			// doesn't have the "client_max_window_bits" extension
			// parameter, the corresponding extension negotiation response
			// to the offer MUST NOT include" it.
			return fmt.Errorf("%w: permessage-deflate: client_max_window_bits was not offered", errHandshake)
		default:
			return fmt.Errorf("%w: permessage-deflate: unknown parameter %q", errHandshake, name)
		}
	}
	// Section 7.1.1.1: a server accepts an offer of
	// server_no_context_takeover by including it in the response. Without
	// it the server may compress with its history, and each message could
	// not be inflated on its own.
	if !seen["server_no_context_takeover"] {
		return fmt.Errorf("%w: permessage-deflate accepted without server_no_context_takeover", errHandshake)
	}
	return nil
}

func windowBits(v string) bool {
	switch len(v) {
	case 1:
		return v[0] >= '8' && v[0] <= '9'
	case 2:
		return v[0] == '1' && v[1] >= '0' && v[1] <= '5'
	}
	return false
}

// deflateTail is what a sender removes from the end of each compressed
// message and the receiver appends before inflating (RFC 7692, Section
// 7.2.2): the empty stored block that ends a sync flush.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// inflaters hold flate readers for inflate: one costs about 40 KiB, too
// much to keep per connection when ten thousand are open.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// inflate decompresses one message compressed on its own (no context
// takeover) into dst[:0], refusing more than limit bytes, and returns it.
func inflate(dst, compressed []byte, limit int) ([]byte, error) {
	fr := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(fr)
	src := io.MultiReader(bytes.NewReader(compressed), bytes.NewReader(deflateTail))
	if err := fr.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, fmt.Errorf("%w: %w", errBroadcast, err)
	}
	dst = dst[:0]
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := fr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return nil, fmt.Errorf("%w: a message inflates past %d bytes", errBroadcast, limit)
		}
		switch {
		case err == io.EOF:
			return dst, nil
		case err == io.ErrUnexpectedEOF && len(dst) > 0:
			// The tail ends the stream without a final block: the
			// message is whole once the data runs out after it.
			return dst, nil
		case err != nil:
			return nil, fmt.Errorf("%w: invalid DEFLATE data: %w", errBroadcast, err)
		}
	}
}
