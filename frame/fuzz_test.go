package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"duplex/frame"
)

// Run one at a time, anchored, for example:
//
//	go test ./frame -run='^$' -fuzz='^FuzzParseHeader$' -fuzztime=60s

func FuzzParseHeader(f *testing.F) {
	for _, tc := range validHeaders {
		f.Add(hx(f, tc.wire))
	}
	for _, tc := range malformedHeaders {
		f.Add(hx(f, tc.wire))
	}
	f.Add(hx(f, "81 85 37 fa 21 3d 7f 9f 4d 51 58"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := frame.ParseHeader(b)

		// ReadHeader agrees with ParseHeader, even one byte at a time.
		br := bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(b)), 16)
		rh, rerr := frame.ReadHeader(br)
		switch {
		case err == nil:
			if rerr != nil || rh != h {
				t.Fatalf("ReadHeader = %v, %v; ParseHeader = %v", rh, rerr, h)
			}
			// It consumed exactly the header.
			if rest, _ := io.ReadAll(br); !bytes.Equal(rest, b[n:]) {
				t.Fatalf("after ReadHeader: % x, want % x", rest, b[n:])
			}
		case errors.Is(err, frame.ErrShortHeader):
			want := io.ErrUnexpectedEOF
			if len(b) == 0 {
				want = io.EOF
			}
			if n != 0 || !errors.Is(rerr, want) {
				t.Fatalf("short header: n = %d, ReadHeader error %v", n, rerr)
			}
			return
		default:
			var pe frame.ProtocolError
			if !errors.As(err, &pe) || pe.Code != frame.CloseProtocolError || !errors.Is(rerr, pe) {
				t.Fatalf("ParseHeader error %v (ReadHeader %v) is not a 1002 protocol error", err, rerr)
			}
			return
		}

		// Round trip: a header that parses re-encodes to the same bytes,
		// because only minimal length forms parse.
		if n != h.Size() || h.Length < 0 {
			t.Fatalf("n = %d, Size() = %d, Length = %d", n, h.Size(), h.Length)
		}
		if got := frame.AppendHeader(nil, h); !bytes.Equal(got, b[:n]) {
			t.Fatalf("AppendHeader(%v) = % x, want % x", h, got, b[:n])
		}
		// Check never panics and only reports protocol errors.
		for _, role := range []frame.Role{frame.RoleServer, frame.RoleClient} {
			if err := h.Check(role, 0); err != nil {
				var pe frame.ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("Check error %v is not a ProtocolError", err)
				}
			}
		}
	})
}

func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x3d21fa37), 0, 2)
	f.Add(make([]byte, 100), uint32(0xFFFFFFFF), 3, 33)
	f.Fuzz(func(t *testing.T, b []byte, k uint32, pos, cut int) {
		key := [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		pos &= 3
		want := bytes.Clone(b)
		wantNext := maskRef(key, pos, want)
		got := bytes.Clone(b)
		if len(got) > 0 {
			cut = int(uint(cut) % uint(len(got)+1))
		} else {
			cut = 0
		}
		next := frame.Mask(key, pos, got[:cut])
		next = frame.Mask(key, next, got[cut:])
		if !bytes.Equal(got, want) || next != wantNext {
			t.Fatalf("masked in two pieces at %d: % x (next %d), want % x (next %d)", cut, got, next, want, wantNext)
		}
	})
}

func FuzzUTF8Validator(f *testing.F) {
	for _, s := range []string{"", "κόσμε", "\xed\xa0\x80", "\xf4\x90\x80\x80", "abcdefgh\xe2\x82\xac", "\xc0\xaf"} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		if len(b) > 0 {
			cut = int(uint(cut) % uint(len(b)+1))
		} else {
			cut = 0
		}
		fail, complete := feedSplit(t, b, cut)
		if complete != utf8.Valid(b) {
			t.Fatalf("% x split at %d: Complete %v, utf8.Valid %v", b, cut, complete, !complete)
		}
		if want := wantFail(b); fail != want {
			t.Fatalf("% x split at %d: failed at %d, want %d", b, cut, fail, want)
		}
	})
}

func FuzzParseClosePayload(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x03})
	f.Add([]byte{0x03, 0xE8, 'o', 'k'})
	f.Add([]byte{0x03, 0xED})
	f.Add([]byte{0x0F, 0xA0, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		code, reason, err := frame.ParseClosePayload(b)
		if err != nil {
			var pe frame.ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a ProtocolError", err)
			}
			return
		}
		// Round trip: what parses re-encodes to the same body.
		got, err := frame.AppendClosePayload(nil, code, reason)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("AppendClosePayload(%v, %q) = % x, %v; want % x", code, reason, got, err, b)
		}
	})
}
