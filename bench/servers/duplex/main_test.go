package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"duplex/bench/internal/serve"
	"duplex/conn"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestBroadcastRoom runs the server's broadcast mode, in both modes, with
// and without compression, against duplex clients: the members query
// counts the room, and a message from one member reaches every member, its
// sender included, compressed when negotiated.
func TestBroadcastRoom(t *testing.T) {
	for _, mode := range []string{"goroutine", "loop"} {
		for _, deflate := range []bool{false, true} {
			name := mode + "/plain"
			if deflate {
				name = mode + "/deflate"
			}
			t.Run(name, func(t *testing.T) { testRoom(t, mode, deflate) })
		}
	}
}

func testRoom(t *testing.T, mode string, deflate bool) {
	ln, err := serve.Listen("127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- run(ln, mode, true, deflate) }()
	defer func() {
		ln.Close()
		<-served
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var dopts conn.DialOptions
	if deflate {
		dopts.Compression = &conn.CompressionOptions{NoContextTakeover: true, PeerNoContextTakeover: true}
	}
	const members = 3
	var cs []*conn.Conn
	for range members {
		c, _, err := conn.Dial(ctx, "ws://"+ln.Addr().String()+"/", &dopts)
		require.NoError(t, err)
		defer c.CloseNow()
		p, ok := c.Compression()
		assert.Equal(t, deflate, ok)
		if ok {
			assert.True(t, p.ServerNoContextTakeover, "a broadcast is compressed once for all")
		}
		cs = append(cs, c)
	}

	// The room holds every connection once the server's side has joined.
	for n := 0; n != members; {
		require.NoError(t, cs[0].WriteMessage(ctx, conn.MessageText, []byte(serve.MembersQuery)))
		typ, b, err := cs[0].ReadMessage(ctx)
		require.NoError(t, err)
		require.Equal(t, conn.MessageText, typ)
		var ok bool
		n, ok = serve.ParseMembersReply(b)
		require.True(t, ok, "%q", b)
		require.LessOrEqual(t, n, members)
	}

	msg := []byte(`{"text":"hello, hello, hello, everyone in the room, hello again"}`)
	require.NoError(t, cs[1].WriteMessage(ctx, conn.MessageText, msg))
	for i, c := range cs {
		typ, b, err := c.ReadMessage(ctx)
		require.NoError(t, err, "member %d", i)
		assert.Equal(t, conn.MessageText, typ)
		assert.Equal(t, msg, b, "member %d", i)
	}
	for _, c := range cs {
		require.NoError(t, c.Close(conn.CloseNormal, ""))
	}
}
