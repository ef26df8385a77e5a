package frame_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/frame"
)

func TestCloseCodeValidOnWire(t *testing.T) {
	tests := []struct {
		name string
		code frame.CloseCode
		want bool
	}{
		{"7.4.2/0-unused", 0, false},
		{"7.4.2/999-unused", 999, false},
		{"7.4.1/1000-normal", 1000, true},
		{"7.4.1/1001-going-away", 1001, true},
		{"7.4.1/1002-protocol-error", 1002, true},
		{"7.4.1/1003-unsupported-data", 1003, true},
		{"7.4.1/1004-reserved", 1004, false},
		{"7.4.1/1005-no-status-local-only", 1005, false},
		{"7.4.1/1006-abnormal-local-only", 1006, false},
		{"7.4.1/1007-invalid-payload", 1007, true},
		{"7.4.1/1008-policy", 1008, true},
		{"7.4.1/1009-too-big", 1009, true},
		{"7.4.1/1010-mandatory-extension", 1010, true},
		{"7.4.1/1011-internal-error", 1011, true},
		{"7.4.2/1012-iana-service-restart", 1012, true},
		{"7.4.2/1013-iana-try-again-later", 1013, true},
		{"7.4.2/1014-iana-bad-gateway", 1014, true},
		{"7.4.1/1015-tls-local-only", 1015, false},
		{"7.4.2/1016-reserved", 1016, false},
		{"7.4.2/2999-reserved", 2999, false},
		{"7.4.2/3000-registered", 3000, true},
		{"7.4.2/3999-registered", 3999, true},
		{"7.4.2/4000-private", 4000, true},
		{"7.4.2/4999-private", 4999, true},
		{"7.4.2/5000-undefined", 5000, false},
		{"7.4.2/65535-undefined", 65535, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.code.ValidOnWire())

			// The same rule holds on the way in and on the way out.
			payload := []byte{byte(tc.code >> 8), byte(tc.code)}
			code, reason, err := frame.ParseClosePayload(payload)
			body, appendErr := frame.AppendClosePayload(nil, tc.code, "")
			if tc.want {
				require.NoError(t, err)
				assert.Equal(t, tc.code, code)
				assert.Empty(t, reason)
				require.NoError(t, appendErr)
				assert.Equal(t, payload, body)
				return
			}
			requireProtocolError(t, err, frame.ErrInvalidCloseCode, frame.CloseProtocolError)
			if tc.code == frame.CloseNoStatus {
				// An empty body is how "no status" travels.
				require.NoError(t, appendErr)
				assert.Empty(t, body)
				return
			}
			requireProtocolError(t, appendErr, frame.ErrInvalidCloseCode, frame.CloseProtocolError)
		})
	}
}

func TestParseClosePayload(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		code   frame.CloseCode
		reason string
	}{
		{"5.5.1/empty-body-no-status", nil, frame.CloseNoStatus, ""},
		{"5.5.1/code-only", []byte{0x03, 0xE8}, frame.CloseNormal, ""},
		{"5.5.1/code-and-reason", append([]byte{0x03, 0xE9}, "bye"...), frame.CloseGoingAway, "bye"},
		{"5.5.1/private-code-utf8-reason", append([]byte{0x0F, 0xA0}, "κόσμε"...), 4000, "κόσμε"},
		{"5.5.1/reason-123-bytes", append([]byte{0x03, 0xE8}, strings.Repeat("r", 123)...), frame.CloseNormal, strings.Repeat("r", 123)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, err := frame.ParseClosePayload(tc.body)
			require.NoError(t, err)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.reason, reason)
		})
	}
}

func TestParseClosePayloadReasonIsCopy(t *testing.T) {
	body := append([]byte{0x03, 0xE8}, "keep"...)
	_, reason, err := frame.ParseClosePayload(body)
	require.NoError(t, err)
	copy(body[2:], "XXXX")
	assert.Equal(t, "keep", reason)
}

