package handshake_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/handshake"
)

// mustExtension parses one Sec-WebSocket-Extensions element.
func mustExtension(tb testing.TB, s string) handshake.Extension {
	tb.Helper()
	exts, err := handshake.ParseExtensions([]string{s})
	require.NoError(tb, err)
	require.Len(tb, exts, 1)
	return exts[0]
}

func TestParseDeflateOffer(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want handshake.DeflateParams
	}{
		{"7/no-params", "permessage-deflate", handshake.DeflateParams{}},
		{"7/name-case-insensitive", "PerMessage-Deflate", handshake.DeflateParams{}},
		{"7.1.1.1/server-no-context-takeover", "permessage-deflate; server_no_context_takeover",
			handshake.DeflateParams{ServerNoContextTakeover: true}},
		{"7.1.1.2/client-no-context-takeover", "permessage-deflate; client_no_context_takeover",
			handshake.DeflateParams{ClientNoContextTakeover: true}},
		{"7.1.2.1/server-max-window-bits-8", "permessage-deflate; server_max_window_bits=8",
			handshake.DeflateParams{ServerMaxWindowBits: 8}},
		{"7.1.2.1/server-max-window-bits-quoted", `permessage-deflate; server_max_window_bits="15"`,
			handshake.DeflateParams{ServerMaxWindowBits: 15}},
		{"7.1.2.2/client-max-window-bits-no-value", "permessage-deflate; client_max_window_bits",
			handshake.DeflateParams{ClientMaxWindowBits: handshake.WindowBitsNoValue}},
		{"7.1.2.2/client-max-window-bits-10", "permessage-deflate; client_max_window_bits=10",
			handshake.DeflateParams{ClientMaxWindowBits: 10}},
		{"7.1/all-params-any-case", "permessage-deflate; Server_No_Context_Takeover; client_no_context_takeover; " +
			"server_max_window_bits=9; client_max_window_bits=12",
			handshake.DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true,
				ServerMaxWindowBits: 9, ClientMaxWindowBits: 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := handshake.ParseDeflateOffer(mustExtension(t, tt.in))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseDeflateOfferDeclines(t *testing.T) {
	tests := []struct{ name, in string }{
		{"7/other-extension", "x-webkit-deflate-frame"},
		{"7/unknown-param", "permessage-deflate; foo"},
		{"7/duplicate-param", "permessage-deflate; client_no_context_takeover; client_no_context_takeover"},
		{"7/duplicate-param-case", "permessage-deflate; server_max_window_bits=10; SERVER_MAX_WINDOW_BITS=10"},
		{"7.1.1.1/takeover-with-value", "permessage-deflate; server_no_context_takeover=1"},
		{"7.1.1.2/takeover-with-value", "permessage-deflate; client_no_context_takeover=true"},
		{"7.1.2.1/server-bits-no-value", "permessage-deflate; server_max_window_bits"},
		{"7.1.2.1/server-bits-7", "permessage-deflate; server_max_window_bits=7"},
		{"7.1.2.1/server-bits-16", "permessage-deflate; server_max_window_bits=16"},
		{"7.1.2.1/server-bits-leading-zero", "permessage-deflate; server_max_window_bits=09"},
		{"7.1.2.1/server-bits-not-number", "permessage-deflate; server_max_window_bits=ten"},
		{"7.1.2.2/client-bits-0", "permessage-deflate; client_max_window_bits=0"},
		{"7.1.2.2/client-bits-sign", "permessage-deflate; client_max_window_bits=+9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := handshake.ParseDeflateOffer(mustExtension(t, tt.in))
			require.ErrorIs(t, err, handshake.ErrBadExtension)
		})
	}
}

func TestParseDeflateResponse(t *testing.T) {
	p, err := handshake.ParseDeflateResponse(mustExtension(t, "permessage-deflate; client_max_window_bits=8"))
	require.NoError(t, err)
	assert.Equal(t, 8, p.ClientMaxWindowBits)

	// RFC 7692, Section 7.1.2.2: in a response the parameter needs a value.
	_, err = handshake.ParseDeflateResponse(mustExtension(t, "permessage-deflate; client_max_window_bits"))
	require.ErrorIs(t, err, handshake.ErrBadExtension)
}

func TestDeflateParamsExtensionRoundTrip(t *testing.T) {
	for _, p := range []handshake.DeflateParams{
		{},
		{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 8, ClientMaxWindowBits: 15},
		{ClientMaxWindowBits: handshake.WindowBitsNoValue},
		{ServerMaxWindowBits: 12, ClientMaxWindowBits: 9},
	} {
		e := p.Extension()
		got, err := handshake.ParseDeflateOffer(mustExtension(t, e.String()))
		require.NoError(t, err, e.String())
		assert.Equal(t, p, got, e.String())
	}
	assert.Equal(t, "permessage-deflate; server_no_context_takeover; client_max_window_bits",
		handshake.DeflateParams{ServerNoContextTakeover: true, ClientMaxWindowBits: handshake.WindowBitsNoValue}.Extension().String())
}

func TestAcceptDeflate(t *testing.T) {
	tests := []struct {
		name   string
		offers string
		pref   handshake.DeflateParams
		want   string // "" = declined
	}{
		{"7/plain", "permessage-deflate", handshake.DeflateParams{}, "permessage-deflate"},
		{"7/browser-offer", "permessage-deflate; client_max_window_bits", handshake.DeflateParams{},
			"permessage-deflate"},
		{"7/other-extensions-skipped", "x-foo, permessage-deflate", handshake.DeflateParams{}, "permessage-deflate"},
		{"7/none-offered", "x-foo", handshake.DeflateParams{}, ""},
		{"7/malformed-offer-declined", "permessage-deflate; server_max_window_bits=16", handshake.DeflateParams{}, ""},
		{"5/next-offer-after-declined", "permessage-deflate; foo=1, permessage-deflate; server_no_context_takeover",
			handshake.DeflateParams{}, "permessage-deflate; server_no_context_takeover"},
		{"5/first-acceptable-offer-wins", "permessage-deflate; server_max_window_bits=9, permessage-deflate",
			handshake.DeflateParams{}, "permessage-deflate; server_max_window_bits=9"},
		{"7.1.1.1/server-no-takeover-preferred", "permessage-deflate",
			handshake.DeflateParams{ServerNoContextTakeover: true}, "permessage-deflate; server_no_context_takeover"},
		{"7.1.1.2/client-no-takeover-echoed", "permessage-deflate; client_no_context_takeover; client_max_window_bits",
			handshake.DeflateParams{}, "permessage-deflate; client_no_context_takeover"},
		{"7.1.1.2/client-no-takeover-requested", "permessage-deflate",
			handshake.DeflateParams{ClientNoContextTakeover: true}, "permessage-deflate; client_no_context_takeover"},
		{"7.1.2.1/small-server-window-accepted", "permessage-deflate; server_max_window_bits=8",
			handshake.DeflateParams{}, "permessage-deflate; server_max_window_bits=8"},
		{"7.1.2.1/server-window-smaller-than-offer", "permessage-deflate; server_max_window_bits=12",
			handshake.DeflateParams{ServerMaxWindowBits: 10}, "permessage-deflate; server_max_window_bits=10"},
		{"7.1.2.1/server-window-not-offered-not-sent", "permessage-deflate",
			handshake.DeflateParams{ServerMaxWindowBits: 10}, "permessage-deflate"},
		{"7.1.2.2/client-window-requested", "permessage-deflate; client_max_window_bits",
			handshake.DeflateParams{ClientMaxWindowBits: 9}, "permessage-deflate; client_max_window_bits=9"},
		{"7.1.2.2/client-window-offered-value-kept", "permessage-deflate; client_max_window_bits=11",
			handshake.DeflateParams{}, "permessage-deflate; client_max_window_bits=11"},
		{"7.1.2.2/client-window-min-of-both", "permessage-deflate; client_max_window_bits=11",
			handshake.DeflateParams{ClientMaxWindowBits: 13}, "permessage-deflate; client_max_window_bits=11"},
		{"7.1.2.2/client-window-not-offered-not-requested", "permessage-deflate",
			handshake.DeflateParams{ClientMaxWindowBits: 9}, "permessage-deflate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offers, err := handshake.ParseExtensions([]string{tt.offers})
			require.NoError(t, err)
			got, ok := handshake.AcceptDeflate(offers, tt.pref)
			if tt.want == "" {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, got.Extension().String())
		})
	}
}

