package handshake

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVettedFollowsChanges changes one options value in place between validations, each
// field in turn, as a caller may between handshakes: every change, valid or not, is seen,
// though the value's address stays the same.
func TestVettedFollowsChanges(t *testing.T) {
	o := &ServerOptions{
		Subprotocols:   []string{"chat"},
		OriginPatterns: []string{"*.example.com"},
		Header:         http.Header{"X-B": {"2"}, "X-A": {"1", "3"}},
	}
	var v vetted
	lines, ferr := v.vet(o)
	require.Nil(t, ferr)
	assert.Equal(t, "X-A: 1\r\nX-A: 3\r\nX-B: 2\r\n", string(lines), "sorted by key, values in order")

	refused := func(name string) {
		t.Helper()
		_, ferr := v.vet(o)
		require.NotNil(t, ferr, name)
		assert.Equal(t, http.StatusInternalServerError, ferr.Status, name)
		assert.True(t, errors.Is(ferr, ErrInvalidOptions), name)
	}
	accepted := func(name, want string) {
		t.Helper()
		lines, ferr := v.vet(o)
		require.Nil(t, ferr, name)
		assert.Equal(t, want, string(lines), name)
	}

	o.Header["X-A"][1] = "4" // the value slice changed in place
	accepted("value in place", "X-A: 1\r\nX-A: 4\r\nX-B: 2\r\n")
	o.Header["X-A"][0] = "bad\r\nvalue"
	refused("invalid value in place")
	o.Header["X-A"] = []string{"1"}
	accepted("value fixed", "X-A: 1\r\nX-B: 2\r\n")
	delete(o.Header, "X-B")
	o.Header["Sec-WebSocket-Accept"] = []string{"x"} // same count of keys, another key
	refused("own field")
	delete(o.Header, "Sec-WebSocket-Accept")
	o.Header["X-C"] = nil
	accepted("key without values", "X-A: 1\r\n")

	o.Subprotocols[0] = "bad token"
	refused("subprotocol in place")
	o.Subprotocols[0] = "chat"
	accepted("subprotocol fixed", "X-A: 1\r\n")
	o.Subprotocols = append(o.Subprotocols, "a,b")
	refused("subprotocol appended")
	o.Subprotocols = o.Subprotocols[:1]

	o.OriginPatterns[0] = "[a-"
	refused("origin pattern in place")
	o.OriginPatterns[0] = "*.example.com"
	accepted("origin pattern fixed", "X-A: 1\r\n")

	o.Header = nil
	accepted("no header", "")
	o.Subprotocols, o.OriginPatterns = nil, nil
	accepted("nothing to check", "")
}
