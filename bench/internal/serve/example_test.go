package serve_test

import (
	"fmt"
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
