package handshake

import (
	"slices"
	"strings"
)

// vetted is what a scratch remembers of the last options it validated: a copy of the
// fields that [ServerOptions.validate] looks at, and the header lines of Header as the 101
// response carries them. Options are usually one value shared by every handshake of a
// server, so the next handshake finds the same content, compares it (a string compare of
// the same memory stops at its pointer) and skips the checks: the path.Match of every
// origin pattern, the syntax of every extra header, the sorting of its keys. Comparing the
// content, not the options' address, keeps it right for a caller that changes its options
// between handshakes, or builds a new value for each (as conn.Accept does with compression).
//
// It holds references to the strings of those options, not to the options themselves, for
// as long as the scratch lives in the pool.
type vetted struct {
	valid        bool // the fields below are options that passed validate
	subprotocols []string
	patterns     []string
	header       []vettedField // sorted by key
	lines        []byte        // header's lines, each ending in CRLF
}

type vettedField struct {
	key    string
	values []string
}

// vet validates o, unless its content is what v holds, and returns the extra header lines
// of the 101 response, valid until the next call.
func (v *vetted) vet(o *ServerOptions) ([]byte, *Error) {
	if len(o.Subprotocols) == 0 && len(o.OriginPatterns) == 0 && len(o.Header) == 0 {
		return nil, nil
	}
	if v.valid && v.same(o) {
		return v.lines, nil
	}
	v.valid = false
	if ferr := o.validate(); ferr != nil {
		return nil, ferr
	}
	v.record(o)
	v.valid = true
	return v.lines, nil
}

// same reports whether o holds what v recorded. Each key of v.header is a distinct key of
// o.Header, so equal counts mean the same set of keys.
func (v *vetted) same(o *ServerOptions) bool {
	if !slices.Equal(v.subprotocols, o.Subprotocols) || !slices.Equal(v.patterns, o.OriginPatterns) || len(v.header) != len(o.Header) {
		return false
	}
	for _, f := range v.header {
		values, ok := o.Header[f.key]
		if !ok || !slices.Equal(values, f.values) {
			return false
		}
	}
	return true
}

// record copies what validate accepted of o into v, reusing v's memory.
func (v *vetted) record(o *ServerOptions) {
	v.subprotocols = append(v.subprotocols[:0], o.Subprotocols...)
	v.patterns = append(v.patterns[:0], o.OriginPatterns...)
	v.header = slices.Grow(v.header[:0], len(o.Header))[:len(o.Header)]
	i := 0
	for k, values := range o.Header {
		v.header[i].key = k
		v.header[i].values = append(v.header[i].values[:0], values...)
		i++
	}
	// Sorted, so the response is the same whatever the map's order.
	slices.SortFunc(v.header, func(a, b vettedField) int { return strings.Compare(a.key, b.key) })
	v.lines = v.lines[:0]
	for _, f := range v.header {
		for _, value := range f.values {
			v.lines = appendField(v.lines, f.key, value)
		}
	}
}
