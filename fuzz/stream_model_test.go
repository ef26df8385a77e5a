package fuzz_test

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"

	"duplex/frame"
)

// The reference model of a frame stream read by one endpoint (RFC 6455,
// Sections 5 to 8), as package conn must read it: which messages and
// control frames come out, and how the stream ends.

type eventKind int

const (
	evMessage eventKind = iota
	evPing
	evPong
)

type event struct {
	kind eventKind
	op   byte // the message's opcode for evMessage
	data []byte
}

type endKind int

const (
	endEOF       endKind = iota // the stream ended without a close frame: code 1006, nothing sent
	endClose                    // a valid close frame arrived
	endViolation                // the peer broke a rule: fail with one of codes
)

// streamResult is what the model expects from reading a stream.
type streamResult struct {
	events []event
	end    endKind
	// eofOK: at a violation the stream also ended, and a reader that waits
	// for the rest of a header before judging it may report the end instead.
	eofOK bool
	// loose: compressed data went bad; a reader may read further frames
	// (and answer their pings) before it notices.
	loose  bool
	codes  []frame.CloseCode // endViolation: the codes the RFC allows here
	code   frame.CloseCode   // endClose: the peer's code (1005 when none)
	reason string            // endClose
	used   int               // bytes of the stream the model looked at
}

func violation(codes ...frame.CloseCode) streamResult {
	return streamResult{end: endViolation, codes: codes}
}

// modelStream reads b as the endpoint of the given role with the read limit
// lim (negative: none) would, without extensions.
func modelStream(b []byte, role frame.Role, lim int64) streamResult {
	return modelStreamWith(b, role, lim, nil)
}

