package conn_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"duplex/conn"
)

// maxAcceptAllocs is the allocation budget of a successful Accept with the
// Conn it opens (issue 11): the handshake's copy of the head (its Result is
// on Accept's stack, and its options are the caller's, read in place) and
// the Conn.
const maxAcceptAllocs = 2

// TestAcceptAllocs counts the allocations of Accept on a raw connection
// that replays a browser's request. The race detector's sync.Pool drops a
// share of what is put back, so there a pooled buffer is sometimes
// allocated anew: raceAllocs allows for that.
func TestAcceptAllocs(t *testing.T) {
	ctx := context.Background()
	nc := &replayConn{}
	req := []byte(cannedRequest)
	allocs := testing.AllocsPerRun(200, func() {
		nc.in = req
		c, err := conn.Accept(ctx, nc, nil)
		if err != nil {
			t.Error(err)
			return
		}
		_ = c.CloseNow()
	})
	assert.LessOrEqual(t, allocs, float64(maxAcceptAllocs+raceAllocs))
}
