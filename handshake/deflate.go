package handshake

import (
	"fmt"
	"strings"
)

// DeflateName is the extension token of permessage-deflate (RFC 7692, Section 7).
const DeflateName = "permessage-deflate"

// Parameter names of permessage-deflate (RFC 7692, Section 7.1).
const (
	paramServerNoContextTakeover = "server_no_context_takeover"
	paramClientNoContextTakeover = "client_no_context_takeover"
	paramServerMaxWindowBits     = "server_max_window_bits"
	paramClientMaxWindowBits     = "client_max_window_bits"
)

// Window sizes of permessage-deflate, as the base-2 logarithm of the LZ77 window
// (RFC 7692, Section 7.1.2: "a decimal integer value without leading zeroes between 8 to 15,
// inclusive").
const (
	MinWindowBits = 8
	MaxWindowBits = 15
)

// WindowBitsNoValue in DeflateParams.ClientMaxWindowBits stands for a client_max_window_bits
// parameter without a value: in an offer, the client tells the server it can limit its
// window to whatever size the response names (RFC 7692, Section 7.1.2.2).
const WindowBitsNoValue = -1

// DeflateParams are the parameters of one permessage-deflate offer or response
// (RFC 7692, Section 7.1). A window-bits field is 0 when its parameter is absent.
//
// As a server's preferences for [AcceptDeflate] the fields mean: ServerNoContextTakeover,
// the server's compressor keeps no context between messages; ClientNoContextTakeover, ask
// the client to keep none either (the server then keeps no history to inflate with);
// ServerMaxWindowBits, the largest window the server's compressor uses (0 means 15);
// ClientMaxWindowBits, the largest window to ask of the client (0 means no request).
type DeflateParams struct {
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	// ServerMaxWindowBits is server_max_window_bits: 0 when absent, else 8-15.
	ServerMaxWindowBits int
	// ClientMaxWindowBits is client_max_window_bits: 0 when absent, 8-15 with a value, or
	// [WindowBitsNoValue] in an offer that carries the parameter without one.
	ClientMaxWindowBits int
}

// Extension returns p in the form of a Sec-WebSocket-Extensions element, parameters in
// the order of RFC 7692, Section 7.1. It does not validate p.
func (p DeflateParams) Extension() Extension {
	e := Extension{Name: DeflateName}
	if p.ServerNoContextTakeover {
		e.Params = append(e.Params, ExtensionParam{Name: paramServerNoContextTakeover})
	}
	if p.ClientNoContextTakeover {
		e.Params = append(e.Params, ExtensionParam{Name: paramClientNoContextTakeover})
	}
	if p.ServerMaxWindowBits != 0 {
		e.Params = append(e.Params, bitsParam(paramServerMaxWindowBits, p.ServerMaxWindowBits))
	}
	switch {
	case p.ClientMaxWindowBits == WindowBitsNoValue:
		e.Params = append(e.Params, ExtensionParam{Name: paramClientMaxWindowBits})
	case p.ClientMaxWindowBits != 0:
		e.Params = append(e.Params, bitsParam(paramClientMaxWindowBits, p.ClientMaxWindowBits))
	}
	return e
}

func bitsParam(name string, bits int) ExtensionParam {
	return ExtensionParam{Name: name, Value: fmt.Sprint(bits), HasValue: true}
}

// ParseDeflateOffer reads the parameters of a permessage-deflate offer. It returns an
// error wrapping [ErrBadExtension] for another extension and for the offers RFC 7692,
// Section 7 tells a server to decline: "The negotiation offer contains an extension
// parameter not defined for use in an offer", "an extension parameter with an invalid
// value", or "multiple extension parameters with the same name".
func ParseDeflateOffer(e Extension) (DeflateParams, error) {
	return parseDeflate(e, false)
}

// ParseDeflateResponse reads the parameters of a permessage-deflate response, by the same
// rules as [ParseDeflateOffer] except that client_max_window_bits needs a value
// (RFC 7692, Section 7.1.2.2). A client fails the connection on an error (RFC 7692,
// Section 7: the client "MUST _Fail the WebSocket Connection_"); [CheckDeflateResponse]
// also checks the response against the offer.
func ParseDeflateResponse(e Extension) (DeflateParams, error) {
	return parseDeflate(e, true)
}

