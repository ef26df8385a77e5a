package autobahn

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Verdict is the grade the suite gives one aspect of a case, spelled as
// Autobahn|Testsuite spells it in its reports.
type Verdict string

// The verdicts, as they appear in reports.
const (
	OK             Verdict = "OK"
	NonStrict      Verdict = "NON-STRICT"
	Informational  Verdict = "INFORMATIONAL"
	Unimplemented  Verdict = "UNIMPLEMENTED"
	Failed         Verdict = "FAILED"
	WrongCode      Verdict = "WRONG CODE"
	Unclean        Verdict = "UNCLEAN"
	FailedByClient Verdict = "FAILED BY CLIENT"
)

// Passed reports whether v lets a case pass in strict mode: OK, or
// INFORMATIONAL (which the original gives a few cases for every peer).
func (v Verdict) Passed() bool { return v == OK || v == Informational }

// EventKind names what the suite observed from the peer.
type EventKind string

// The observable events. Pings are answered by the suite and never recorded,
// as in the original.
const (
	EventMessage EventKind = "message"
	EventPong    EventKind = "pong"
	EventTimeout EventKind = "timeout"
)

// Event is one observation of a case: a complete message, a pong, or a
// timeout marker that a case records itself when one of its delays elapsed
// with the connection still open.
type Event struct {
	Kind    EventKind
	Payload []byte // message or pong payload, or the timeout tag
	Binary  bool   // messages only
}

// Message is the event of receiving a complete message of type op.
func Message(op Opcode, payload []byte) Event {
	return Event{Kind: EventMessage, Payload: payload, Binary: op == OpBinary}
}

// Pong is the event of receiving a pong with payload p.
func Pong(p []byte) Event { return Event{Kind: EventPong, Payload: p} }

// Timeout is the marker a case records when its delay tag elapsed.
func Timeout(tag string) Event { return Event{Kind: EventTimeout, Payload: []byte(tag)} }

func (e Event) equal(o Event) bool {
	return e.Kind == o.Kind && e.Binary == o.Binary && bytes.Equal(e.Payload, o.Payload)
}

// maxLoggedPayload is how much of a payload or of a write reports show, as
// the original: 64 bytes, then " ...".
const maxLoggedPayload = 64

// logPayload renders a payload for reports: text when it is valid UTF-8,
// "0x" and hex otherwise, cut at maxLoggedPayload with " ..." appended.
func logPayload(p []byte, forceHex bool) string {
	cut := len(p) > maxLoggedPayload
	if cut {
		p = p[:maxLoggedPayload]
	}
	var s string
	if len(p) == 0 {
		return ""
	}
	if !forceHex && utf8.Valid(p) {
		s = string(p)
	} else {
		s = "0x" + hex.EncodeToString(p)
	}
	if cut {
		s += " ..."
	}
	return s
}

// MarshalJSON writes the event as the original does: ["message", payload, binary],
// ["pong", payload] or ["timeout", tag].
func (e Event) MarshalJSON() ([]byte, error) {
	switch e.Kind {
	case EventMessage:
		return json.Marshal([]any{e.Kind, logPayload(e.Payload, e.Binary), e.Binary})
	default:
		return json.Marshal([]any{e.Kind, logPayload(e.Payload, false)})
	}
}

func eventsEqual(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

// Alternative is one acceptable sequence of events and the verdict it earns.
type Alternative struct {
	Verdict Verdict
	Events  []Event
}

// CloseExpect states how a case expects the connection to end.
type CloseExpect struct {
	// ClosedByMe: the suite (true) or the peer (false) sends the first close frame.
	ClosedByMe bool
	// Codes are the close codes accepted from the peer; a close frame without a
	// code is accepted too. The first one is what the suite sends when it closes.
	Codes []int
	// RequireClean: the closing handshake must complete before the TCP closes.
	RequireClean bool
	// WrongEndpointFatal turns a close by the wrong endpoint into a failed
	// behavior too: the peer did not notice what it had to reject.
	WrongEndpointFatal bool
}

// MarshalJSON writes the original's expectedClose object.
func (c CloseExpect) MarshalJSON() ([]byte, error) {
	m := map[string]any{"closedByMe": c.ClosedByMe, "closeCode": c.Codes, "requireClean": c.RequireClean}
	if c.WrongEndpointFatal {
		m["closedByWrongEndpointIsFatal"] = true
	}
	return json.Marshal(m)
}

// Outcome is what the suite saw of the connection's end.
type Outcome struct {
	Received        []Event
	ClosedByMe      bool // the suite sent the first close frame
	DroppedByMe     bool // the suite closed the TCP connection first
	WasClean        bool // the closing handshake completed
	RemoteCloseCode int  // 0 when the peer sent no (valid) code
	IsServer        bool // the suite played the server (fuzzingserver mode)
}

// The results texts, kept as the original words them: tools that read
// Autobahn reports match on them.
const (
	resultMatch      = "Actual events match at least one expected."
	resultNoMatch    = "Actual events differ from any expected."
	resultCloseOK    = "Connection was properly closed"
	resultCloseWrong = "The connection was failed by the wrong endpoint"
	resultUnclean    = "The spec requires the connection to be failed cleanly here"
	resultByClient   = "It is preferred that the server close the TCP connection"
)

// Judgement is the pair of verdicts of a case with their explanations.
type Judgement struct {
	Behavior      Verdict
	Result        string
	BehaviorClose Verdict
	ResultClose   string
}

// Judge applies the original's rules. behavior starts as initial (FAILED for
// most cases; a case may have set its own verdict) and becomes the verdict of
// the first alternative whose events equal the received ones. The close
// verdict checks, in order: which endpoint closed first, whether the close
// was clean when required, whether the peer's code is one of the expected
// (a missing code is accepted), and, when the suite is the client, whether
// the server closed the TCP connection.
func Judge(alts []Alternative, ec CloseExpect, o Outcome, initial Verdict, initialResult string) Judgement {
	j := Judgement{Behavior: initial, Result: initialResult}
	for _, a := range alts {
		if eventsEqual(o.Received, a.Events) {
			j.Behavior, j.Result = a.Verdict, resultMatch
			break
		}
	}
	switch {
	case ec.ClosedByMe != o.ClosedByMe:
		j.BehaviorClose, j.ResultClose = Failed, resultCloseWrong
	case ec.RequireClean && !o.WasClean:
		j.BehaviorClose, j.ResultClose = Unclean, resultUnclean
	case o.RemoteCloseCode != 0 && !containsCode(ec.Codes, o.RemoteCloseCode):
		j.BehaviorClose, j.ResultClose = WrongCode, "The close code should have been "+joinCodes(ec.Codes)+" or empty"
	case !o.IsServer && o.DroppedByMe:
		j.BehaviorClose, j.ResultClose = FailedByClient, resultByClient
	default:
		j.BehaviorClose, j.ResultClose = OK, resultCloseOK
	}
	if ec.WrongEndpointFatal && ec.ClosedByMe != o.ClosedByMe {
		j.Behavior = Failed
	}
	return j
}

func containsCode(codes []int, c int) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}

func joinCodes(codes []int) string {
	var b []byte
	for i, c := range codes {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(c), 10)
	}
	return string(b)
}

func marshalEvents(evs []Event) ([]byte, error) {
	if evs == nil {
		evs = []Event{}
	}
	return json.Marshal(evs)
}
