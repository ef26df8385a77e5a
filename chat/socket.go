package chat

import (
	"context"
	"errors"

	"duplex/conn"
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

// errBinary reports a binary message, which the chat protocol has no use for.
var errBinary = errors.New("chat: binary message")

// NewSocket adapts c to Socket. A binary message closes the connection with 1003 (unsupported data),
// since every message of the protocol is JSON text.
func NewSocket(c *conn.Conn) Socket { return connSocket{c} }

type connSocket struct{ c *conn.Conn }

func (s connSocket) ReadMessage(ctx context.Context) ([]byte, error) {
	t, b, err := s.c.ReadMessage(ctx)
	if err != nil {
		return nil, err
	}
	if t != conn.MessageText {
		// RFC 6455, Section 7.4.1: 1003 "indicates that an endpoint is terminating the connection because
		// it has received a type of data it cannot accept".
		_ = s.c.Close(frame.CloseUnsupportedData, "binary messages are not supported")
		return nil, errBinary
	}
	return b, nil
}

func (s connSocket) WriteMessage(ctx context.Context, msg []byte) error {
	return s.c.WriteMessage(ctx, conn.MessageText, msg)
}

func (s connSocket) Close(code frame.CloseCode, reason string) error { return s.c.Close(code, reason) }

func (s connSocket) CloseNow() error { return s.c.CloseNow() }

// batchWriter is a socket that writes a client's drained queue at once. The adapter of a *conn.Conn is one:
// it corks the connection around the queue, so the messages leave in one write (or as few as the write
// buffer allows), and writes each room event from its PreparedMessage, framed once for all members.
type batchWriter interface {
	// writeBatch writes msgs in order and returns how many it wrote.
	writeBatch(ctx context.Context, msgs []*outMsg) (int, error)
}

func (s connSocket) writeBatch(ctx context.Context, msgs []*outMsg) (int, error) {
	n := 0
	err := s.c.Cork(ctx, func() error {
		for _, m := range msgs {
			var err error
			if m.pm != nil {
				err = s.c.WritePrepared(ctx, m.pm)
			} else {
				err = s.c.WriteMessage(ctx, conn.MessageText, m.b)
			}
			if err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