func parseDeflate(e Extension, response bool) (DeflateParams, error) {
	var p DeflateParams
	if !strings.EqualFold(e.Name, DeflateName) {
		return p, fmt.Errorf("%w: %q is not %s", ErrBadExtension, e.Name, DeflateName)
	}
	seen := make(map[string]bool, len(e.Params))
	for _, q := range e.Params {
		name := strings.ToLower(q.Name)
		if seen[name] {
			return p, fmt.Errorf("%w: %s: duplicate parameter %q", ErrBadExtension, DeflateName, q.Name)
		}
		seen[name] = true
		var err error
		switch name {
		case paramServerNoContextTakeover, paramClientNoContextTakeover:
			// RFC 7692, Section 7.1.1: "This parameter has no value."
			if q.HasValue {
				err = fmt.Errorf("%w: %s: %s takes no value", ErrBadExtension, DeflateName, name)
			}
			if name == paramServerNoContextTakeover {
				p.ServerNoContextTakeover = true
			} else {
				p.ClientNoContextTakeover = true
			}
		case paramServerMaxWindowBits:
			// RFC 7692, Section 7.1.2.1: server_max_window_bits always has a value.
			p.ServerMaxWindowBits, err = parseWindowBits(q, false)
		case paramClientMaxWindowBits:
			// RFC 7692, Section 7.1.2.2: "This parameter has no value or a decimal integer
			// value"; in a response it "MUST" have one.
			p.ClientMaxWindowBits, err = parseWindowBits(q, !response)
		default:
			err = fmt.Errorf("%w: %s: unknown parameter %q", ErrBadExtension, DeflateName, q.Name)
		}
		if err != nil {
			return DeflateParams{}, err
		}
	}
	return p, nil
}

// parseWindowBits reads a window-bits value: a decimal integer 8-15 without leading zeros.
func parseWindowBits(q ExtensionParam, noValueOK bool) (int, error) {
	if !q.HasValue {
		if noValueOK {
			return WindowBitsNoValue, nil
		}
		return 0, fmt.Errorf("%w: %s: %s needs a value", ErrBadExtension, DeflateName, q.Name)
	}
	v := q.Value
	if len(v) == 1 && v[0] >= '8' && v[0] <= '9' {
		return int(v[0] - '0'), nil
	}
	if len(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5' {
		return 10 + int(v[1]-'0'), nil
	}
	return 0, fmt.Errorf("%w: %s: %s=%q is not 8-15", ErrBadExtension, DeflateName, q.Name, v)
}

// AcceptDeflate picks the first permessage-deflate offer among offers that a server with
// the preferences pref can accept, and returns the parameters of its response and true,
// or false when there is none. Offers of other extensions are skipped, and so are the
// malformed ones RFC 7692, Section 7 says to decline ("A server MUST decline an extension
// negotiation offer for this extension if ..."); the next offer is then considered
// ("the server ... may choose the next one", Section 5).
//
// Every window size of 8 to 15 bits a client asks for is accepted: the response carries
// server_max_window_bits with the smaller of the offered value and
// pref.ServerMaxWindowBits (RFC 7692, Section 7.1.2.1: "A server accepts an extension
// negotiation offer with this parameter by including the "server_max_window_bits"
// extension parameter in the extension negotiation response to send back to the client
// with the same or smaller value as the offer"). client_max_window_bits is answered only
// when offered (Section 7.1.2.2: otherwise the response "MUST NOT include" it).
// server_no_context_takeover is echoed when offered or preferred, and
// client_no_context_takeover is sent when offered (the client announced it will not use
// context, so the server need not keep history) or preferred.
//
// It is meant for ServerOptions.NegotiateExtensions; see the example.
func AcceptDeflate(offers []Extension, pref DeflateParams) (DeflateParams, bool) {
	for _, e := range offers {
		if !strings.EqualFold(e.Name, DeflateName) {
			continue
		}
		offer, err := ParseDeflateOffer(e)
		if err != nil {
			continue
		}
		resp := DeflateParams{
			ServerNoContextTakeover: offer.ServerNoContextTakeover || pref.ServerNoContextTakeover,
			ClientNoContextTakeover: offer.ClientNoContextTakeover || pref.ClientNoContextTakeover,
		}
		if offer.ServerMaxWindowBits != 0 {
			resp.ServerMaxWindowBits = min(offer.ServerMaxWindowBits, windowOrMax(pref.ServerMaxWindowBits))
		}
		if offer.ClientMaxWindowBits != 0 {
			want := windowOrMax(pref.ClientMaxWindowBits)
			if offer.ClientMaxWindowBits > 0 {
				want = min(want, offer.ClientMaxWindowBits)
			}
			if want < MaxWindowBits || offer.ClientMaxWindowBits > 0 {
				resp.ClientMaxWindowBits = want
			}
		}
		return resp, true
	}
	return DeflateParams{}, false
}

