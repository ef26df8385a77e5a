package conn_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/websocket"

	"duplex/conn"
	"duplex/frame"
)

// interopSizes are the payload sizes around the length encodings of
// RFC 6455, Section 5.2 (7-bit, 16-bit, 64-bit), and a large message.
var interopSizes = []int{0, 125, 126, 65535, 65536, 1 << 20}

// interopOptions let the largest message through. WriteMessage sends one
// frame per message, which matters here: golang.org/x/net/websocket reads a
// frame, not a message.
var interopOptions = conn.Options{ReadLimit: 2 << 20}

// interopPayload returns n bytes of printable ASCII, valid as text and
// recognisable as binary.
func interopPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// xnetFrame is one frame as golang.org/x/net/websocket sees it.
type xnetFrame struct {
	data []byte
	typ  byte
}

// rawCodec moves frames through golang.org/x/net/websocket with their type.
var rawCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		f := v.(xnetFrame)
		return f.data, f.typ, nil
	},
	Unmarshal: func(data []byte, typ byte, v any) error {
		*v.(*xnetFrame) = xnetFrame{data: data, typ: typ}
		return nil
	},
}

// TestInteropXNetClient: golang.org/x/net/websocket's client against our
// server (Upgrade in an httptest server).
func TestInteropXNetClient(t *testing.T) {
	ended := make(chan error, 1) // why each server connection ended
	srv := wsServer(t, servePlain, &conn.AcceptOptions{Options: interopOptions}, func(c *conn.Conn) {
		ctx := context.Background()
		for {
			typ, b, err := c.ReadMessage(ctx)
			if err != nil {
				ended <- err
				return
			}
			if string(b) == "close please" {
				_ = c.Close(frame.CloseNormal, "as asked")
				continue
			}
			if err := c.WriteMessage(ctx, typ, b); err != nil {
				ended <- err
				return
			}
		}
	})
	dialXNet := func(t *testing.T) *websocket.Conn {
		ws, err := websocket.Dial(wsURL(srv)+"/", "", srv.URL)
		require.NoError(t, err)
		ws.MaxPayloadBytes = 2 << 20
		return ws
	}

	t.Run("echo", func(t *testing.T) {
		ws := dialXNet(t)
		for _, n := range interopSizes {
			for _, typ := range []byte{websocket.TextFrame, websocket.BinaryFrame} {
				want := xnetFrame{data: interopPayload(n), typ: typ}
				require.NoError(t, rawCodec.Send(ws, want))
				var got xnetFrame
				require.NoError(t, rawCodec.Receive(ws, &got))
				assert.Equal(t, want.typ, got.typ, "size %d", n)
				assert.True(t, bytes.Equal(want.data, got.data), "size %d type %d", n, typ)
			}
		}
		// Their close: a close frame with 1000.
		require.NoError(t, ws.Close())
		var ce conn.CloseError
		require.ErrorAs(t, receive(t, ended), &ce)
		assert.Equal(t, frame.CloseNormal, ce.Code)
	})

	t.Run("our-close", func(t *testing.T) {
		ws := dialXNet(t)
		defer ws.Close()
		require.NoError(t, websocket.Message.Send(ws, "close please"))
		var s string
		require.ErrorIs(t, websocket.Message.Receive(ws, &s), io.EOF)
		require.NoError(t, ws.Close()) // its reply to our close
		var ce conn.CloseError
		require.ErrorAs(t, receive(t, ended), &ce)
		assert.Equal(t, frame.CloseNormal, ce.Code)
	})
}

// TestInteropXNetServer: our client (Dial) against
// golang.org/x/net/websocket's server.
func TestInteropXNetServer(t *testing.T) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var serverErrs []error
	handler := websocket.Handler(func(ws *websocket.Conn) {
		// Its server only closes the TCP connection when the handler
		// returns; Close sends its close frame (1000) first.
		defer ws.Close()
		ws.MaxPayloadBytes = 2 << 20
		for {
			var f xnetFrame
			if err := rawCodec.Receive(ws, &f); err != nil {
				mu.Lock()
				serverErrs = append(serverErrs, err)
				mu.Unlock()
				return // our close frame reads as EOF
			}
			if string(f.data) == "close please" {
				return
			}
			if err := rawCodec.Send(ws, f); err != nil {
				return
			}
		}
	})
	// Counted before the hijack, while httptest's Close still waits for the
	// request, so that Add cannot race with Wait.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	// Its server refuses a request without Origin.
	opts := &conn.DialOptions{ClientOptions: conn.ClientOptions{Origin: srv.URL}, Options: interopOptions}

	t.Run("echo", func(t *testing.T) {
		c, _, err := conn.Dial(testCtx(t), wsURL(srv), opts)
		require.NoError(t, err)
		defer c.CloseNow()
		for _, n := range interopSizes {
			for _, typ := range []conn.MessageType{conn.MessageText, conn.MessageBinary} {
				want := interopPayload(n)
				gotType, got := roundTrip(t, c, typ, want)
				assert.Equal(t, typ, gotType, "size %d", n)
				assert.True(t, bytes.Equal(want, got), "size %d type %s", n, typ)
			}
		}
		// Our close: its server sees the end of the stream and answers
		// with its own close frame.
		require.NoError(t, c.Close(frame.CloseNormal, ""))
	})

	t.Run("their-close", func(t *testing.T) {
		c, _, err := conn.Dial(testCtx(t), wsURL(srv), opts)
		require.NoError(t, err)
		defer c.CloseNow()
		require.NoError(t, c.WriteMessage(testCtx(t), conn.MessageText, []byte("close please")))
		_, _, err = c.ReadMessage(testCtx(t))
		var ce conn.CloseError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, frame.CloseNormal, ce.Code)
	})
	srv.Close()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, serverErrs)
	assert.ErrorIs(t, serverErrs[0], io.EOF, "our close frame ends its Receive")
}
