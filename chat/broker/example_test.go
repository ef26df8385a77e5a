package broker_test

import (
	"context"
	"fmt"
	"os"

	"duplex/chat/broker"
)

// A chat node on the embedded server: an acknowledged send, its resend after a reconnect, and the
// history a welcome would carry.
func Example() {
	dir, err := os.MkdirTemp("", "chat-data")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	srv, err := broker.StartEmbedded(broker.Options{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown()
	b, err := broker.Connect(broker.Config{URLs: srv.ClientURL(), Name: "node-1"})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	ctx := context.Background()
	for _, send := range []struct{ id, text string }{
		{"c1-1", "hello"},
		{"c1-2", "anyone here?"},
		{"c1-2", "anyone here?"}, // the client did not see the ack and sent again
	} {
		seq, dup, err := b.Append(ctx, "lobby", send.id, []byte(send.text))
		if err != nil {
			panic(err)
		}
		fmt.Printf("ack %s seq %d duplicate %v\n", send.id, seq, dup)
	}
	recs, older, err := b.Tail(ctx, "lobby", 64<<10)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Printf("%d %s %q\n", r.Seq, r.ID, r.Payload)
	}
	fmt.Println("older:", older)
	// Output:
	// ack c1-1 seq 1 duplicate false
	// ack c1-2 seq 2 duplicate false
	// ack c1-2 seq 2 duplicate true
	// 1 c1-1 "hello"
	// 2 c1-2 "anyone here?"
	// older: false
}
