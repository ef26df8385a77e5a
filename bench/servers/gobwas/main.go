// Command gobwas is the harness's echo server for gobwas/ws at its frame
// level: ws.Upgrade on a raw net.Conn (no net/http), then a loop that reads
// each frame header with ws.ReadHeaderBuffer through a 4 KiB bufio.Reader,
// unmasks the payload with ws.Cipher and sends the frame back unmasked with
// ws.WriteHeaderBuffer: header and payload in one write (copied together
// when small, a vectored write when large). Reused buffers keep the loop
// free of allocation, the way the package's low-level API is meant to be
// used for speed.
package main

import (
	"bufio"
	"errors"
	"io"
	"net"

	"github.com/gobwas/ws"

	"duplex/bench/internal/serve"
)

const (
	bufferSize = 4096
	// maxFrame bounds a frame's payload: the harness sends at most 64 KiB.
	maxFrame = 1 << 20
)

var errTooLarge = errors.New("gobwas: frame too large")

func main() {
	serve.Main("gobwas", func(ln net.Listener) error {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return err
			}
			go func() {
				defer nc.Close()
				if _, err := ws.Upgrade(nc); err != nil {
					return
				}
				e := &echoer{nc: nc, br: bufio.NewReaderSize(nc, bufferSize)}
				_ = e.run()
			}()
		}
	})
}

// echoer sends every frame it reads back to the client, answering pings
// and the close frame.
type echoer struct {
	nc      net.Conn
	br      *bufio.Reader
	hdr     [ws.MaxHeaderSize]byte
	out     headerBuf
	payload []byte
	wbuf    []byte
	iov     [2][]byte
	bufs    net.Buffers
}

// headerBuf collects the header ws.WriteHeaderBuffer writes.
type headerBuf struct{ b []byte }

func (h *headerBuf) Write(p []byte) (int, error) {
	h.b = append(h.b, p...)
	return len(p), nil
}

func (e *echoer) run() error {
	for {
		h, err := ws.ReadHeaderBuffer(e.br, e.hdr[:0:ws.MaxHeaderSize-2])
		if err != nil {
			return err
		}
		if h.Length > maxFrame {
			return errTooLarge
		}
		if int64(cap(e.payload)) < h.Length {
			e.payload = make([]byte, h.Length)
		}
		p := e.payload[:h.Length]
		if _, err := io.ReadFull(e.br, p); err != nil {
			return err
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpPong:
			continue
		case ws.OpPing:
			h.OpCode = ws.OpPong
		}
		h.Masked = false
		if err := e.write(h, p); err != nil {
			return err
		}
		if h.OpCode == ws.OpClose {
			return nil
		}
	}
}

// write sends h and p in one system call.
func (e *echoer) write(h ws.Header, p []byte) error {
	e.out.b = e.out.b[:0]
	if err := ws.WriteHeaderBuffer(&e.out, h, e.hdr[:]); err != nil {
		return err
	}
	if len(e.out.b)+len(p) <= bufferSize {
		e.wbuf = append(append(e.wbuf[:0], e.out.b...), p...)
		_, err := e.nc.Write(e.wbuf)
		return err
	}
	e.iov = [2][]byte{e.out.b, p}
	e.bufs = e.iov[:]
	_, err := e.bufs.WriteTo(e.nc)
	return err
}
