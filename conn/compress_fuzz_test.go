package conn_test

import (
	"bytes"
	"compress/flate"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"duplex/conn"
	"duplex/frame"
	"duplex/handshake"
)

// FuzzReadCompressed feeds arbitrary bytes to a server connection that
// agreed on permessage-deflate with context takeover: reading must end with
// an error, never panic or hang, and a failure carries a close code it may
// send. The seeds are compressed messages, whole and fragmented.
func FuzzReadCompressed(f *testing.F) {
	deflated := func(s string) []byte {
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
		_, _ = fw.Write([]byte(s))
		_ = fw.Flush()
		return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
	}
	p := deflated("hello hello hello")
	f.Add(wireRSV1(frame.OpText, true, true, p))
	f.Add(append(wireRSV1(frame.OpBinary, false, true, p[:2]), wireRSV1(frame.OpContinuation, true, false, p[2:])...))
	f.Add(append(wireRSV1(frame.OpText, true, true, p), wireRSV1(frame.OpText, true, true, deflated("hello again"))...))
	f.Add(wireRSV1(frame.OpText, true, true, []byte{0xff, 0xff}))
	f.Fuzz(func(t *testing.T, input []byte) {
		a, b := net.Pipe()
		c := conn.NewConnecting(b, frame.RoleServer, &conn.Options{ReadLimit: 1 << 16, CloseTimeout: time.Second,
			Compression: &conn.CompressionOptions{}})
		require.NoError(t, c.Open("", []handshake.Extension{{Name: handshake.DeflateName}}))
		readToEnd(t, c, a, input)
	})
}
