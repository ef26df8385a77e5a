package handshake

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"net/http"
)

// indexedLines is how many header lines a lineIndex holds: browsers send about 15.
const indexedLines = 32

// lineIndex is the fast path of Accept's head reader. In one pass over the read buffer it
// frames the lines of a request head and checks the syntax of each header line, noting
// where its name and value are, so that the fields are taken from the head's copy without
// looking at its bytes again. It vouches only for heads that are valid at the level of
// [ReadRequest]: every header line a token, a colon and a value without control bytes but
// HTAB, every line ended by CRLF, within the limits, no empty line before the request line
// and at most indexedLines header lines. For anything else it gives up, and headScan
// reads the head from its start by the line rules of ReadRequest, which find the error
// and its status.
type lineIndex struct {
	off        int   // where the next line starts; 0 before the request line
	requestEnd int32 // the request line is head[:requestEnd]
	n          int
	fields     [indexedLines]struct{ start, colon, cr int32 }
}

// scan looks at the lines of b, the first bytes of the stream, from where it stopped. It
// returns the length of the head once b holds all of it, 0 when it needs more bytes, or -1
// when it gives up.
func (ix *lineIndex) scan(b []byte, max, maxHeaders int) int {
	for {
		off := ix.off
		if off == 0 {
			i := bytes.IndexByte(b, '\n')
			switch {
			case i < 0:
				return ix.more(b, max)
			case i < 2 || b[i-1] != '\r' || i+1 > max: // an empty or a bare-LF line, or too long
				return -1
			}
			ix.requestEnd, ix.off = int32(i-1), i+1
			continue
		}
		if off >= len(b) {
			return ix.more(b, max)
		}
		if b[off] == '\r' { // the empty line that ends the head, or a bare CR
			if off+1 == len(b) {
				return ix.more(b, max)
			}
			if b[off+1] != '\n' || off+2 > max {
				return -1
			}
			return off + 2
		}
		// RFC 9112, Section 5: field-name ":" OWS field-value OWS. A name starting with
		// whitespace (obs-fold) or holding any other byte than a token's gives up.
		i := off
		for i < len(b) && tokenChars[b[i]] {
			i++
		}
		if i == len(b) {
			return ix.more(b, max)
		}
		if i == off || b[i] != ':' {
			return -1
		}
		cr := ctlIndex(b, i+1)
		if cr == len(b) || (cr+1 == len(b) && b[cr] == '\r') {
			return ix.more(b, max)
		}
		if b[cr] != '\r' || b[cr+1] != '\n' || cr+2 > max || ix.n == maxHeaders || ix.n == len(ix.fields) {
			return -1
		}
		ix.fields[ix.n].start, ix.fields[ix.n].colon, ix.fields[ix.n].cr = int32(off), int32(i), int32(cr)
		ix.n++
		ix.off = cr + 2
	}
}

func (ix *lineIndex) more(b []byte, max int) int {
	if len(b) > max {
		return -1
	}
	return 0
}

// ctlIndex returns the index in b, from i on, of the first control byte other than HTAB
// (a CTL, which a field value may not hold but as its line's CRLF: RFC 9110, Section 5.5),
// or len(b) if there is none. It looks at eight bytes at a time.
func ctlIndex(b []byte, i int) int {
	for i+8 <= len(b) {
		m := ctlMask(binary.LittleEndian.Uint64(b[i:]))
		if m == 0 {
			i += 8
			continue
		}
		j := i + bits.TrailingZeros64(m)/8
		if b[j] != '\t' {
			return j
		}
		i = j + 1
	}
	for ; i < len(b); i++ {
		if c := b[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return i
		}
	}
	return len(b)
}

// ctlMask flags the bytes of w, a little-endian word, below 0x20 or equal to 0x7f: the
// lowest flagged byte, the only one ctlIndex looks at, exactly, and none if there is none.
// They are the tests of "Bit Twiddling Hacks" for a byte less than n and for a zero byte
// (of w ^ 0x7f..7f): each may flag a byte above the first true one, through a borrow that
// only a true one starts, never one below.
func ctlMask(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	del := w ^ 0x7f*ones
	return ((w-0x20*ones)&^w | (del-ones)&^del) & highs
}

// gather takes in the fields of a head whose lines ix indexed.
func (q *upgradeRequest) gather(head string, ix *lineIndex) *Error {
	if err := q.requestLine(head[:ix.requestEnd]); err != nil {
		return err
	}
	for _, f := range ix.fields[:ix.n] {
		// Most fields are none the checks look at: their values are not even trimmed.
		if k := kindOf(head[f.start:f.colon]); k != otherField {
			q.take(k, trimOWS(head[f.colon+1:f.cr]))
		}
	}
	return q.checkHosts()
}

// parse takes in the fields of a head string that headScan framed, by the rules of
// parseRequest.
func (q *upgradeRequest) parse(head string) *Error {
	line, fields := cutLine(skipEmptyLines(head))
	if err := q.requestLine(line); err != nil {
		return err
	}
	for {
		if line, fields = cutLine(fields); line == "" {
			break
		}
		name, value, err := fieldLine(line)
		if err != nil {
			return malformed(http.StatusBadRequest, "%s", err)
		}
		q.field(name, value)
	}
	return q.checkHosts()
}

func (q *upgradeRequest) requestLine(line string) *Error {
	// The request line of a handshake, "GET" SP request-target SP "HTTP/1.1", as
	// parseRequestLine would read it: a target with no space, valid as validTarget says, is
	// what lies between the first space and the second.
	if len(line) > len("GET  HTTP/1.1") && line[:4] == "GET " && line[len(line)-9:] == " HTTP/1.1" && validTarget(line[4:len(line)-9]) {
		q.method, q.major, q.minor = http.MethodGet, 1, 1
		return nil
	}
	method, _, major, minor, err := parseRequestLine(line)
	if err != nil {
		return malformed(http.StatusBadRequest, "%s", err)
	}
	q.method, q.major, q.minor = method, major, minor
	return nil
}

// checkHosts applies RFC 9112, Section 3.2 to the Host lines of a head.
func (q *upgradeRequest) checkHosts() *Error {
	if q.hosts == 0 {
		return nil
	}
	return checkHost(q.hosts, q.host)
}
