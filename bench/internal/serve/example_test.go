package serve_test

import (
	"fmt"
	"slices"
	"strings"

	"duplex/bench/internal/serve"
)

// ExampleReadAll reads two messages through one buffer: the second reuses
// the storage of the first.
func ExampleReadAll() {
	first, _ := serve.ReadAll(strings.NewReader("first message"), nil)
	fmt.Printf("%q\n", first)
	second, _ := serve.ReadAll(strings.NewReader("second"), first)
	fmt.Printf("%q, same storage: %t\n", second, &second[0] == &first[0])
	// Output:
	// "first message"
	// "second", same storage: true
}

// ExampleRoom is what a broadcast server does with a message: answer the
// members query to its sender, send anything else to every member.
func ExampleRoom() {
	var room serve.Room[string]
	for _, c := range []string{"ann", "bob", "cat"} {
		room.Join(c)
	}
	room.Leave("bob")
	handle := func(from string, msg []byte) {
		if serve.IsMembersQuery(true, msg) {
			fmt.Printf("to %s: %s\n", from, serve.MembersReply(room.Len()))
			return
		}
		var to []string
		room.Each(func(c string) { to = append(to, c) })
		slices.Sort(to)
		fmt.Printf("%q to %v\n", msg, to)
	}
	handle("ann", []byte("members"))
	handle("cat", []byte("hello"))
	// Output:
	// to ann: members 2
	// "hello" to [ann cat]
}
