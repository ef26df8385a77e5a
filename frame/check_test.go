package frame_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/frame"
)

var key = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// fromClient and fromServer build headers as each side must send them.
func fromClient(h frame.Header) frame.Header { h.Masked, h.MaskKey = true, key; return h }
func fromServer(h frame.Header) frame.Header { return h }

func TestCheckAccepts(t *testing.T) {
	tests := []struct {
		name    string
		h       frame.Header
		allowed frame.RSV
	}{
		{"5.7/masked-text-hello", frame.Header{Fin: true, Opcode: frame.OpText, Length: 5}, 0},
		{"5.4/first-fragment", frame.Header{Opcode: frame.OpText, Length: 3}, 0},
		{"5.4/continuation", frame.Header{Opcode: frame.OpContinuation, Length: 3}, 0},
		{"5.4/last-fragment", frame.Header{Fin: true, Opcode: frame.OpContinuation}, 0},
		{"5.2/binary-2^63-1", frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1<<63 - 1}, 0},
		{"5.5/ping-125-bytes", frame.Header{Fin: true, Opcode: frame.OpPing, Length: 125}, 0},
		{"5.5/pong-empty", frame.Header{Fin: true, Opcode: frame.OpPong}, 0},
		{"5.5/close-125-bytes", frame.Header{Fin: true, Opcode: frame.OpClose, Length: 125}, 0},
		{"5.2/rsv1-negotiated", frame.Header{Fin: true, RSV1: true, Opcode: frame.OpText}, frame.RSV1Bit},
		{"5.2/rsv1-on-control-is-extension-business", frame.Header{Fin: true, RSV1: true, Opcode: frame.OpPing}, frame.RSV1Bit},
		{"5.2/all-rsv-negotiated", frame.Header{Fin: true, RSV1: true, RSV2: true, RSV3: true, Opcode: frame.OpBinary}, frame.RSV1Bit | frame.RSV2Bit | frame.RSV3Bit},
		{"5.2/rsv-allowed-but-unused", frame.Header{Fin: true, Opcode: frame.OpBinary}, frame.RSV1Bit},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/at-server", func(t *testing.T) {
			require.NoError(t, fromClient(tc.h).Check(frame.RoleServer, tc.allowed))
		})
		t.Run(tc.name+"/at-client", func(t *testing.T) {
			require.NoError(t, fromServer(tc.h).Check(frame.RoleClient, tc.allowed))
		})
	}
}

func TestCheckRejects(t *testing.T) {
	tests := []struct {
		name    string
		h       frame.Header
		allowed frame.RSV
		want    error
	}{
		{"5.2/opcode-0x3", frame.Header{Fin: true, Opcode: 0x3}, 0, frame.ErrReservedOpcode},
		{"5.2/opcode-0x7", frame.Header{Fin: true, Opcode: 0x7}, 0, frame.ErrReservedOpcode},
		{"5.2/opcode-0xB", frame.Header{Fin: true, Opcode: 0xB}, 0, frame.ErrReservedOpcode},
		{"5.2/opcode-0xF", frame.Header{Fin: true, Opcode: 0xF}, 0, frame.ErrReservedOpcode},
		{"5.2/rsv1-unnegotiated", frame.Header{Fin: true, RSV1: true, Opcode: frame.OpText}, 0, frame.ErrReservedBits},
		{"5.2/rsv2-unnegotiated", frame.Header{Fin: true, RSV2: true, Opcode: frame.OpText}, 0, frame.ErrReservedBits},
		{"5.2/rsv3-unnegotiated", frame.Header{Fin: true, RSV3: true, Opcode: frame.OpText}, 0, frame.ErrReservedBits},
		{"5.2/rsv2-with-only-rsv1-negotiated", frame.Header{Fin: true, RSV1: true, RSV2: true, Opcode: frame.OpBinary}, frame.RSV1Bit, frame.ErrReservedBits},
		{"5.2/rsv1-on-ping-unnegotiated", frame.Header{Fin: true, RSV1: true, Opcode: frame.OpPing}, 0, frame.ErrReservedBits},
		{"5.5/ping-126-bytes", frame.Header{Fin: true, Opcode: frame.OpPing, Length: 126}, 0, frame.ErrControlTooLong},
		{"5.5/pong-65536-bytes", frame.Header{Fin: true, Opcode: frame.OpPong, Length: 65536}, 0, frame.ErrControlTooLong},
		{"5.5/close-126-bytes", frame.Header{Fin: true, Opcode: frame.OpClose, Length: 126}, 0, frame.ErrControlTooLong},
		{"5.5/close-2^63-1-bytes", frame.Header{Fin: true, Opcode: frame.OpClose, Length: 1<<63 - 1}, 0, frame.ErrControlTooLong},
		{"5.5/ping-not-fin", frame.Header{Opcode: frame.OpPing}, 0, frame.ErrControlFragmented},
		{"5.5/pong-not-fin", frame.Header{Opcode: frame.OpPong, Length: 3}, 0, frame.ErrControlFragmented},
		{"5.5/close-not-fin", frame.Header{Opcode: frame.OpClose, Length: 2}, 0, frame.ErrControlFragmented},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/at-server", func(t *testing.T) {
			err := fromClient(tc.h).Check(frame.RoleServer, tc.allowed)
			requireProtocolError(t, err, tc.want, frame.CloseProtocolError)
		})
		t.Run(tc.name+"/at-client", func(t *testing.T) {
			err := fromServer(tc.h).Check(frame.RoleClient, tc.allowed)
			requireProtocolError(t, err, tc.want, frame.CloseProtocolError)
		})
	}
}