func TestParseClosePayloadRejects(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want error
		code frame.CloseCode
	}{
		{"5.5.1/one-byte", []byte{0x03}, frame.ErrClosePayloadLength, frame.CloseProtocolError},
		{"7.4.1/code-1005-on-wire", []byte{0x03, 0xED}, frame.ErrInvalidCloseCode, frame.CloseProtocolError},
		{"7.4.2/code-0", []byte{0x00, 0x00}, frame.ErrInvalidCloseCode, frame.CloseProtocolError},
		{"5.5/body-126-bytes", append([]byte{0x03, 0xE8}, strings.Repeat("r", 124)...), frame.ErrControlTooLong, frame.CloseProtocolError},
		{"8.1/reason-invalid-utf8", []byte{0x03, 0xE8, 0xFF}, frame.ErrInvalidUTF8, frame.CloseInvalidPayload},
		{"8.1/reason-truncated-utf8", []byte{0x03, 0xE8, 'o', 'k', 0xCE}, frame.ErrInvalidUTF8, frame.CloseInvalidPayload},
		{"8.1/reason-surrogate", []byte{0x03, 0xE8, 0xED, 0xA0, 0x80}, frame.ErrInvalidUTF8, frame.CloseInvalidPayload},
		{"7.4.1/bad-code-before-bad-reason", []byte{0x03, 0xEC, 0xFF}, frame.ErrInvalidCloseCode, frame.CloseProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, err := frame.ParseClosePayload(tc.body)
			requireProtocolError(t, err, tc.want, tc.code)
			assert.Zero(t, code)
			assert.Empty(t, reason)
		})
	}
}

func TestAppendClosePayload(t *testing.T) {
	got, err := frame.AppendClosePayload([]byte{0x88, 0x05}, frame.CloseNormal, "bye")
	require.NoError(t, err)
	assert.Equal(t, []byte{0x88, 0x05, 0x03, 0xE8, 'b', 'y', 'e'}, got)

	got, err = frame.AppendClosePayload(nil, frame.CloseNoStatus, "")
	require.NoError(t, err)
	assert.Empty(t, got, "no status travels as an empty body")

	got, err = frame.AppendClosePayload(nil, 4999, strings.Repeat("é", 61)+"x")
	require.NoError(t, err)
	assert.Len(t, got, frame.MaxControlPayload)
}

func TestAppendClosePayloadRejects(t *testing.T) {
	dst := []byte{0x88}
	tests := []struct {
		name   string
		code   frame.CloseCode
		reason string
		want   error
	}{
		{"7.4.1/no-status-with-reason", frame.CloseNoStatus, "why", frame.ErrInvalidCloseCode},
		{"7.4.1/abnormal", frame.CloseAbnormal, "", frame.ErrInvalidCloseCode},
		{"7.4.1/tls", frame.CloseTLSHandshake, "", frame.ErrInvalidCloseCode},
		{"5.5/reason-124-bytes", frame.CloseNormal, strings.Repeat("r", 124), frame.ErrCloseReasonTooLong},
		{"8.1/reason-invalid-utf8", frame.CloseNormal, "a\xffb", frame.ErrInvalidUTF8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := frame.AppendClosePayload(dst, tc.code, tc.reason)
			var want frame.ProtocolError
			if errors.As(tc.want, &want) {
				requireProtocolError(t, err, tc.want, want.Code)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
			assert.Equal(t, []byte{0x88}, got, "dst is returned unchanged")
		})
	}
	_, err := frame.AppendClosePayload(nil, frame.CloseNormal, strings.Repeat("r", 124))
	var pe frame.ProtocolError
	assert.False(t, errors.As(err, &pe), "a reason too long is the caller's mistake, not a protocol error")
}

