package handshake

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/net/http/httpguts"
)

// TestHasTokenMatchesHTTPGuts holds hasToken to httpguts.HeaderValuesContainsToken, the
// reading of RFC 9110, Section 5.6.1 the checks took before, on the lists of RFC 6455,
// Section 4.2.1, items 3 and 4.
func TestHasTokenMatchesHTTPGuts(t *testing.T) {
	values := []string{
		"", "upgrade", "Upgrade", "UPGRADE", " upgrade ", "\tupgrade\t", "keep-alive, Upgrade",
		"Upgrade, keep-alive", ",,upgrade,,", "upgradex", "xupgrade", "up grade", "upgrade;q=1",
		"keep-alive", ",", " , ", "upgrad", "upgrade\u212a", "upgr\u00e0de", "websocket",
		"WebSocket, upgrade", "web-socket", "websocket2",
	}
	for _, v := range values {
		for _, token := range []string{"upgrade", "websocket"} {
			assert.Equal(t, httpguts.HeaderValuesContainsToken([]string{v}, token), hasToken(v, token), "%q in %q", token, v)
		}
	}
}

// TestKindOf checks that kindOf names each field the checks look at, in any case, and no
// other field, however close.
func TestKindOf(t *testing.T) {
	kinds := map[string]fieldKind{
		"Host": hostField, "HOST": hostField, "Origin": originField, "upgrade": upgradeField,
		"Connection": connectionField, "Sec-WebSocket-Key": keyField, "sec-websocket-version": versionField,
		"SEC-WEBSOCKET-PROTOCOL": protocolField, "Sec-Websocket-Extensions": extensionsField,
		"Hosts": otherField, "Hos": otherField, "Pragma": otherField, "Cookie": otherField,
		"User-Agent": otherField, "Sec-WebSocket-Accept": otherField, "Sec-WebSocket-Kex": otherField,
		"Sec_WebSocket_Key": otherField, "Upgrade2": otherField, "Origim": otherField,
	}
	for name, want := range kinds {
		assert.Equal(t, want, kindOf(name), name)
	}
}
