package deflate

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func lastN(b []byte, n int) []byte { return b[max(0, len(b)-n):] }

// TestHistory writes pieces of every size around the window into the ring and compares
// it with the last window bytes of everything written.
func TestHistory(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, window := range []int{256, 512, 4096, 1 << 15} {
		h := history{window: window}
		var all []byte
		var scratch []byte
		for range 400 {
			var n int
			switch r.IntN(4) {
			case 0:
				n = r.IntN(16)
			case 1:
				n = r.IntN(window)
			case 2:
				n = window - 2 + r.IntN(5)
			default:
				n = r.IntN(3 * window)
			}
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(r.Uint32())
			}
			h.write(p)
			all = append(all, p...)
			want := all[max(0, len(all)-window):]
			require.Equal(t, len(want), h.len())
			for _, k := range []int{0, 1, 100, window / 2, window - 1, window, window + 1} {
				got := h.last(k, &scratch)
				require.True(t, bytes.Equal(lastN(want, k), got), "last %d of window %d after %d bytes", k, window, len(all))
			}
			assert.LessOrEqual(t, cap(h.buf), window)
		}
		h.reset()
		assert.Zero(t, h.len())
	}
}