func TestCheckMasking(t *testing.T) {
	text := frame.Header{Fin: true, Opcode: frame.OpText, Length: 5}
	closeH := frame.Header{Fin: true, Opcode: frame.OpClose, Length: 2}
	tests := []struct {
		name string
		h    frame.Header
		role frame.Role
		want error
	}{
		{"5.1/unmasked-text-at-server", fromServer(text), frame.RoleServer, frame.ErrUnmasked},
		{"5.1/unmasked-close-at-server", fromServer(closeH), frame.RoleServer, frame.ErrUnmasked},
		{"5.1/masked-text-at-client", fromClient(text), frame.RoleClient, frame.ErrMasked},
		{"5.1/masked-close-at-client", fromClient(closeH), frame.RoleClient, frame.ErrMasked},
		{"5.1/masked-zero-key-at-client", frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true}, frame.RoleClient, frame.ErrMasked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireProtocolError(t, tc.h.Check(tc.role, 0), tc.want, frame.CloseProtocolError)
		})
	}
}

func TestCheckOrder(t *testing.T) {
	// Every rule broken at once: the documented order decides which is reported.
	h := frame.Header{RSV2: true, Opcode: 0xB, Length: 200}
	require.ErrorIs(t, h.Check(frame.RoleServer, 0), frame.ErrReservedOpcode)
	h.Opcode = frame.OpPing
	require.ErrorIs(t, h.Check(frame.RoleServer, 0), frame.ErrReservedBits)
	h.RSV2 = false
	require.ErrorIs(t, h.Check(frame.RoleServer, 0), frame.ErrControlTooLong)
	h.Length = 0
	require.ErrorIs(t, h.Check(frame.RoleServer, 0), frame.ErrControlFragmented)
	h.Fin = true
	require.ErrorIs(t, h.Check(frame.RoleServer, 0), frame.ErrUnmasked)
}

func TestCheckAfterParse(t *testing.T) {
	// The RFC 5.7 vectors on the wire, checked by the side that receives them.
	tests := []struct {
		name string
		wire string
		role frame.Role
		want error
	}{
		{"5.7/masked-text-hello-at-server", "81 85 37 fa 21 3d 7f 9f 4d 51 58", frame.RoleServer, nil},
		{"5.7/unmasked-text-hello-at-client", "81 05 48 65 6c 6c 6f", frame.RoleClient, nil},
		{"5.7/unmasked-text-hello-at-server", "81 05 48 65 6c 6c 6f", frame.RoleServer, frame.ErrUnmasked},
		{"5.7/masked-text-hello-at-client", "81 85 37 fa 21 3d 7f 9f 4d 51 58", frame.RoleClient, frame.ErrMasked},
		{"5.7/ping-hello-at-client", "89 05 48 65 6c 6c 6f", frame.RoleClient, nil},
		{"5.5/ping-126-at-client", "89 7E 007E", frame.RoleClient, frame.ErrControlTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _, err := frame.ParseHeader(hx(t, tc.wire))
			require.NoError(t, err)
			err = h.Check(tc.role, 0)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			requireProtocolError(t, err, tc.want, frame.CloseProtocolError)
		})
	}
}

func TestOpcodeClasses(t *testing.T) {
	for op := range 256 {
		o := frame.Opcode(op)
		classes := 0
		for _, in := range []bool{o.IsData(), o.IsControl(), o.IsReserved()} {
			if in {
				classes++
			}
		}
		assert.Equal(t, 1, classes, "opcode %#x must be in exactly one class", op)
		switch o {
		case frame.OpContinuation, frame.OpText, frame.OpBinary:
			assert.True(t, o.IsData(), "%v", o)
		case frame.OpClose, frame.OpPing, frame.OpPong:
			assert.True(t, o.IsControl(), "%v", o)
		default:
			assert.True(t, o.IsReserved(), "%v", o)
		}
	}
}

func TestHeaderRSV(t *testing.T) {
	assert.Equal(t, frame.RSV(0), frame.Header{}.RSV())
	assert.Equal(t, frame.RSV1Bit, frame.Header{RSV1: true}.RSV())
	assert.Equal(t, frame.RSV2Bit, frame.Header{RSV2: true}.RSV())
	assert.Equal(t, frame.RSV3Bit, frame.Header{RSV3: true}.RSV())
	assert.Equal(t, frame.RSV1Bit|frame.RSV3Bit, frame.Header{RSV1: true, RSV3: true}.RSV())
	// The bits have their wire values in the first header byte.
	wire := frame.AppendHeader(nil, frame.Header{RSV1: true, RSV2: true, RSV3: true})
	assert.Equal(t, byte(frame.RSV1Bit|frame.RSV2Bit|frame.RSV3Bit), wire[0])
}