// windowOrMax maps a window preference (0 = none) to a window size, clamping it to 8-15.
func windowOrMax(bits int) int {
	if bits <= 0 || bits > MaxWindowBits {
		return MaxWindowBits
	}
	return max(bits, MinWindowBits)
}

// CheckDeflateResponse checks a server's permessage-deflate response resp against the
// client's offer (as the client sent it, e.g. built with [DeflateParams.Extension]) and
// returns the response's parameters. It returns an error wrapping [ErrBadExtension] for a
// malformed response ([ParseDeflateResponse]) and for one the offer did not allow: a
// client_max_window_bits the client did not offer (RFC 7692, Section 7.1.2.2: "If a
// received extension negotiation offer doesn't have the "client_max_window_bits" extension
// parameter, the corresponding extension negotiation response to the offer MUST NOT include
// the "client_max_window_bits" extension parameter") or larger than its offered value, and
// a server_max_window_bits larger than offered. A response may add server_no_context_takeover
// and client_no_context_takeover, and may name a server window the offer did not limit.
func CheckDeflateResponse(offer DeflateParams, resp Extension) (DeflateParams, error) {
	p, err := ParseDeflateResponse(resp)
	if err != nil {
		return p, err
	}
	switch {
	case p.ClientMaxWindowBits != 0 && offer.ClientMaxWindowBits == 0:
		return DeflateParams{}, fmt.Errorf("%w: %s: client_max_window_bits not offered", ErrBadExtension, DeflateName)
	case p.ClientMaxWindowBits > offer.ClientMaxWindowBits && offer.ClientMaxWindowBits > 0:
		return DeflateParams{}, fmt.Errorf("%w: %s: client_max_window_bits=%d over the offered %d",
			ErrBadExtension, DeflateName, p.ClientMaxWindowBits, offer.ClientMaxWindowBits)
	case p.ServerMaxWindowBits > offer.ServerMaxWindowBits && offer.ServerMaxWindowBits > 0:
		return DeflateParams{}, fmt.Errorf("%w: %s: server_max_window_bits=%d over the offered %d",
			ErrBadExtension, DeflateName, p.ServerMaxWindowBits, offer.ServerMaxWindowBits)
	}
	return p, nil
}

// checkDeflateResponses applies [CheckDeflateResponse] to the permessage-deflate element of
// a response, if any: the response may hold one at most, and it must fit one of the
// client's permessage-deflate offers (the server answers one of them, RFC 7692, Section 5).
func checkDeflateResponses(offers, resp []Extension) error {
	n := 0
	for _, r := range resp {
		if !strings.EqualFold(r.Name, DeflateName) {
			continue
		}
		if n++; n > 1 {
			return fmt.Errorf("%w: %s accepted twice", ErrBadExtension, DeflateName)
		}
		var firstErr error
		fits := false
		for _, o := range offers {
			if !strings.EqualFold(o.Name, DeflateName) {
				continue
			}
			offer, err := ParseDeflateOffer(o)
			if err != nil {
				continue // the client's own offer; [Client] sent it as given
			}
			if _, err := CheckDeflateResponse(offer, r); err != nil {
				firstErr = cmpErr(firstErr, err)
				continue
			}
			fits = true
			break
		}
		if !fits {
			if firstErr == nil {
				firstErr = fmt.Errorf("%w: %s response fits no offer", ErrBadExtension, DeflateName)
			}
			return firstErr
		}
	}
	return nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
