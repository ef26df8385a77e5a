package main

import (
	"encoding/binary"
	"io"
	"time"
)

// The shared mode of an unverified echo of sharedMin bytes or more. The
// payload is built and masked once per connection with the connection's
// one masking key (the server unmasks whatever key a frame carries, so a
// key reused is as much work for it as a fresh one); a message's own part
// is its header and its first seqLen bytes, the sequence number, masked
// in place at key position 0, which leaves the shared rest starting at key
// position 0 too (seqLen is a multiple of 4). A message leaves in one
// writev of the two; on arrival the header and the sequence number are
// read and checked, and the rest is dropped unread.

// initShared builds the shared tail and the reader's state of a client in
// shared mode.
func (c *client) initShared(window int) {
	c.shared = true
	c.in = make([]byte, seqLen)
	p := make([]byte, c.size)
	fill(p, c.id, 0)
	mask(c.key, 0, p)
	c.tail = p[seqLen:]
	c.hdrLen = len(appendClientHeader(nil, opBinary, c.size, c.key))
	c.growHeads(window)
	c.drop = newDropper(c.nc)
}

// growHeads makes room for the heads of n messages written together.
func (c *client) growHeads(n int) {
	if len(c.heads) >= n*(c.hdrLen+seqLen) {
		return
	}
	c.heads = c.heads[:0]
	for range n {
		c.heads = appendClientHeader(c.heads, opBinary, c.size, c.key)
		c.heads = binary.LittleEndian.AppendUint64(c.heads, 0)
	}
	c.vec = make([][]byte, 0, 2*n)
}

// writeShared writes the next n messages, stamped with now, in one writev
// (net.Buffers): each message's header and masked sequence number, then
// the shared tail, which is neither copied nor masked again.
func (c *client) writeShared(now time.Duration, window, n int) error {
	c.growHeads(n)
	hl := c.hdrLen + seqLen
	c.bufs = c.vec[:0]
	for i := range n {
		h := c.heads[i*hl : (i+1)*hl]
		p := h[c.hdrLen:]
		binary.LittleEndian.PutUint64(p, c.nextSend)
		mask(c.key, 0, p)
		c.sent[c.nextSend%uint64(window)] = now
		c.nextSend++
		c.bufs = append(c.bufs, h, c.tail)
	}
	// WriteTo consumes c.bufs; c.vec's array is laid again next time.
	_, err := c.bufs.WriteTo(c.nc)
	return err
}

// discard drops the next m bytes of the connection: first those the
// reader holds, then the kernel's, without copying them where the system
// can (see dropper), else through a scratch buffer.
func (c *client) discard(m int) error {
	k := min(c.br.Buffered(), m)
	_, _ = c.br.Discard(k) // held already: cannot fail
	m -= k
	for m > 0 {
		k, err := c.drop.kernel(m)
		if err != nil {
			return err
		}
		if k == 0 {
			if c.scratch == nil {
				c.scratch = make([]byte, min(c.size, 64<<10))
			}
			// The reader holds nothing now, and the scratch is no
			// smaller than its buffer, so bufio reads into it directly.
			if k, err = io.ReadFull(c.br, c.scratch[:min(m, len(c.scratch))]); err != nil {
				return err
			}
		}
		m -= k
	}
	return nil
}
