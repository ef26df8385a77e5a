package conn_test

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"

	"duplex/conn"
	"duplex/frame"
)

var benchSizes = []int{16, 1 << 10, 64 << 10}

func sizeName(n int) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	default:
		return strconv.Itoa(n) + "B"
	}
}

// benchRoles runs fn for each role and message size.
func benchRoles(b *testing.B, fn func(b *testing.B, role frame.Role, n int)) {
	for _, role := range roles {
		for _, n := range benchSizes {
			b.Run(role.String()+"/"+sizeName(n), func(b *testing.B) { fn(b, role, n) })
		}
	}
}

// benchWriter returns a connection of the given role whose peer discards
// everything it receives.
func benchWriter(b *testing.B, role frame.Role) *conn.Conn {
	b.Helper()
	cn, sn := tcpPair(b)
	mine, theirs := sn, cn
	if role == frame.RoleClient {
		mine, theirs = cn, sn
	}
	c := conn.New(mine, nil, role, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(io.Discard, theirs)
	}()
	b.Cleanup(func() {
		_ = c.CloseNow()
		<-done
	})
	return c
}

// benchReader returns a connection of the given role whose peer sends
// binary messages of n bytes, in frames as a peer of the other role would,
// until the connection closes.
func benchReader(b *testing.B, role frame.Role, n int) *conn.Conn {
	b.Helper()
	cn, sn := tcpPair(b)
	mine, theirs := sn, cn
	if role == frame.RoleClient {
		mine, theirs = cn, sn
	}
	c := conn.New(mine, nil, role, &conn.Options{ReadBufferSize: 64 << 10})
	one := encodeFrame(frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: role == frame.RoleServer,
		MaskKey: [4]byte{9, 8, 7, 6}, Length: int64(n)}, pattern(n))
	batch := bytes.Repeat(one, max(1, (256<<10)/len(one)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := theirs.Write(batch); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() {
		_ = c.CloseNow()
		_ = theirs.Close()
		<-done
	})
	return c
}

// benchWrite measures send, which writes one binary message, for each role
// and size.
func benchWrite(b *testing.B, send func(ctx context.Context, c *conn.Conn, msg []byte) error) {
	benchRoles(b, func(b *testing.B, role frame.Role, n int) {
		c := benchWriter(b, role)
		msg := pattern(n)
		ctx := context.Background()
		b.SetBytes(int64(n))
		b.ReportAllocs()
		for b.Loop() {
			if err := send(ctx, c, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkWriteMessage(b *testing.B) {
	benchWrite(b, func(ctx context.Context, c *conn.Conn, msg []byte) error {
		return c.WriteMessage(ctx, conn.MessageBinary, msg)
	})
}

func BenchmarkNextWriter(b *testing.B) {
	benchWrite(b, func(ctx context.Context, c *conn.Conn, msg []byte) error {
		w, err := c.NextWriter(ctx, conn.MessageBinary)
		if err != nil {
			return err
		}
		if _, err := w.Write(msg); err != nil {
			return err
		}
		return w.Close()
	})
}

func BenchmarkNextReader(b *testing.B) {
	benchRoles(b, func(b *testing.B, role frame.Role, n int) {
		c := benchReader(b, role, n)
		buf := make([]byte, n)
		ctx := context.Background()
		b.SetBytes(int64(n))
		b.ReportAllocs()
		for b.Loop() {
			_, r, err := c.NextReader(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(r, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkReadMessage(b *testing.B) {
	benchRoles(b, func(b *testing.B, role frame.Role, n int) {
		c := benchReader(b, role, n)
		ctx := context.Background()
		b.SetBytes(int64(n))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.ReadMessage(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEcho measures a round trip through a pair: the client writes,
// the server reads and writes back, the client reads.
func BenchmarkEcho(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			c, s := newPair(b, nil, &conn.Options{ReadLimit: -1})
			ctx := context.Background()
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, n)
				for {
					typ, r, err := s.NextReader(ctx)
					if err != nil {
						return
					}
					k, _ := io.ReadFull(r, buf)
					if s.WriteMessage(ctx, typ, buf[:k]) != nil {
						return
					}
				}
			}()
			msg := pattern(n)
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(ctx, conn.MessageBinary, msg); err != nil {
					b.Fatal(err)
				}
				_, r, err := c.NextReader(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
			}
			_ = c.CloseNow()
			<-done
		})
	}
}
