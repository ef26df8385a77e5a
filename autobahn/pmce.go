package autobahn

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/flate"
)

// The suite's own permessage-deflate (RFC 7692), on klauspost/compress's
// flate, which speaks the same DEFLATE as compress/flate at several times
// its speed: sections 12 and 13 move gigabytes through it, and the suite's
// time there is mostly its own compression. It only has to speak the
// extension correctly with the parameters a case agreed on; it imports
// nothing of the library under test.

// pmceParams are the parameters of one permessage-deflate element.
type pmceParams struct {
	serverNoContext, clientNoContext bool
	serverBits, clientBits           int // 0: absent; -1: without a value
}

// parsePMCE reads one Sec-WebSocket-Extensions element; ok is false for
// another extension or a malformed one.
func parsePMCE(elem string) (p pmceParams, ok bool) {
	parts := strings.Split(elem, ";")
	if strings.TrimSpace(parts[0]) != "permessage-deflate" {
		return p, false
	}
	seen := map[string]bool{}
	for _, part := range parts[1:] {
		name, val, hasVal := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.TrimSpace(name)
		val = strings.Trim(strings.TrimSpace(val), `"`)
		if seen[name] {
			return p, false
		}
		seen[name] = true
		bits := -1
		if hasVal {
			n, err := strconv.Atoi(val)
			if err != nil || n < 8 || n > 15 {
				return p, false
			}
			bits = n
		}
		switch name {
		case "server_no_context_takeover":
			p.serverNoContext = true
		case "client_no_context_takeover":
			p.clientNoContext = true
		case "server_max_window_bits":
			p.serverBits = bits
		case "client_max_window_bits":
			p.clientBits = bits
		default:
			return p, false
		}
	}
	return p, true
}

// String is the wire form of p.
func (p pmceParams) String() string {
	s := "permessage-deflate"
	if p.clientNoContext {
		s += "; client_no_context_takeover"
	}
	if p.clientBits != 0 {
		s += "; client_max_window_bits"
		if p.clientBits > 0 {
			s += "=" + strconv.Itoa(p.clientBits)
		}
	}
	if p.serverNoContext {
		s += "; server_no_context_takeover"
	}
	if p.serverBits > 0 {
		s += "; server_max_window_bits=" + strconv.Itoa(p.serverBits)
	}
	return s
}

// pmceOffer is the original's offer for (requestNoContextTakeover,
// requestMaxWindowBits): it always accepts client_no_context_takeover and
// client_max_window_bits, and requests the server's parameters.
func pmceOffer(noContext bool, bits int) string {
	return pmceParams{clientNoContext: true, clientBits: -1, serverNoContext: noContext, serverBits: bits}.String()
}

// pmceAccept returns the Accept function of a case whose server side
// accepts the first offer it can with one of the (requestNoContextTakeover,
// requestMaxWindowBits) pairs, in order: a window request needs an offer
// with client_max_window_bits. What the offer asks of the server is granted.
func pmceAccept(prefs ...[2]int) func(offers []string) string {
	return func(offers []string) string {
		for _, pref := range prefs {
			for _, o := range offers {
				p, ok := parsePMCE(o)
				if !ok || (pref[1] != 0 && p.clientBits == 0) {
					continue
				}
				resp := pmceParams{serverNoContext: p.serverNoContext, serverBits: p.serverBits,
					clientNoContext: pref[0] != 0}
				if pref[1] != 0 {
					resp.clientBits = pref[1]
				}
				return resp.String()
			}
		}
		return ""
	}
}

// pmce is the negotiated extension on one connection of the suite.
type pmce struct {
	txNoContext bool // compress each message afresh
	txLiterals  bool // the window asked of the suite is below the codec's 32 KiB
	rxNoContext bool
	fw          *flate.Writer
	out         bytes.Buffer
	rxHist      []byte
	fr          io.ReadCloser // reused from message to message
	rxBuf       bytes.Buffer
	// Without context, the same message always compresses the same: the
	// last one is kept to send again.
	lastIn, lastOut []byte
}

// newPMCE sets up the extension agreed in the handshake response ext, for
// the suite's role; nil when none was agreed.
func newPMCE(ext string, isServer bool) *pmce {
	p, ok := parsePMCE(ext)
	if !ok {
		return nil
	}
	m := &pmce{}
	txBits := p.clientBits
	m.txNoContext, m.rxNoContext = p.clientNoContext, p.serverNoContext
	if isServer {
		txBits = p.serverBits
		m.txNoContext, m.rxNoContext = p.serverNoContext, p.clientNoContext
	}
	// The codec always uses a 32 KiB window; for a smaller one the suite
	// codes literals only, which refer to nothing and so fit any window.
	m.txLiterals = txBits > 0 && txBits < 15
	level := flate.BestSpeed
	if m.txLiterals {
		level = flate.HuffmanOnly
	}
	m.fw, _ = flate.NewWriter(&m.out, level)
	return m
}

// compress returns msg as the payload of a compressed message (RFC 7692,
// Section 7.2.1: DEFLATE, flushed, without the final 00 00 ff ff).
func (m *pmce) compress(msg []byte) []byte {
	if m.txNoContext && len(msg) > 0 && len(msg) == len(m.lastIn) && &msg[0] == &m.lastIn[0] {
		return m.lastOut
	}
	m.out.Reset()
	if m.txNoContext {
		m.fw.Reset(&m.out)
	}
	_, _ = m.fw.Write(msg)
	_ = m.fw.Flush()
	m.lastIn, m.lastOut = msg, bytes.Clone(bytes.TrimSuffix(m.out.Bytes(), []byte{0, 0, 0xff, 0xff}))
	return m.lastOut
}

// inflate returns the message in a compressed payload (Section 7.2.2).
func (m *pmce) inflate(payload []byte) ([]byte, error) {
	src := io.MultiReader(bytes.NewReader(payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))
	if m.fr == nil {
		m.fr = flate.NewReaderDict(src, m.rxHist)
	} else if err := m.fr.(flate.Resetter).Reset(src, m.rxHist); err != nil {
		return nil, err
	}
	m.rxBuf.Reset()
	if _, err := m.rxBuf.ReadFrom(io.LimitReader(m.fr, maxMessage+1)); err != nil {
		return nil, err
	}
	msg := bytes.Clone(m.rxBuf.Bytes())
	if len(msg) > maxMessage {
		return nil, errors.New("inflated message too big")
	}
	if !m.rxNoContext {
		m.rxHist = append(m.rxHist, msg...)
		if len(m.rxHist) > 1<<15 {
			m.rxHist = append([]byte(nil), m.rxHist[len(m.rxHist)-1<<15:]...)
		}
	}
	return msg, nil
}
