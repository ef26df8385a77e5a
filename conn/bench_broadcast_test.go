package conn_test

import (
	"context"
	"io"
	"testing"

	"duplex/conn"
)

// BenchmarkBroadcast writes one chat line to 64 server connections whose
// peers discard what they read: each message encoded for every connection
// (WriteMessage) against once for all (WritePrepared), compressed without
// context takeover and not compressed.
func BenchmarkBroadcast(b *testing.B) {
	for _, comp := range []struct {
		name string
		opts *conn.CompressionOptions
	}{{"plain", nil}, {"deflate", &conn.CompressionOptions{NoContextTakeover: true, Level: 1}}} {
		var members []*conn.Conn
		for range 64 {
			c, s := compressedPair(b, comp.opts, comp.opts)
			go func() {
				for {
					_, r, err := c.NextReader(context.Background())
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, r)
				}
			}()
			members = append(members, s)
		}
		ctx := context.Background()
		b.Run(comp.name+"/WriteMessage", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(chatLine) * len(members)))
			for b.Loop() {
				for _, s := range members {
					if err := s.WriteMessage(ctx, conn.MessageText, chatLine); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(comp.name+"/WritePrepared", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(chatLine) * len(members)))
			for b.Loop() {
				pm, err := conn.NewPreparedMessage(conn.MessageText, chatLine)
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range members {
					if err := s.WritePrepared(ctx, pm); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
