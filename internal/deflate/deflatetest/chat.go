// Package deflatetest makes the plaintexts that the tests and benchmarks of
// permessage-deflate share.
package deflatetest

import (
	"fmt"
	"math/rand/v2"
)

var words = []string{"hello", "there", "how", "is", "the", "build", "going", "today", "I", "pushed", "a", "fix",
	"for", "that", "test", "thanks", "see", "you", "at", "standup", "lunch", "review", "merged", "deploy"}

// ChatJSON returns n bytes of a JSON array of chat messages, the traffic of a chat room:
// the keys repeat, the users, ids, times and texts vary. The same seed gives the same
// bytes; different seeds give different messages.
func ChatJSON(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x636861))
	b := make([]byte, 0, n+256)
	b = append(b, '[')
	for i := 0; len(b) < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"type":"message","room":"general","user":"user%d","id":%d,"ts":%d,"text":"`,
			r.IntN(50), seed<<20+uint64(i), 1700000000+r.IntN(1000000))
		for w := range 3 + r.IntN(8) {
			if w > 0 {
				b = append(b, ' ')
			}
			b = append(b, words[r.IntN(len(words))]...)
		}
		b = append(b, `"}`...)
	}
	return b[:n]
}

// Messages returns different messages of n bytes each from ChatJSON, for a benchmark to
// cycle through: at least 16, and enough that none comes back within two 32 KiB windows.
// With context takeover, the same message again would compress to a single match.
func Messages(n int) [][]byte {
	msgs := make([][]byte, max(16, (64<<10)/n+1))
	for i := range msgs {
		msgs[i] = ChatJSON(uint64(i+1), n)
	}
	return msgs
}
