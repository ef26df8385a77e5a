package autobahn

import (
	"encoding/hex"
	"time"
)

// Expect sets the events that earn verdict v; the case passes with v when
// the events received equal evs exactly, in order. Calling it again for the
// same verdict replaces the list.
func (s *Session) Expect(v Verdict, evs ...Event) {
	if evs == nil {
		evs = []Event{}
	}
	for i := range s.alts {
		if s.alts[i].Verdict == v {
			s.alts[i].Events = evs
			return
		}
	}
	s.alts = append(s.alts, Alternative{Verdict: v, Events: evs})
}

// ExpectClose sets how the connection is expected to end.
func (s *Session) ExpectClose(ec CloseExpect) { s.expectClose = ec }

// Send sends one unfragmented frame with opcode op.
func (s *Session) Send(op Opcode, payload []byte) {
	s.SendFrame(Frame{Opcode: op, Fin: true, Payload: payload})
}

// SendFrame sends f as it is, even when it is illegal. Frames sent from the
// same callback leave in one write unless Chop or Sync is set.
func (s *Session) SendFrame(f Frame) {
	if s.state == stateClosed {
		return
	}
	s.writeFrame(f)
}

// BeginFrame sends the header of a frame whose payload of length total
// follows in FrameData calls, so that one frame can be spread over time.
func (s *Session) BeginFrame(op Opcode, fin bool, total int) {
	if s.state == stateClosed {
		return
	}
	var key *[4]byte
	if !s.isServer {
		s.streamKey = s.newKey()
		key = &s.streamKey
	}
	s.streamPos = 0
	s.w.push(writeItem{data: appendHeader(nil, op, fin, 0, total, key)})
}

// FrameData sends the next part of the payload of the frame begun with
// BeginFrame, masked with that frame's key when the suite is the client.
func (s *Session) FrameData(p []byte) {
	if s.state == stateClosed {
		return
	}
	b := append([]byte(nil), p...)
	if !s.isServer {
		s.streamPos = maskBytes(s.streamKey, s.streamPos, b)
	}
	s.w.push(writeItem{data: b})
}

// Close starts the closing handshake with code (NoCode: an empty body), as
// the original's sendClose: nothing happens unless the connection is open.
func (s *Session) Close(code int) {
	if s.state != stateOpen {
		return
	}
	var p []byte
	if code != NoCode {
		p = ClosePayload(code, nil)
	}
	s.sendClose(p, false)
}

// CloseFrame sends a close frame with any payload (an invalid code, a bad
// reason, a body too long) and, if the connection is open, starts the
// closing handshake as the endpoint that closed first.
func (s *Session) CloseFrame(payload []byte) {
	if s.state == stateClosed {
		return
	}
	s.sendClose(payload, false)
}

// ContinueLater runs fn after d, unless the connection has ended by then.
// tag names the delay in the wire log.
func (s *Session) ContinueLater(d time.Duration, tag string, fn func()) {
	s.log("CT", d.Seconds(), nullable(tag))
	s.after(d, func() {
		if s.state != stateClosed {
			s.log("CTE", nullable(tag))
			fn()
		}
	})
}

// KillAfter fails the connection after d if it has not ended: the closing
// handshake with 1001 when open, a TCP drop when already closing.
func (s *Session) KillAfter(d time.Duration) {
	s.log("KL", d.Seconds())
	s.after(d, func() {
		if s.state != stateClosed {
			s.log("KLE")
			s.failConnection(1001, "Going Away")
		}
	})
}

// CloseAfter starts the closing handshake (empty close body) after d, if
// the connection is still open then.
func (s *Session) CloseAfter(d time.Duration) {
	s.log("TI", d.Seconds())
	s.after(d, func() {
		if s.state != stateClosed {
			s.log("TIE")
			s.Close(NoCode)
		}
	})
}

// Record appends ev to the received events.
func (s *Session) Record(ev Event) { s.received = append(s.received, ev) }

// Received returns the events recorded so far. The slice is the session's own.
func (s *Session) Received() []Event { return s.received }

// Open reports whether the connection is open (no close frame sent yet).
func (s *Session) Open() bool { return s.state == stateOpen }

