package handshake_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"duplex/handshake"
)

// FuzzHTTP2Connect feeds AcceptConnect extended CONNECTs with arbitrary
// :protocol, version, origin, subprotocol and extension values. Whatever
// they hold, it answers exactly once: 200 with a subprotocol the server
// speaks and the client offered (or none) and permessage-deflate at most,
// or a refusal whose *Error carries the status written.
//
//	go test ./handshake -run '^$' -fuzz '^FuzzHTTP2Connect$' -fuzztime 30s
func FuzzHTTP2Connect(f *testing.F) {
	f.Add("websocket", "13", "https://server.example.com", "chat, superchat", "permessage-deflate; client_max_window_bits")
	f.Add("websocket", "13", "", "", "")
	f.Add("WebSocket", "13", "null", "a b", "x; =")
	f.Add("webtransport", "8", "http://server.example.com", ",,,", "permessage-deflate; server_max_window_bits=7")
	f.Add("", "13, 13", "https://[::1]:443", "chat", "permessage-deflate, permessage-deflate")
	deflate := func(offers []handshake.Extension) ([]handshake.Extension, error) {
		p, ok := handshake.AcceptDeflate(offers, handshake.DeflateParams{})
		if !ok {
			return nil, nil
		}
		return []handshake.Extension{p.Extension()}, nil
	}
	opts := &handshake.ServerOptions{Subprotocols: []string{"chat", "superchat"}, NegotiateExtensions: deflate}
	f.Fuzz(func(t *testing.T, protocol, version, origin, protocols, extensions string) {
		r := connectRequest(func(r *http.Request) {
			r.Header = http.Header{}
			for k, v := range map[string]string{
				":protocol": protocol, "Sec-Websocket-Version": version, "Origin": origin,
				"Sec-Websocket-Protocol": protocols, "Sec-Websocket-Extensions": extensions,
			} {
				if v != "" {
					r.Header.Set(k, v)
				}
			}
		})
		w := httptest.NewRecorder()
		res, err := handshake.AcceptConnect(w, r, opts)
		if err != nil {
			var herr *handshake.Error
			if !errors.As(err, &herr) {
				t.Fatalf("error %v is no *handshake.Error", err)
			}
			if herr.Status < 400 || herr.Status != w.Code {
				t.Fatalf("refused with %d, wrote %d", herr.Status, w.Code)
			}
			if res != nil {
				t.Fatal("a Result with an error")
			}
			return
		}
		if w.Code != http.StatusOK || !w.Flushed {
			t.Fatalf("accepted with status %d, flushed %v", w.Code, w.Flushed)
		}
		if p := res.Subprotocol; p != "" {
			offered := false
			for o := range strings.SplitSeq(protocols, ",") {
				offered = offered || strings.Trim(o, " \t") == p
			}
			if !slices.Contains(opts.Subprotocols, p) || !offered {
				t.Fatalf("subprotocol %q: server speaks %v, client offered %q", p, opts.Subprotocols, protocols)
			}
		}
		if len(res.Extensions) > 1 || (len(res.Extensions) == 1 && res.Extensions[0].Name != "permessage-deflate") {
			t.Fatalf("extensions %v", res.Extensions)
		}
	})
}
