package deflate_test

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"duplex/internal/deflate"
	"duplex/internal/deflate/deflatetest"
)

// TestEncodersShareCompressors interleaves the messages of several connections' encoders
// of the same kind: with a limit of one compressor per kind, each message gets the one
// another encoder used last and must seed it with its own history; with the default
// limit each keeps its own. Every message still refers only to the history of its own
// connection, within the window (RFC 7692, Section 7.1.2.1).
func TestEncodersShareCompressors(t *testing.T) {
	msgs := deflatetest.Messages(3000)
	for _, limit := range []int{1, 0} {
		for _, bits := range []int{9, 12, 15} {
			t.Run(fmt.Sprintf("7.2.1/bits-%d-limit-%d", bits, limit), func(t *testing.T) {
				if limit > 0 {
					defer deflate.SetLiveLimit(limit)()
				}
				shareCompressors(t, bits, msgs)
			})
		}
	}
}

func shareCompressors(t *testing.T, bits int, msgs [][]byte) {
	window := 1 << bits
	encs := make([]*deflate.Encoder, 3)
	hists := make([][]byte, len(encs))
	for i := range encs {
		encs[i] = deflate.NewEncoder(bits, 1, true)
	}
	for round, order := range [][]int{{0, 0, 1, 0, 2, 2, 1}, {2, 1, 0, 1, 2, 0, 0}} {
		for step, i := range order {
			msg := msgs[(round*7+step+i)%len(msgs)]
			p := encs[i].Finish(encs[i].Append(nil, msg))
			got, _, err := walk(p, lastN(hists[i], window), window)
			require.NoError(t, err, "round %d step %d encoder %d", round, step, i)
			require.Equal(t, msg, got)
			hists[i] = append(hists[i], msg...)
		}
	}
	// An encoder reset starts afresh, whoever holds its last compressor.
	encs[0].Reset()
	p := encs[0].Finish(encs[0].Append(nil, msgs[0]))
	got, _, err := walk(p, nil, window)
	require.NoError(t, err)
	assert.Equal(t, msgs[0], got)
}

// TestEncodersConcurrent runs connections on several goroutines at once, each with its
// own encoder and decoder of the same kind, so that compressors pass between them while
// others are busy. Run with -race.
func TestEncodersConcurrent(t *testing.T) {
	msgs := deflatetest.Messages(2000)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := deflate.NewEncoder(12+g%4, 1, g%3 != 0)
			dec := deflate.NewDecoder(12+g%4, g%3 != 0)
			for i := range 60 {
				msg := msgs[(g+i)%len(msgs)]
				p := enc.Finish(enc.Append(nil, msg))
				dec.Begin(bytes.NewReader(p))
				got, err := io.ReadAll(dec)
				dec.End()
				if err != nil || !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("goroutine %d message %d: %v", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