// modelStreamWith is modelStream with permessage-deflate agreed when dfl
// is not nil.
func modelStreamWith(b []byte, role frame.Role, lim int64, dfl *deflateModel) (res streamResult) {
	var (
		events  []event
		msgOp   byte // opcode of the message in progress, 0 for none
		msgBuf  []byte
		msgLen  uint64
		pos     int
		textBuf []byte // a text message so far, for the fail-fast check
		deflate bool   // the message in progress is compressed
		tainted bool   // its data went bad; the reader must fail by its end
		allowed frame.RSV
	)
	if dfl != nil {
		allowed = frame.RSV1Bit // RFC 7692, Section 6: RSV1 marks a compressed message
	}
	defer func() {
		res.events = events
		res.used = pos
		if tainted {
			// RFC 7692 fixes that bad compressed data fails the
			// connection, not when a reader that inflates as it reads
			// notices: it may first read further frames (answering
			// pings, taking a close) or meet the end of the stream.
			res.loose = true
			res.eofOK = true
			for _, c := range looseCodes {
				res.codes = appendOnce(res.codes, c)
			}
		}
	}()
	for {
		if pos == len(b) {
			return streamResult{end: endEOF}
		}
		h, st, badIfShort := refDecodeHeader(b[pos:])
		switch st {
		case headerShort:
			// The stream ended inside a header. A reader may judge the
			// bytes it has (they may already break a rule) or report the
			// end of the stream.
			if badIfShort || refCheck(h, role, allowed) != nil {
				r := violation(frame.CloseProtocolError)
				r.eofOK = true
				return r
			}
			return streamResult{end: endEOF}
		case headerMalformed:
			return violation(frame.CloseProtocolError)
		}
		var codes []frame.CloseCode
		if refCheck(h, role, allowed) != nil {
			codes = append(codes, frame.CloseProtocolError)
		}
		// RFC 7692, Section 6.1: RSV1 is set on the first frame of a
		// compressed message only, never on a control frame.
		if dfl != nil && h.rsv1 && (isControlOp(h.op) || h.op == 0) {
			codes = appendOnce(codes, frame.CloseProtocolError)
		}
		if isDataOp(h.op) {
			// RFC 6455, Section 5.4: a continuation continues a message
			// in progress; a text or binary frame may not start inside one.
			if h.op == 0 && msgOp == 0 || h.op != 0 && msgOp != 0 {
				codes = appendOnce(codes, frame.CloseProtocolError)
			}
			// The read limit bounds a whole message; the frame that
			// would take it past the limit fails the connection (1009,
			// RFC 6455, Section 7.4.1: "a message that is too big").
			var sofar uint64
			compressed := dfl != nil && h.rsv1
			if h.op == 0 {
				sofar = msgLen
				compressed = deflate
			}
			wireLim := lim
			if compressed && lim >= 0 {
				wireLim = dfl.wireLimit(lim)
			}
			if lim >= 0 && sofar+h.length > uint64(wireLim) {
				codes = append(codes, frame.CloseTooBig)
			}
		}
		if len(codes) > 0 {
			return violation(codes...)
		}
		pos += h.size
		avail := uint64(len(b) - pos)
		n := min(h.length, avail)
		payload := bytes.Clone(b[pos : pos+int(n)])
		pos += int(n)
		if h.masked {
			refMask(h.key, 0, payload)
		}
		if isControlOp(h.op) {
			if n < h.length {
				return streamResult{end: endEOF}
			}
			switch h.op {
			case 0x9:
				events = append(events, event{kind: evPing, data: payload})
			case 0xA:
				events = append(events, event{kind: evPong, data: payload})
			case 0x8:
				return modelClose(payload)
			}
			continue
		}
		if h.op != 0 {
			msgOp = h.op
			msgBuf = msgBuf[:0]
			textBuf = textBuf[:0]
			msgLen = 0
			deflate = dfl != nil && h.rsv1
		}
		msgLen += h.length
		msgBuf = append(msgBuf, payload...)
		if deflate {
			done := h.fin && n == h.length
			if !tainted {
				// What the bytes so far inflate to, as a reader
				// inflating as it reads may already have seen it.
				out, ended, early, bad := dfl.inflate(msgBuf, done)
				// Bytes after a final block are not DEFLATE data: the
				// RFC does not say whether a reader ignores or refuses
				// them, nor whether it must wait for them to refuse, so
				// a final block followed by payload, arrived or only
				// announced by the frame's length, may go either way.
				// Frames that add nothing after it change nothing.
				if early || ended && n < h.length {
					bad = true
				}
				tainted = bad || lim >= 0 && int64(len(out)) > lim || msgOp == 0x1 && refFailFast(out) >= 0 ||
					done && msgOp == 0x1 && !utf8.Valid(out)
				if !tainted && done {
					dfl.record(out)
					events = append(events, event{kind: evMessage, op: msgOp, data: out})
					msgOp = 0
					continue
				}
			}
			switch {
			case n < h.length:
				return streamResult{end: endEOF}
			case done && tainted:
				return violation(looseCodes...) // the message ends: the reader must have failed
			}
			continue
		}
		if msgOp == 0x1 {
			// RFC 6455, Section 8.1: invalid UTF-8 fails the connection;
			// a reader that checks as bytes arrive fails at the first
			// byte that cannot start valid text, even in a cut frame.
			textBuf = append(textBuf, payload...)
			if refFailFast(textBuf) >= 0 {
				return violation(frame.CloseInvalidPayload)
			}
		}
		if n < h.length {
			return streamResult{end: endEOF}
		}
		if h.fin {
			if msgOp == 0x1 && !utf8.Valid(msgBuf) {
				return violation(frame.CloseInvalidPayload)
			}
			events = append(events, event{kind: evMessage, op: msgOp, data: bytes.Clone(msgBuf)})
			msgOp = 0
		}
	}
}

// modelClose reads the body of a close frame (RFC 6455, Section 5.5.1).
func modelClose(p []byte) streamResult {
	if len(p) == 0 {
		return streamResult{end: endClose, code: frame.CloseNoStatus}
	}
	var codes []frame.CloseCode
	if len(p) == 1 {
		return violation(frame.CloseProtocolError)
	}
	code := binary.BigEndian.Uint16(p)
	if !refCloseCodeValid(code) {
		codes = append(codes, frame.CloseProtocolError)
	}
	if !utf8.Valid(p[2:]) {
		codes = append(codes, frame.CloseInvalidPayload)
	}
	if len(codes) > 0 {
		return violation(codes...)
	}
	return streamResult{end: endClose, code: frame.CloseCode(code), reason: string(p[2:])}
}

func appendOnce(codes []frame.CloseCode, c frame.CloseCode) []frame.CloseCode {
	for _, x := range codes {
		if x == c {
			return codes
		}
	}
	return append(codes, c)
}