func TestCheckDeflateResponse(t *testing.T) {
	offer := handshake.DeflateParams{ServerMaxWindowBits: 12, ClientMaxWindowBits: handshake.WindowBitsNoValue}
	valued := handshake.DeflateParams{ClientMaxWindowBits: 10}
	tests := []struct {
		name  string
		offer handshake.DeflateParams
		resp  string
		ok    bool
	}{
		{"7/plain", offer, "permessage-deflate", true},
		{"7.1.1.1/server-no-takeover-unasked", offer, "permessage-deflate; server_no_context_takeover", true},
		{"7.1.1.2/client-no-takeover-unasked", offer, "permessage-deflate; client_no_context_takeover", true},
		{"7.1.2.1/server-window-smaller", offer, "permessage-deflate; server_max_window_bits=8", true},
		{"7.1.2.1/server-window-larger", offer, "permessage-deflate; server_max_window_bits=13", false},
		{"7.1.2.2/client-window-any", offer, "permessage-deflate; client_max_window_bits=8", true},
		{"7.1.2.2/client-window-not-offered", handshake.DeflateParams{}, "permessage-deflate; client_max_window_bits=15", false},
		{"7.1.2.2/client-window-over-offered", valued, "permessage-deflate; client_max_window_bits=11", false},
		{"7.1.2.2/client-window-no-value", offer, "permessage-deflate; client_max_window_bits", false},
		{"7/unknown-param", offer, "permessage-deflate; foo", false},
		{"7/duplicate-param", offer, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := handshake.CheckDeflateResponse(tt.offer, mustExtension(t, tt.resp))
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, handshake.ErrBadExtension)
		})
	}
}