// OnMessage replaces what happens when a complete message arrives. The
// payload belongs to the hook.
func (s *Session) OnMessage(fn func(op Opcode, payload []byte)) { s.onMessage = fn }

// OnPong replaces what happens when a pong arrives.
func (s *Session) OnPong(fn func(payload []byte)) { s.onPong = fn }

// DefaultOnMessage records the message, then closes if the events received
// equal every expected alternative.
func (s *Session) DefaultOnMessage(op Opcode, payload []byte) {
	s.Record(Message(op, payload))
	s.finishWhenDone()
}

// DefaultOnPong records the pong, then closes as DefaultOnMessage does.
func (s *Session) DefaultOnPong(payload []byte) {
	s.Record(Pong(payload))
	s.finishWhenDone()
}

// finishWhenDone starts the closing handshake with the first expected code
// once the received events equal all alternatives, as the original does
// (with several alternatives, this never happens: the case's timers close).
func (s *Session) finishWhenDone() {
	for _, a := range s.alts {
		if !eventsEqual(s.received, a.Events) {
			return
		}
	}
	if s.expectClose.ClosedByMe && !s.suppressClose && len(s.expectClose.Codes) > 0 {
		s.Close(s.expectClose.Codes[0])
	}
}

// SuppressClose keeps the session from closing when the expected events
// arrived; the case closes itself.
func (s *Session) SuppressClose() { s.suppressClose = true }

// SetBehavior sets the behavior verdict and its explanation, for cases that
// grade the peer themselves; a matching alternative still overrides it.
func (s *Session) SetBehavior(v Verdict, result string) { s.behavior, s.result = v, result }

// ReportTime marks the case as a timing case: reports show its duration.
func (s *Session) ReportTime() { s.reportTime = true }

// Wirelog turns the wire log on or off (large transfers turn it off).
func (s *Session) Wirelog(on bool) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if on != s.wirelogOn {
		s.wirelogOn = on
		s.wirelog = append(s.wirelog, []any{"WLM", on})
	}
}

// AllowRSV sets the reserved bits (as a number 0-7, RSV1 is 4) that a
// negotiated extension gives a meaning to, so frames from the peer with
// them set are not a protocol violation (compression cases: RSV1).
func (s *Session) AllowRSV(bits uint8) { s.allowRSV = bits & 7 }

// Extensions returns the Sec-WebSocket-Extensions agreed in the handshake.
func (s *Session) Extensions() string { return s.extensions }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Session) log(row ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.wirelog = append(s.wirelog, row)
}

func hexLog(p []byte) []any {
	n := len(p)
	h := hex.EncodeToString(p[:min(n, maxLoggedPayload)])
	if n > maxLoggedPayload {
		h += " ..."
	}
	return []any{n, h}
}

func (s *Session) logTx(p []byte, sync bool) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.txOctets[len(p)]++
	if s.wirelogOn {
		s.wirelog = append(s.wirelog, []any{"TO", hexLog(p), sync})
	}
}

func (s *Session) logRx(p []byte) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.rxOctets[len(p)]++
	if s.wirelogOn {
		s.wirelog = append(s.wirelog, []any{"RO", hexLog(p)})
	}
}

func (s *Session) logTxFrame(f *Frame, key *[4]byte) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.txFrameStats[int(f.Opcode)]++
	if !s.wirelogOn {
		return
	}
	var rep, chop any
	if f.RepeatLen > 0 {
		rep = f.RepeatLen
	}
	if f.Chop > 0 {
		chop = f.Chop
	}
	s.wirelog = append(s.wirelog, []any{"TF", []any{len(f.Payload), logPayload(f.Payload, false)},
		int(f.Opcode), f.Fin, int(f.RSV), maskHex(key), rep, chop, f.Sync})
}

func (s *Session) logRxFrame(f *inFrame) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.rxFrameStats[int(f.Opcode)]++
	if !s.wirelogOn {
		return
	}
	var key *[4]byte
	if f.Masked {
		key = &f.Key
	}
	s.wirelog = append(s.wirelog, []any{"RF", []any{len(f.Payload), logPayload(f.Payload, false)},
		int(f.Opcode), f.Fin, int(f.RSV), f.Masked, maskHex(key)})
}
