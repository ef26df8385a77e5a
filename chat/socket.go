package chat

import (
	"context"

	"duplex/frame"
)

// Socket is the part of a WebSocket connection the hub uses. The hub calls ReadMessage from one goroutine
// and WriteMessage and Close from another, so an implementation must allow one reader and one writer at once.
// [NewSocket] adapts a *conn.Conn.
type Socket interface {
	// ReadMessage returns the next text message. The hub keeps reading until it gets an error, so
	// that control frames (ping, close) are answered. The returned slice belongs to the caller.
	ReadMessage(ctx context.Context) ([]byte, error)
	// WriteMessage sends msg as one text message. msg is shared with other sockets and must not be modified.
	WriteMessage(ctx context.Context, msg []byte) error
	// Close starts the closing handshake with code and reason and waits, for a bounded time, for its end;
	// then the connection is closed. ReadMessage returns an error once it is over.
	Close(code frame.CloseCode, reason string) error
	// CloseNow closes the connection without a handshake.
	CloseNow() error
}
