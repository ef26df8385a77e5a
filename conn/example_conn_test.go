package conn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"duplex/conn"
	"duplex/frame"
)

// ExampleNew runs both ends of a connection over an in-memory pipe, as a
// caller that did its own opening handshake would.
func ExampleNew() {
	a, b := net.Pipe()
	client := conn.New(a, nil, frame.RoleClient, nil)
	server := conn.New(b, nil, frame.RoleServer, nil)
	ctx := context.Background()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			typ, msg, err := server.ReadMessage(ctx)
			if err != nil {
				fmt.Println("server:", conn.CloseStatus(err))
				return
			}
			fmt.Printf("server: %s %q\n", typ, msg)
		}
	}()
	_ = client.WriteMessage(ctx, conn.MessageText, []byte("hello"))
	_ = client.Close(frame.CloseNormal, "done")
	<-done
	fmt.Println("client:", client.State())
	// Output:
	// server: text "hello"
	// server: 1000 (normal closure)
	// client: CLOSED
}

// ExampleConn_NextWriter streams a message in pieces; the reader sees one
// message.
func ExampleConn_NextWriter() {
	a, b := net.Pipe()
	client := conn.New(a, nil, frame.RoleClient, &conn.Options{FragmentSize: 8})
	server := conn.New(b, nil, frame.RoleServer, nil)
	defer client.CloseNow()
	defer server.CloseNow()
	ctx := context.Background()

	go func() {
		w, err := client.NextWriter(ctx, conn.MessageText)
		if err != nil {
			return
		}
		for _, part := range []string{"streamed ", "in ", "fragments"} {
			_, _ = io.WriteString(w, part)
		}
		_ = w.Close()
	}()
	_, r, err := server.NextReader(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	msg, _ := io.ReadAll(r)
	fmt.Println(string(msg))
	// Output: streamed in fragments
}

// ExampleCloseStatus tells a clean close from a protocol error.
func ExampleCloseStatus() {
	for _, err := range []error{
		conn.CloseError{Code: frame.CloseGoingAway, Reason: "shutting down"},
		fmt.Errorf("conn: %w", frame.ErrInvalidUTF8),
	} {
		var pe frame.ProtocolError
		switch {
		case conn.CloseStatus(err) != 0:
			fmt.Println("peer closed:", conn.CloseStatus(err))
		case errors.As(err, &pe):
			fmt.Println("failed with:", pe.Code)
		}
	}
	// Output:
	// peer closed: 1001 (going away)
	// failed with: 1007 (invalid frame payload data)
}
