package handshake_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"duplex/handshake"
)

func ExampleAcceptKey() {
	// The sample of RFC 6455, Section 4.2.2.
	fmt.Println(handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

func ExampleParseExtensions() {
	exts, err := handshake.ParseExtensions([]string{
		`permessage-deflate; client_max_window_bits; server_max_window_bits="10"`,
		"x-custom, permessage-deflate",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range exts {
		fmt.Printf("%s %d params: %s\n", e.Name, len(e.Params), e)
	}
	// Output:
	// permessage-deflate 2 params: permessage-deflate; client_max_window_bits; server_max_window_bits=10
	// x-custom 0 params: x-custom
	// permessage-deflate 0 params: permessage-deflate
}

func ExampleAccept() {
	client, server := net.Pipe()
	defer client.Close()

	go func() {
		// A client written by hand, offering two subprotocols.
		fmt.Fprint(client, "GET /chat HTTP/1.1\r\n"+
			"Host: example.com\r\n"+
			"Upgrade: websocket\r\n"+
			"Connection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
			"Sec-WebSocket-Version: 13\r\n"+
			"Sec-WebSocket-Protocol: superchat, chat\r\n"+
			"Cookie: session=42\r\n"+
			"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(client), nil)
		if err == nil {
			resp.Body.Close()
		}
	}()

	res, err := handshake.Accept(context.Background(), server, &handshake.ServerOptions{Subprotocols: []string{"chat"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close()
	// Accept checked the head in place and kept it: RequestHeader reads one field of it,
	// allocating nothing, and Request parses all of it, header map included, on demand.
	fmt.Println(res.Request().Target, res.Subprotocol, res.RequestHeader("Cookie"))
	// Output: /chat chat session=42
}

func ExampleServerOptions_authorize() {
	sessions := map[string]string{"session=42": "ann"}
	opts := &handshake.ServerOptions{
		// Called with the request once the handshake's own checks have passed, before the 101.
		Authorize: func(_ context.Context, r handshake.Result) error {
			if r.RequestTarget() != "/chat" {
				return &handshake.Error{Status: http.StatusNotFound}
			}
			if _, ok := sessions[r.RequestHeader("Cookie")]; !ok {
				return &handshake.Error{
					Status: http.StatusUnauthorized,
					Header: http.Header{"Www-Authenticate": {`Cookie realm="chat"`}},
					Err:    errors.New("no session"),
				}
			}
			return nil
		},
	}
	for _, cookie := range []string{"session=7", "session=42"} {
		client, server := net.Pipe()
		answer := make(chan string, 1)
		go func() {
			fmt.Fprint(client, "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"+
				"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
				"Sec-WebSocket-Version: 13\r\nCookie: "+cookie+"\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(client), nil)
			if err != nil {
				answer <- err.Error()
				return
			}
			resp.Body.Close()
			answer <- strings.TrimSpace(fmt.Sprint("client: ", resp.Status, " ", resp.Header.Get("Www-Authenticate"))) + "\n"
		}()
		res, err := handshake.Accept(context.Background(), server, opts)
		fmt.Print(<-answer)
		client.Close()
		server.Close()
		if err != nil {
			fmt.Println("server:", errors.Is(err, handshake.ErrRefused), err)
			continue
		}
		// The Result still holds the request the hook saw.
		fmt.Println("server: user", sessions[res.RequestHeader("Cookie")])
	}
	// Output:
	// client: 401 Unauthorized Cookie realm="chat"
	// server: true handshake: refused by the server: no session (status 401 Unauthorized)
	// client: 101 Switching Protocols
	// server: user ann
}

func ExampleClient() {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()

	served := make(chan error, 1)
	go func() {
		_, err := handshake.Accept(context.Background(), server, &handshake.ServerOptions{Subprotocols: []string{"v2.chat", "v1.chat"}})
		served <- err
	}()

	u, _ := url.Parse("ws://example.com/chat")
	res, err := handshake.Client(context.Background(), client, u, &handshake.ClientOptions{
		Subprotocols: []string{"v1.chat", "v2.chat"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-served)
	fmt.Println(res.Response.StatusCode, res.Subprotocol)
	// Output:
	// <nil>
	// 101 v2.chat
}

func ExampleUpgrade() {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, res, err := handshake.Upgrade(w, r, nil)
		if err != nil {
			return // the refusal has been written through w
		}
		defer close(done)
		defer c.Close()
		// From here on the connection speaks WebSocket, starting with the bytes in res.Rest.
		fmt.Println("server: upgraded", res.Request().Target)
	}))
	defer srv.Close()

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	u, _ := url.Parse(srv.URL + "/echo")
	res, err := handshake.Client(context.Background(), c, u, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	<-done
	fmt.Println("client:", res.Response.StatusCode)
	// Output:
	// server: upgraded /echo
	// client: 101
}

func ExampleAcceptDeflate() {
	// A server that accepts permessage-deflate, asks clients to keep no context between
	// messages (so it keeps no inflate history per connection), and limits its own window.
	pref := handshake.DeflateParams{ClientNoContextTakeover: true, ServerMaxWindowBits: 12}
	opts := &handshake.ServerOptions{
		NegotiateExtensions: func(offers []handshake.Extension) ([]handshake.Extension, error) {
			if p, ok := handshake.AcceptDeflate(offers, pref); ok {
				return []handshake.Extension{p.Extension()}, nil
			}
			return nil, nil
		},
	}
	// A browser's offer, and one that asks for a small server window first.
	for _, offer := range []string{
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_max_window_bits=9; server_max_window_bits=9, permessage-deflate; server_max_window_bits=10",
	} {
		offers, _ := handshake.ParseExtensions([]string{offer})
		accepted, _ := opts.NegotiateExtensions(offers)
		fmt.Println(string(handshake.AppendExtensions(nil, accepted)))
	}
	// Output:
	// permessage-deflate; client_no_context_takeover
	// permessage-deflate; client_no_context_takeover; server_max_window_bits=10
}

func ExampleCheckDeflateResponse() {
	// The client's offer: any server window, and it can limit its own.
	offer := handshake.DeflateParams{ClientMaxWindowBits: handshake.WindowBitsNoValue}
	fmt.Println(offer.Extension())

	resp, _ := handshake.ParseExtensions([]string{"permessage-deflate; server_no_context_takeover; client_max_window_bits=9"})
	p, err := handshake.CheckDeflateResponse(offer, resp[0])
	fmt.Printf("%+v %v\n", p, err)
	// Output:
	// permessage-deflate; client_max_window_bits
	// {ServerNoContextTakeover:true ClientNoContextTakeover:false ServerMaxWindowBits:0 ClientMaxWindowBits:9} <nil>
}

func ExampleAcceptConnect() {
	// An extended CONNECT as net/http's HTTP/2 server hands it to a handler
	// (RFC 8441, Section 5.1).
	r := httptest.NewRequest(http.MethodConnect, "/chat", nil)
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	r.Host = "server.example.com"
	r.Header = http.Header{
		":protocol":              {"websocket"},
		"Sec-Websocket-Version":  {"13"},
		"Sec-Websocket-Protocol": {"chat, superchat"},
	}
	w := httptest.NewRecorder()
	fmt.Println(handshake.IsConnect(r))
	res, err := handshake.AcceptConnect(w, r, &handshake.ServerOptions{Subprotocols: []string{"superchat"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(w.Code, w.Header().Get("Sec-WebSocket-Protocol"), res.Subprotocol)

	// A request for another protocol is refused with an HTTP/2 response.
	r.Header.Set(":protocol", "webtransport")
	w = httptest.NewRecorder()
	_, err = handshake.AcceptConnect(w, r, nil)
	fmt.Println(w.Code, err)
	// Output:
	// true
	// 200 superchat superchat
	// 400 handshake: not a websocket upgrade: :protocol "webtransport" (status 400 Bad Request)
}
