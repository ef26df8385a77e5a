package chat

// SetOpenHook makes f run at the start of every room's opening on h, before the store is read: a test
// stands in a slow or failing store with it. It must be set before h serves anyone.
func SetOpenHook(h *Hub, f func(room string) error) { h.openHook = f }

// OpenWaiters is how many joiners wait for room to be opened on h.
func OpenWaiters(h *Hub, room string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if op := h.opening[room]; op != nil {
		return op.waiters
	}
	return 0
}

// SetAppendHook makes f run before every send's append to the stream on h. It must be set before h
// serves anyone.
func SetAppendHook(h *Hub, f func(room string)) { h.appendHook = f }

// RoomSeq is the seq of the last event room has applied on h, 0 if h has no such room open.
func RoomSeq(h *Hub, room string) uint64 {
	h.mu.Lock()
	r := h.rooms[room]
	h.mu.Unlock()
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.unlock()
	return r.seq
}