func TestClientChecksDeflateResponse(t *testing.T) {
	offers := []handshake.Extension{
		handshake.DeflateParams{ServerMaxWindowBits: 10}.Extension(),
		handshake.DeflateParams{ServerMaxWindowBits: 11, ClientMaxWindowBits: handshake.WindowBitsNoValue}.Extension(),
	}
	tests := []struct {
		name string
		resp string
		ok   bool
	}{
		{"7/fits-first-offer", "permessage-deflate; server_max_window_bits=9", true},
		{"7/fits-second-offer", "permessage-deflate; server_max_window_bits=11; client_max_window_bits=9", true},
		{"7/fits-no-offer", "permessage-deflate; server_max_window_bits=12", false},
		{"7/malformed", "permessage-deflate; server_max_window_bits=99", false},
		{"7/accepted-twice", "permessage-deflate, permessage-deflate", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			defer server.Close()
			reqs := scriptedServer(server, switching("Sec-WebSocket-Extensions: "+tt.resp))
			res, err := handshake.Client(testContext(t), client, mustURL(t, "ws://example.com/"),
				&handshake.ClientOptions{Extensions: offers})
			r := <-reqs
			require.NotNil(t, r)
			assert.Equal(t, []string{"permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=11; client_max_window_bits"},
				r.Header.Values("Sec-WebSocket-Extensions"))
			if tt.ok {
				require.NoError(t, err)
				require.Len(t, res.Extensions, 1)
				assert.Equal(t, tt.resp, res.Extensions[0].String())
				_ = client.Close()
				return
			}
			require.ErrorIs(t, err, handshake.ErrBadExtension)
			var he *handshake.Error
			require.ErrorAs(t, err, &he)
			assert.Equal(t, http.StatusSwitchingProtocols, he.Status)
		})
	}
}

// FuzzDeflateNegotiation parses arbitrary Sec-WebSocket-Extensions values:
// a permessage-deflate offer that parses survives the round trip through its
// wire form, and whatever AcceptDeflate answers is a response the offering
// client accepts (RFC 7692, Section 7).
func FuzzDeflateNegotiation(f *testing.F) {
	f.Add("permessage-deflate; client_max_window_bits", 0, 0, false, false)
	f.Add("permessage-deflate; server_max_window_bits=8; client_no_context_takeover, permessage-deflate", 10, 9, true, false)
	f.Add(`permessage-deflate; client_max_window_bits="12"; server_no_context_takeover`, 15, 8, false, true)
	f.Fuzz(func(t *testing.T, header string, serverBits, clientBits int, serverFresh, clientFresh bool) {
		offers, err := handshake.ParseExtensions([]string{header})
		if err != nil {
			return
		}
		for _, e := range offers {
			p, err := handshake.ParseDeflateOffer(e)
			if err != nil {
				continue
			}
			again, err := handshake.ParseDeflateOffer(mustExtension(t, p.Extension().String()))
			require.NoError(t, err)
			require.Equal(t, p, again)
		}
		pref := handshake.DeflateParams{ServerNoContextTakeover: serverFresh, ClientNoContextTakeover: clientFresh,
			ServerMaxWindowBits: serverBits % 16, ClientMaxWindowBits: clientBits % 16}
		resp, ok := handshake.AcceptDeflate(offers, pref)
		if !ok {
			return
		}
		fits := false
		for _, e := range offers {
			if offer, err := handshake.ParseDeflateOffer(e); err == nil {
				if _, err := handshake.CheckDeflateResponse(offer, resp.Extension()); err == nil {
					fits = true
				}
			}
		}
		require.True(t, fits, "response %s fits no offer of %q", resp.Extension(), header)
	})
}
