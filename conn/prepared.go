package conn

import (
	"context"
	"fmt"
	"sync"

	"duplex/frame"
	"duplex/internal/deflate"
)

// PreparedMessage is a message encoded once for many connections, as a
// broadcast sends it: [Conn.WritePrepared] writes it to each without
// encoding it again. Its compressed form (permessage-deflate, RFC 7692) is
// made once per window and level, for the connections that compress each
// message on its own; a connection with context takeover compresses with
// its own history, as for any message. A client masks the frame into its
// own buffer with its own key (RFC 6455, Section 5.3), so one prepared
// message serves clients and servers alike.
//
// A PreparedMessage is safe for concurrent use by any number of
// connections.
type PreparedMessage struct {
	typ  MessageType
	data []byte

	mu       sync.Mutex
	deflated map[prepKey][]byte
}

// prepKey is what a compressed form depends on.
type prepKey struct {
	bits, level int
}

// NewPreparedMessage prepares a message of type typ with a copy of data.
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	if !typ.valid() {
		return nil, errMessageType
	}
	return &PreparedMessage{typ: typ, data: append([]byte(nil), data...)}, nil
}

// Type returns the message's type.
func (pm *PreparedMessage) Type() MessageType { return pm.typ }

// Len returns the size of the message's payload, uncompressed.
func (pm *PreparedMessage) Len() int { return len(pm.data) }

// deflatedFor returns the message compressed with window bits and level,
// on its own, made at the first call for those parameters.
func (pm *PreparedMessage) deflatedFor(k prepKey) []byte {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if b, ok := pm.deflated[k]; ok {
		return b
	}
	enc := deflate.NewEncoder(k.bits, k.level, false)
	b := enc.Message(nil, pm.data)
	if pm.deflated == nil {
		pm.deflated = make(map[prepKey][]byte, 1)
	}
	pm.deflated[k] = b
	return b
}

// WritePrepared sends pm as one message, as [Conn.WriteMessage] would send
// its payload: the same rules for contexts, concurrency and errors, and
// compressed when WriteMessage would compress it. The frame's payload, or
// its compressed form, is the prepared one; only the header is made for
// this connection.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("conn: write: %w", err)
	}
	if err := c.acquire(ctx, &c.w.msgLock); err != nil {
		return err
	}
	defer c.w.msgLock.release()
	op := frame.Opcode(pm.typ)
	if !c.compressing(ctx, len(pm.data)) {
		return c.writeWhole(ctx, op, false, pm.data, 0)
	}
	if c.comp.fresh {
		return c.writeWhole(ctx, op, true, pm.deflatedFor(c.comp.write), 0)
	}
	return c.writeCompressed(ctx, op, pm.data)
}
