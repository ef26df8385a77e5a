package fuzz_test

import (
	"bufio"
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

// Named regression tests for the inputs the fuzz targets found; each input
// is also kept in testdata/fuzz under the name given here.

// answerWith returns a memConn that answers the client's request with resp,
// its accept placeholder filled in for the key the client sent.
func answerWith(t *testing.T, resp string) *memConn {
	t.Helper()
	nc := newMemConn(nil)
	nc.respond = func(written []byte) []byte {
		req, err := handshake.ReadRequest(bufio.NewReader(bytes.NewReader(written)), handshake.Limits{})
		if err != nil {
			t.Errorf("client request: %v", err)
			return nil
		}
		return []byte(strings.ReplaceAll(resp, acceptPlaceholder, refAcceptKey(req.Header.Get("Sec-WebSocket-Key"))))
	}
	return nc
}

// TestRegressionDeflateResponse: FuzzReadResponse found
// 7692-deflate-unknown-param. RFC 7692, Section 7: the client "MUST _Fail
// the WebSocket Connection_" on a response with "an extension parameter
// not defined for use in a response", "an extension parameter with an
// invalid value" or "multiple extension parameters with the same name".
func TestRegressionDeflateResponse(t *testing.T) {
	for _, tc := range []struct {
		name, ext string
		ok        bool
	}{
		{"7692-7/unknown-param", "permessAge-deflAte;0", false},
		{"7692-7/duplicate-param", "permessage-deflate; server_no_context_takeover; server_no_context_takeover", false},
		{"7692-7.1.2/window-bits-7", "permessage-deflate; server_max_window_bits=7", false},
		{"7692-7.1.2.2/client-bits-without-value", "permessage-deflate; client_max_window_bits", false},
		{"7692-7.1.2/valid", "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := answerWith(t, strings.Replace(validResponse, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: "+tc.ext+"\r\n\r\n", 1))
			u := &url.URL{Scheme: "ws", Host: "server.example.com", Path: "/chat"}
			res, err := handshake.Client(context.Background(), nc, u, &handshake.ClientOptions{Extensions: []handshake.Extension{clientExtension}})
			if tc.ok {
				require.NoError(t, err)
				assert.Len(t, res.Extensions, 1)
				return
			}
			require.ErrorIs(t, err, handshake.ErrBadExtension)
			var he *handshake.Error
			require.ErrorAs(t, err, &he)
			assert.Equal(t, 101, he.Status)
			assert.True(t, nc.isClosed(), "the connection is closed on failure")
		})
	}
}

// readCompressed has a server that agreed on permessage-deflate read the
// client's frames until the end, and returns the messages and the end.
func readCompressed(t *testing.T, frames []byte) ([][]byte, error) {
	t.Helper()
	req := strings.Replace(validRequest, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", 1)
	c, err := conn.Accept(context.Background(), newMemConn(append([]byte(req), frames...)),
		&conn.AcceptOptions{Options: conn.Options{Compression: &conn.CompressionOptions{}}})
	require.NoError(t, err)
	var msgs [][]byte
	for {
		_, b, err := c.ReadMessage(context.Background())
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, b)
	}
}

// TestRegressionDeflateFinalBlock: FuzzReadCompressed found
// 7692-bfinal-block-ends-message and 7692-bfinal-block-before-message-end.
// RFC 7692, Section 7.2.3.4 lets a sender end a message's data with a
// DEFLATE block that has BFINAL set; the reader inflates it and ignores
// the 0x00 0x00 0xff 0xff it appends. A final block followed by more of
// the message's payload is refused as invalid compressed data (1007), a
// choice the RFC leaves to the reader.
func TestRegressionDeflateFinalBlock(t *testing.T) {
	t.Run("7692-7.2.3.4/bfinal-block-ends-message", func(t *testing.T) {
		// A 5-byte stored block, then a final fixed-Huffman block whose
		// end-of-block code runs into the appended tail.
		payload := unhex(t, "00 05 00 fa ff 48 11 0d 07 ca 5b")
		msgs, err := readCompressed(t, maskedFrame(true, true, frame.OpBinary, payload))
		require.Equal(t, frame.CloseAbnormal, conn.CloseStatus(err), "the stream ends after the message: %v", err)
		assert.Equal(t, [][]byte{unhex(t, "48 11 0d 07 ca a0")}, msgs)
	})
	t.Run("7692-7.2.3.4/bfinal-block-before-message-end", func(t *testing.T) {
		// A final block holding "@", then payload the frame announces
		// after it.
		payload := append(unhex(t, "73 00 00"), "more payload"...)
		msgs, err := readCompressed(t, maskedFrame(true, true, frame.OpText, payload))
		require.ErrorIs(t, err, conn.ErrBadCompressedData)
		assert.Empty(t, msgs)
	})
}

// TestRegressionDeflateCutAfterFinalBlock: FuzzReadCompressed found
// 7692-cut-after-final-block-eof and 7692-cut-after-final-block-cut-header.
// A compressed first fragment whose data ends exactly with a final DEFLATE
// block makes the reader look for more of the message; when the stream ends
// there instead, the message was cut short (1006, RFC 6455, Section 7.1.5),
// not invalid compressed data (1007). What follows instead decides the end.
func TestRegressionDeflateCutAfterFinalBlock(t *testing.T) {
	// FIN clear, RSV1, text; the masked payload is 13 08 08 00 00, a final
	// fixed-Huffman block holding 10 50 50 (any final block does).
	fragment := unhex(t, "41 85 37 38 30 30 24 30 38 30 37")
	for _, tc := range []struct {
		name  string
		after []byte
		code  frame.CloseCode
	}{
		{"7.1.5/end-of-stream", nil, frame.CloseAbnormal},
		{"7.1.5/cut-header", unhex(t, "80"), frame.CloseAbnormal},
		{"5.5.2/ping-then-end-of-stream", maskedFrame(true, false, frame.OpPing, []byte("p")), frame.CloseAbnormal},
		{"5.5.1/close", maskedFrame(true, false, frame.OpClose, unhex(t, "03 e8")), frame.CloseNormal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := readCompressed(t, append(bytes.Clone(fragment), tc.after...))
			require.Error(t, err)
			require.NotErrorIs(t, err, conn.ErrBadCompressedData)
			assert.Equal(t, tc.code, conn.CloseStatus(err), "%v", err)
			assert.Empty(t, msgs)
		})
	}
}
