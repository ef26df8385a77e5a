package frame_test

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"duplex/frame"
)

// The hot paths must not allocate: a connection runs them for every frame.
func TestNoAllocations(t *testing.T) {
	h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}, Length: 1 << 20}
	wire := frame.AppendHeader(nil, h)
	buf := make([]byte, 0, frame.MaxHeaderSize)
	payload := make([]byte, 4096)
	text := []byte("Grüße, κόσμε, 日本語 and 🎉 with plenty of ASCII around them")
	src := bytes.NewReader(nil)
	br := bufio.NewReader(src)
	var v frame.UTF8Validator

	tests := []struct {
		name string
		fn   func()
	}{
		{"5.2/ParseHeader", func() { _, _, _ = frame.ParseHeader(wire) }},
		{"5.2/ReadHeader", func() { src.Reset(wire); br.Reset(src); _, _ = frame.ReadHeader(br) }},
		{"5.2/AppendHeader", func() { buf = frame.AppendHeader(buf[:0], h) }},
		{"5.2/Check", func() { _ = h.Check(frame.RoleServer, 0) }},
		{"5.3/Mask", func() { frame.Mask(h.MaskKey, 1, payload) }},
		{"8.1/UTF8Validator.Feed", func() { v.Reset(); v.Feed(text[:3]); v.Feed(text[3:]) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Zero(t, testing.AllocsPerRun(100, tc.fn))
		})
	}
}

// AppendHeader needs no more spare capacity than the header's own size.
func TestAppendHeaderExactCapacity(t *testing.T) {
	for _, tc := range validHeaders {
		t.Run(tc.name, func(t *testing.T) {
			buf := make([]byte, 3, 3+tc.want.Size())
			var got []byte
			allocs := testing.AllocsPerRun(10, func() { got = frame.AppendHeader(buf, tc.want) })
			assert.Zero(t, allocs)
			assert.Equal(t, append([]byte{0, 0, 0}, hx(t, tc.wire)...), got)
		})
	}
}
