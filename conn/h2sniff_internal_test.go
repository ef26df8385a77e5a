package conn

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// settingsFrame encodes a SETTINGS frame (RFC 9113, Section 6.5) with the
// given flags and (id, value) pairs.
func settingsFrame(flags byte, pairs ...uint32) []byte {
	n := len(pairs) / 2 * 6
	b := []byte{byte(n >> 16), byte(n >> 8), byte(n), frameSettings, flags, 0, 0, 0, 0}
	for i := 0; i < len(pairs); i += 2 {
		id, v := pairs[i], pairs[i+1]
		b = append(b, byte(id>>8), byte(id), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return b
}

func TestSettingsSniffer(t *testing.T) {
	const maxStreams, window = 0x3, 0x4
	ping := []byte{0, 0, 8, 0x6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}
	for _, tc := range []struct {
		name  string
		input []byte
		want  error // nil, errNoConnectProtocol, or errOther
	}{
		{"8441-3/enabled", settingsFrame(0, maxStreams, 100, settingConnect, 1, window, 1<<20), nil},
		{"8441-3/enabled-alone", settingsFrame(0, settingConnect, 1), nil},
		{"8441-3/absent", settingsFrame(0, maxStreams, 100, window, 1<<20), errNoConnectProtocol},
		{"8441-3/zero", settingsFrame(0, settingConnect, 0), errNoConnectProtocol},
		{"9113-3.4/empty-settings", settingsFrame(0), errNoConnectProtocol},
		{"9113-3.4/ack-first", settingsFrame(flagAck), errOther},
		{"9113-3.4/ping-first", ping, errOther},
		{"9113-6.5/length-not-multiple-of-6", []byte{0, 0, 5, frameSettings, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5}, errOther},
		{"9113-6.5/on-a-stream", []byte{0, 0, 0, frameSettings, 0, 0, 0, 0, 1}, errOther},
		{"9113-3.4/cut-short", settingsFrame(0, settingConnect, 1)[:12], errOther},
	} {
		for _, chunk := range []int{1, 2, 7, 1 << 10} {
			s := &settingsSniffer{seen: make(chan error, 1)}
			in := tc.input
			for len(in) > 0 && !s.done {
				k := min(chunk, len(in))
				var err error
				if k == len(in) {
					err = io.EOF // the connection ends with the input
				}
				s.sniff(in[:k], err)
				in = in[k:]
			}
			require.True(t, s.done, "%s/chunk-%d: no report", tc.name, chunk)
			got := <-s.seen
			switch tc.want {
			case nil:
				assert.NoError(t, got, "%s/chunk-%d", tc.name, chunk)
			case errOther:
				assert.Error(t, got, "%s/chunk-%d", tc.name, chunk)
				assert.NotErrorIs(t, got, errNoConnectProtocol, "%s/chunk-%d", tc.name, chunk)
			default:
				assert.ErrorIs(t, got, tc.want, "%s/chunk-%d", tc.name, chunk)
			}
		}
	}
}

// errOther stands for any error but errNoConnectProtocol in the table.
var errOther = errors.New("another error")
