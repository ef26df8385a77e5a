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

// last returns the newest n bytes of the history (all of it if it holds fewer) in
// order: a part of buf where they lie in one piece, else a copy laid out in scratch. The
// result is valid until the next write.
func (h *history) last(n int, scratch *[]byte) []byte {
	n = min(n, len(h.buf))
	if h.start == 0 {
		return h.buf[len(h.buf)-n:]
	}
	// Full and wrapped: the newest byte is buf[start-1], the oldest buf[start].
	if n <= h.start {
		return h.buf[h.start-n : h.start]
	}
	older := h.buf[len(h.buf)-(n-h.start):]
	*scratch = append(append((*scratch)[:0], older...), h.buf[:h.start]...)
	return *scratch
}

// appendLast appends the newest n bytes of the history (n at most its length) to dst,
// in order.
func (h *history) appendLast(dst []byte, n int) []byte {
	if h.start == 0 {
		return append(dst, h.buf[len(h.buf)-n:]...)
	}
	if n <= h.start {
		return append(dst, h.buf[h.start-n:h.start]...)
	}
	dst = append(dst, h.buf[len(h.buf)-(n-h.start):]...)
	return append(dst, h.buf[:h.start]...)
}
