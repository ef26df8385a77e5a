package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"

	"duplex/chat"
	"duplex/conn"
)

// A client joins the default room, posts a message with an id and sees the room's events come back,
// numbered, then the ack that says under which number its message was recorded.
func ExampleServer() {
	srv := chat.NewServer(&chat.Config{Logger: slog.New(slog.DiscardHandler)})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx := context.Background()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/ws", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	for _, msg := range []string{
		`{"type":"join","nick":"ada"}`,
		`{"type":"send","id":"m1","text":"hello"}`,
	} {
		if err := c.WriteMessage(ctx, conn.MessageText, []byte(msg)); err != nil {
			fmt.Println(err)
			return
		}
	}
	for range 4 {
		_, b, err := c.ReadMessage(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		var ev chat.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev.Type, ev.Seq, ev.ID, ev.Room, ev.Nick, ev.Text, ev.Users)
	}
	// Output:
	// welcome 0  lobby ada  [ada]
	// joined 1  lobby ada  []
	// message 2  lobby ada hello []
	// ack 2 m1    []
}

func ExampleValidNick() {
	for _, nick := range []string{"ada", "Ada Lovelace", " ada", "a\tb", "a\u202eb", strings.Repeat("x", 25)} {
		fmt.Printf("%q %v\n", nick, chat.ValidNick(nick))
	}
	// Output:
	// "ada" true
	// "Ada Lovelace" true
	// " ada" false
	// "a\tb" false
	// "a\u202eb" false
	// "xxxxxxxxxxxxxxxxxxxxxxxxx" false
}