func TestCloseRoundTrip(t *testing.T) {
	for _, code := range []frame.CloseCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999} {
		for _, reason := range []string{"", "x", "going away now", "日本語", strings.Repeat("z", frame.MaxCloseReason)} {
			body, err := frame.AppendClosePayload(nil, code, reason)
			require.NoError(t, err)
			gotCode, gotReason, err := frame.ParseClosePayload(body)
			require.NoError(t, err)
			assert.Equal(t, code, gotCode)
			assert.Equal(t, reason, gotReason)
		}
	}
}

func TestStringNeverEmpty(t *testing.T) {
	for v := range 256 {
		assert.NotEmpty(t, frame.Opcode(v).String(), "opcode %d", v)
		assert.NotEmpty(t, frame.Role(v).String(), "role %d", v)
		assert.NotEmpty(t, frame.RSV(v).String(), "rsv %d", v)
	}
	for c := range 1 << 16 {
		s := frame.CloseCode(c).String()
		if !strings.HasPrefix(s, strconv.Itoa(c)+" (") {
			t.Fatalf("CloseCode(%d).String() = %q", c, s)
		}
	}
	assert.NotEmpty(t, frame.Header{}.String())
	for _, err := range []error{
		frame.ErrReservedOpcode, frame.ErrReservedBits, frame.ErrControlTooLong, frame.ErrControlFragmented,
		frame.ErrLengthMSB, frame.ErrNonMinimalLength, frame.ErrUnmasked, frame.ErrMasked,
		frame.ErrInvalidCloseCode, frame.ErrClosePayloadLength, frame.ErrInvalidUTF8,
		frame.ErrShortHeader, frame.ErrCloseReasonTooLong,
	} {
		assert.True(t, strings.HasPrefix(err.Error(), "frame: "), "%q", err)
		var pe frame.ProtocolError
		if errors.As(err, &pe) {
			assert.LessOrEqual(t, len(pe.Reason), frame.MaxCloseReason, "a reason must fit a close frame")
		}
	}
}

func TestStringValues(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"5.2/opcode-continuation", frame.OpContinuation.String(), "continuation"},
		{"5.2/opcode-text", frame.OpText.String(), "text"},
		{"5.2/opcode-binary", frame.OpBinary.String(), "binary"},
		{"5.2/opcode-close", frame.OpClose.String(), "close"},
		{"5.2/opcode-ping", frame.OpPing.String(), "ping"},
		{"5.2/opcode-pong", frame.OpPong.String(), "pong"},
		{"5.2/opcode-reserved", frame.Opcode(0x3).String(), "reserved(0x3)"},
		{"5.2/opcode-reserved-control", frame.Opcode(0xB).String(), "reserved(0xb)"},
		{"5.1/role-server", frame.RoleServer.String(), "server"},
		{"5.1/role-client", frame.RoleClient.String(), "client"},
		{"5.1/role-other", frame.Role(7).String(), "role(7)"},
		{"5.2/rsv-none", frame.RSV(0).String(), "none"},
		{"5.2/rsv1-rsv3", (frame.RSV1Bit | frame.RSV3Bit).String(), "rsv1|rsv3"},
		{"5.2/rsv-outside", frame.RSV(0x42).String(), "rsv1|0x2"},
		{"7.4.1/normal", frame.CloseNormal.String(), "1000 (normal closure)"},
		{"7.4.1/tls", frame.CloseTLSHandshake.String(), "1015 (TLS handshake failure)"},
		{"7.4.2/unused", frame.CloseCode(999).String(), "999 (unused)"},
		{"7.4.2/reserved", frame.CloseCode(2000).String(), "2000 (reserved)"},
		{"7.4.2/registered", frame.CloseCode(3000).String(), "3000 (registered)"},
		{"7.4.2/private", frame.CloseCode(4000).String(), "4000 (private use)"},
		{"7.4.2/out-of-range", frame.CloseCode(5000).String(), "5000 (out of range)"},
		{"5.2/header", frame.Header{Fin: true, RSV1: true, Opcode: frame.OpText, Masked: true, Length: 5}.String(), "text fin rsv1 len=5 masked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.got)
		})
	}
}
