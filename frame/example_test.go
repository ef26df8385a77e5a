package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"

	"duplex/frame"
)

// A server decodes the masked "Hello" of RFC 6455, Section 5.7.
func ExampleParseHeader() {
	wire := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	h, n, err := frame.ParseHeader(wire)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := h.Check(frame.RoleServer, 0); err != nil {
		fmt.Println(err)
		return
	}
	payload := wire[n : n+int(h.Length)]
	frame.Mask(h.MaskKey, 0, payload)
	fmt.Println(h)
	fmt.Printf("%s\n", payload)
	// Output:
	// text fin len=5 masked
	// Hello
}

// A client receiving a masked frame fails the connection with the code
// carried by the error.
func ExampleHeader_Check() {
	h := frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Length: 5}
	err := h.Check(frame.RoleClient, 0)
	var pe frame.ProtocolError
	if errors.As(err, &pe) {
		fmt.Println(errors.Is(err, frame.ErrMasked), pe.Code)
	}
	// Output:
	// true 1002 (protocol error)
}

func ExampleReadHeader() {
	r := bufio.NewReader(bytes.NewReader([]byte{0x82, 0x7E, 0x01, 0x00}))
	h, err := frame.ReadHeader(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Opcode, h.Length)
	// Output:
	// binary 256
}

func ExampleAppendHeader() {
	buf := make([]byte, 0, frame.MaxHeaderSize)
	buf = frame.AppendHeader(buf, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 65536})
	fmt.Printf("% x\n", buf)
	// Output:
	// 82 7f 00 00 00 00 00 01 00 00
}

// A payload masked in pieces as it streams matches one masked at once.
func ExampleMask() {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	payload := []byte("Hello")
	pos := frame.Mask(key, 0, payload[:2])
	pos = frame.Mask(key, pos, payload[2:])
	fmt.Printf("% x\n", payload)
	frame.Mask(key, 0, payload)
	fmt.Printf("%s\n", payload)
	// Output:
	// 7f 9f 4d 51 58
	// Hello
}

func ExampleAppendClosePayload() {
	body, err := frame.AppendClosePayload(nil, frame.CloseGoingAway, "restart")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% x\n", body)
	code, reason, err := frame.ParseClosePayload(body)
	fmt.Println(code, reason, err)
	// Output:
	// 03 e9 72 65 73 74 61 72 74
	// 1001 (going away) restart <nil>
}

func ExampleParseClosePayload() {
	_, _, err := frame.ParseClosePayload([]byte{0x03, 0xED}) // 1005
	fmt.Println(err)
	fmt.Println(errors.Is(err, frame.ErrInvalidCloseCode))
	// Output:
	// frame: close code not allowed on the wire: 1005
	// true
}

// Text is validated fragment by fragment; the surrogate is caught at its
// second byte, before the message ends.
func ExampleUTF8Validator() {
	var v frame.UTF8Validator
	fragments := [][]byte{
		[]byte("κό"),
		{0xCF, 0x83, 0xCE}, // "σ" and half of "μ"
		{0xBC, 0xED, 0xA0, 0x80},
	}
	for i, f := range fragments {
		n, ok := v.Feed(f)
		fmt.Println(i, n, ok, v.Complete())
	}
	// Output:
	// 0 4 true true
	// 1 3 true false
	// 2 2 false false
}
