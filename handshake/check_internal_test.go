package handshake

import (
	"net/url"
	"strings"
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
		"WebSocket, upgrade", "web-socket", "websocket2", "upgr`de", "UPGRAD\x05", "@ebsocket",
		"websocke\xf4", "{ebsocket",
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

// TestTokenIsMatchesEqualFold holds tokenIs, which compares words, to strings.EqualFold on
// tokens: each name and scheme it is called with, in upper and lower case, and with every
// token byte in turn at every position, so that a difference in any byte of any word, the
// overlapping last one included, is seen.
func TestTokenIsMatchesEqualFold(t *testing.T) {
	lowers := []string{
		"host", "origin", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
		"sec-websocket-protocol", "sec-websocket-extensions", "http", "https", "websocket",
		"a", "ab", "abc", "abcdefgh", "abcdefghi",
	}
	for _, lower := range lowers {
		assert.True(t, tokenIs(lower, lower), lower)
		assert.True(t, tokenIs(strings.ToUpper(lower), lower), lower)
		assert.False(t, tokenIs(lower+"x", lower), lower)
		assert.False(t, tokenIs(lower[1:], lower), lower)
		for i := range len(lower) {
			for c := range 256 {
				if !tokenChars[c] {
					continue
				}
				b := []byte(lower)
				b[i] = byte(c)
				s := string(b)
				if tokenIs(s, lower) != strings.EqualFold(s, lower) {
					t.Errorf("tokenIs(%q, %q) = %v", s, lower, tokenIs(s, lower))
				}
			}
		}
	}
}

// TestSimpleOriginMatchesURLParse: what simpleOrigin reads, url.Parse reads as the same
// scheme (but for its case) and host, and simpleOrigin takes the usual forms. The inputs are the seeds below
// with every byte of a set that matters to either parser put in turn at every position.
func TestSimpleOriginMatchesURLParse(t *testing.T) {
	for _, tt := range []struct {
		origin       string
		scheme, host string
	}{
		{"http://server.example.com", "http", "server.example.com"},
		{"https://localhost:8080", "https", "localhost:8080"},
		{"chrome-extension://abc", "chrome-extension", "abc"},
		{"a+b.c-d://h", "a+b.c-d", "h"},
		{"http://", "", ""}, {"http:/x", "", ""}, {"://x", "", ""}, {"1http://x", "", ""},
		{"ht:tp://x", "", ""}, {"http://x:", "", ""}, {"http://:80", "", ""}, {"null", "", ""},
	} {
		scheme, host, ok := simpleOrigin(tt.origin)
		assert.Equal(t, tt.scheme != "", ok, tt.origin)
		assert.Equal(t, tt.scheme, scheme, tt.origin)
		assert.Equal(t, tt.host, host, tt.origin)
	}
	seeds := []string{"http://a.b:80", "https://x", "ws+x://h-1.example"}
	set := "azAZ09+-.:/@?#[]%_~ \t\x00\x7f\x80"
	for _, seed := range seeds {
		for i := range len(seed) {
			for j := range len(set) {
				b := []byte(seed)
				b[i] = set[j]
				origin := string(b)
				scheme, host, ok := simpleOrigin(origin)
				if !ok {
					continue
				}
				u, err := url.Parse(origin)
				// url.Parse lowers the scheme's case; the checks compare it case-insensitively.
				if err != nil || u.Scheme != strings.ToLower(scheme) || u.Host != host {
					t.Errorf("simpleOrigin(%q) = %q, %q; url.Parse: %v", origin, scheme, host, u)
				}
			}
		}
	}
}

// TestCtlIndexMatchesBytes holds ctlIndex, which looks at words, to a byte-by-byte reading of
// RFC 9110, Section 5.5: every byte value at every position of values of 0 to 40 bytes, from
// every start up to 3, over a background of visible bytes and of obs-text, with an HTAB
// before the byte or not.
func TestCtlIndexMatchesBytes(t *testing.T) {
	ref := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			if c := b[i]; (c < ' ' && c != '\t') || c == 0x7f {
				return i
			}
		}
		return len(b)
	}
	for _, fill := range []byte{'a', 0xff, 0x80, '~', ' '} {
		for n := 0; n <= 40; n++ {
			for pos := 0; pos < n; pos++ {
				for c := 0; c < 256; c++ {
					b := make([]byte, n)
					for k := range b {
						b[k] = fill
					}
					if pos > 0 && c%3 == 0 {
						b[pos-1] = '\t'
					}
					b[pos] = byte(c)
					for start := 0; start <= 3 && start <= n; start++ {
						if got, want := ctlIndex(b, start), ref(b, start); got != want {
							t.Fatalf("ctlIndex(%q, %d) = %d, want %d", b, start, got, want)
						}
					}
				}
			}
		}
	}
}
