package handshake_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"

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
			"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(client), nil)
		if err == nil {
			resp.Body.Close()
		}
	}()

	res, err := handshake.Accept(server, &handshake.ServerOptions{Subprotocols: []string{"chat"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close()
	fmt.Println(res.Request.Target, res.Subprotocol)
	// Output: /chat chat
}
