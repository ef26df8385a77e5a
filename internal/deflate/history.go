package deflate

// history is the plaintext a direction's next message may refer to: the last window
// bytes of its messages, in a ring, so that adding a message copies only its own bytes.
// It grows with the messages up to the window, so that short ones keep a short history.
type history struct {
	buf    []byte // at most window bytes; once full, the oldest is buf[start]
	start  int
	window int
}

func (h *history) len() int { return len(h.buf) }

func (h *history) reset() { h.buf, h.start = nil, 0 }

// write adds p at the end, dropping what falls out of the window.
func (h *history) write(p []byte) {
	if len(p) >= h.window {
		p = p[len(p)-h.window:]
	}
	if n := len(h.buf) + len(p); n <= h.window && h.start == 0 {
		if n > cap(h.buf) {
			grown := make([]byte, len(h.buf), min(h.window, max(n, 2*cap(h.buf))))
			copy(grown, h.buf)
			h.buf = grown
		}
		h.buf = append(h.buf, p...)
		return
	}
	if len(h.buf) < h.window {
		// Filling up the window (start is 0 until it is full): fill it, then wrap.
		if cap(h.buf) < h.window {
			grown := make([]byte, len(h.buf), h.window)
			copy(grown, h.buf)
			h.buf = grown
		}
		k := copy(h.buf[len(h.buf):h.window], p)
		h.buf = h.buf[:len(h.buf)+k]
		p = p[k:]
	}
	for len(p) > 0 {
		k := copy(h.buf[h.start:], p)
		p = p[k:]
		h.start = (h.start + k) % h.window
	}
}

// appendTo appends the history to dst, oldest byte first.
func (h *history) appendTo(dst []byte) []byte {
	return append(append(dst, h.buf[h.start:]...), h.buf[:h.start]...)
}

// bytes returns the history in order: buf itself while it has not wrapped, else a copy
// laid out in scratch. The result is valid until the next write.
func (h *history) bytes(scratch *[]byte) []byte {
	if h.start == 0 {
		return h.buf
	}
	*scratch = h.appendTo((*scratch)[:0])
	return *scratch
}
