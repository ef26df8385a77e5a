package fuzz_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"duplex/frame"
)

// FuzzParseHeader checks frame.ParseHeader against the reference decoder
// (RFC 6455, Section 5.2): the same verdict and fields for every byte
// string, exactly the header's bytes consumed, and a round trip through
// AppendHeader for every header accepted. ReadHeader, fed one byte or
// half the bytes at a time, must agree with it, and Header.Check must
// apply the rules of Section 5 in its documented order, for both roles and
// any set of reserved bits an extension may claim.
func FuzzParseHeader(f *testing.F) {
	for _, fr := range rfcFrames(f) {
		f.Add(fr.wire, byte(0))
	}
	for _, s := range []string{
		"", "81", "81 7e 01", "82 7f 00 00 00 00 00 01 00", "82 ff 80 00 00 00 00 00 00 00 01 02 03 04",
		"82 7e 00 7d", "82 7f 00 00 00 00 00 00 ff ff", "c1 80 01 02 03 04", "f2 00", "8b 00", "09 00", "88 7e 00 7e",
	} {
		f.Add(unhex(f, s), byte(0x40))
	}
	f.Fuzz(func(t *testing.T, b []byte, allowedBits byte) {
		h, n, err := frame.ParseHeader(b)
		ref, st, badIfShort := refDecodeHeader(b)
		switch {
		case st == headerShort && !(badIfShort && err != nil && !errors.Is(err, frame.ErrShortHeader)):
			if !errors.Is(err, frame.ErrShortHeader) || n != 0 {
				t.Fatalf("% x is short: got n=%d, %v", b, n, err)
			}
		case st == headerMalformed || st == headerShort:
			want := frame.ErrNonMinimalLength
			if ref.length>>63 != 0 {
				want = frame.ErrLengthMSB
			}
			var pe frame.ProtocolError
			if !errors.Is(err, want) || !errors.As(err, &pe) || pe.Code != frame.CloseProtocolError {
				t.Fatalf("% x is malformed (%v): got %v", b, want, err)
			}
		default:
			if err != nil {
				t.Fatalf("% x: valid header refused: %v", b, err)
			}
			got := refHeader{
				fin: h.Fin, rsv1: h.RSV1, rsv2: h.RSV2, rsv3: h.RSV3, op: byte(h.Opcode),
				masked: h.Masked, length: uint64(h.Length), size: n,
			}
			if h.Masked {
				got.key = h.MaskKey
			}
			if got != ref || h.Length < 0 || h.Size() != n {
				t.Fatalf("% x: parsed %+v (%v, size %d), reference %+v", b, got, h, h.Size(), ref)
			}
			// Round trip: only minimal length forms parse, so the encoding
			// of what parsed is the input.
			if enc := frame.AppendHeader(nil, h); !bytes.Equal(enc, b[:n]) {
				t.Fatalf("AppendHeader(%v) = % x, want % x", h, enc, b[:n])
			}
			allowed := frame.RSV(allowedBits) & (frame.RSV1Bit | frame.RSV2Bit | frame.RSV3Bit)
			for _, role := range []frame.Role{frame.RoleServer, frame.RoleClient} {
				cerr := h.Check(role, allowed)
				want := refCheck(ref, role, allowed)
				var pe frame.ProtocolError
				if want == nil && cerr != nil || want != nil && (!errors.Is(cerr, want) || !errors.As(cerr, &pe) || pe.Code != frame.CloseProtocolError) {
					t.Fatalf("%v.Check(%v, %v) = %v, want %v", h, role, allowed, cerr, want)
				}
			}
		}

		// ReadHeader agrees, however the bytes arrive.
		for name, r := range map[string]io.Reader{
			"one-byte": iotest.OneByteReader(bytes.NewReader(b)),
			"half":     iotest.HalfReader(bytes.NewReader(b)),
		} {
			br := bufio.NewReaderSize(r, 16)
			rh, rerr := frame.ReadHeader(br)
			switch {
			case err == nil:
				if rerr != nil || rh != h {
					t.Fatalf("%s: ReadHeader = %v, %v; ParseHeader = %v", name, rh, rerr, h)
				}
				if rest, _ := io.ReadAll(br); !bytes.Equal(rest, b[n:]) {
					t.Fatalf("%s: ReadHeader consumed more or less than the header", name)
				}
			case errors.Is(err, frame.ErrShortHeader):
				want := io.ErrUnexpectedEOF
				if len(b) == 0 {
					want = io.EOF
				}
				early := badIfShort && (errors.Is(rerr, frame.ErrLengthMSB) || errors.Is(rerr, frame.ErrNonMinimalLength))
				if !errors.Is(rerr, want) && !early {
					t.Fatalf("%s: short header % x: ReadHeader error %v", name, b, rerr)
				}
			default:
				var pe, rpe frame.ProtocolError
				if !errors.As(err, &pe) || !errors.As(rerr, &rpe) || pe != rpe {
					t.Fatalf("%s: ReadHeader error %v, ParseHeader %v", name, rerr, err)
				}
			}
		}
	})
}

// FuzzMask checks frame.Mask against the byte-by-byte definition of RFC
// 6455, Section 5.3 for any payload, key and starting position: masking in
// arbitrary pieces equals masking at once, the key position carries over
// between pieces, masking twice restores the payload, and no byte outside
// the slice is touched.
func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x3d21fa37), uint8(0), []byte{2})
	f.Add(make([]byte, 100), uint32(0xFFFFFFFF), uint8(3), []byte{33, 1, 7})
	f.Add(bytes.Repeat([]byte{0xA5}, 1027), uint32(0x01020304), uint8(5), []byte{0, 8, 255, 3})
	f.Fuzz(func(t *testing.T, payload []byte, k uint32, pos uint8, cuts []byte) {
		var key [4]byte
		binary.LittleEndian.PutUint32(key[:], k)
		want := bytes.Clone(payload)
		wantNext := refMask(key, int(pos), want)

		// The payload sits between guard bytes, so an overrun shows.
		const guard = 8
		buf := make([]byte, guard+len(payload)+guard)
		for i := range buf {
			buf[i] = 0x5A
		}
		got := buf[guard : guard+len(payload)]
		copy(got, payload)
		next := int(pos)
		rest := got
		for _, c := range cuts {
			piece := rest[:min(int(c), len(rest))]
			next = frame.Mask(key, next, piece)
			rest = rest[len(piece):]
		}
		next = frame.Mask(key, next, rest)
		if !bytes.Equal(got, want) || next != wantNext {
			t.Fatalf("masked in pieces %v from %d: % x (next %d), want % x (next %d)", cuts, pos, got, next, want, wantNext)
		}
		for i := range guard {
			if buf[i] != 0x5A || buf[len(buf)-1-i] != 0x5A {
				t.Fatalf("Mask wrote outside its slice: % x", buf)
			}
		}
		if frame.Mask(key, int(pos), got); !bytes.Equal(got, payload) {
			t.Fatalf("masking twice gave % x, want % x", got, payload)
		}
	})
}

// FuzzUTF8Validator compares the incremental validator with unicode/utf8,
// fed in arbitrary chunks: the same verdict for every byte string, and a
// failure reported exactly at the first byte after which no valid
// continuation exists (never later than the first invalid sequence, and
// never earlier). A failed validator stays failed until Reset, and a
// Reset one judges the next stream afresh.
func FuzzUTF8Validator(f *testing.F) {
	for _, s := range []string{
		"", "κόσμε", "\xed\xa0\x80", "\xf4\x90\x80\x80", "abcdefgh\xe2\x82\xac", "\xc0\xaf",
		"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", "\xf0\x9f\x98", "12345678\xf0\x9f\x98\x80",
	} {
		f.Add([]byte(s), []byte{1, 3})
	}
	f.Fuzz(func(t *testing.T, b, cuts []byte) {
		var v frame.UTF8Validator
		for round := range 2 {
			failAt, off, rest := -1, 0, b
			feed := func(p []byte) {
				n, ok := v.Feed(p)
				switch {
				case failAt >= 0:
					if ok || n != 0 {
						t.Fatalf("Feed after a failure = %d, %v", n, ok)
					}
				case !ok:
					if n < 0 || n >= len(p) {
						t.Fatalf("Feed failed at %d of a %d-byte chunk", n, len(p))
					}
					failAt = off + n
				case n != len(p):
					t.Fatalf("Feed = %d, true for %d bytes", n, len(p))
				}
				off += len(p)
			}
			if round == 0 {
				for _, c := range cuts {
					feed(rest[:min(int(c), len(rest))])
					rest = rest[min(int(c), len(rest)):]
				}
			}
			feed(rest)
			want := refFailFast(b)
			if failAt != want {
				t.Fatalf("round %d: % x in chunks %v failed at %d, want %d", round, b, cuts, failAt, want)
			}
			if v.Complete() != utf8.Valid(b) {
				t.Fatalf("round %d: % x: Complete %v, utf8.Valid %v", round, b, v.Complete(), utf8.Valid(b))
			}
			v.Reset()
		}
	})
}

// FuzzParseClosePayload checks the close body decoder of RFC 6455, Section
// 5.5.1 against the reference rules, round-trips what it accepts through
// AppendClosePayload, and checks AppendClosePayload on the same bytes read
// as a code and a reason: it must refuse exactly what the wire forbids,
// and what it writes must parse back.
func FuzzParseClosePayload(f *testing.F) {
	for _, s := range []string{"", "03", "03 e8 6f 6b", "03 ed", "0f a0 ff", "03 ee", "0b b8", "13 88", "03 f3 ce ba"} {
		f.Add(unhex(f, s))
	}
	f.Add(append([]byte{0x03, 0xE8}, bytes.Repeat([]byte("x"), 124)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		code, reason, err := frame.ParseClosePayload(b)
		var wantErrs []error
		if len(b) == 1 {
			wantErrs = append(wantErrs, frame.ErrClosePayloadLength)
		}
		if len(b) > frame.MaxControlPayload {
			wantErrs = append(wantErrs, frame.ErrControlTooLong)
		}
		if len(b) >= 2 {
			c := binary.BigEndian.Uint16(b)
			if frame.CloseCode(c).ValidOnWire() != refCloseCodeValid(c) {
				t.Fatalf("CloseCode(%d).ValidOnWire() = %v", c, !refCloseCodeValid(c))
			}
			if !refCloseCodeValid(c) {
				wantErrs = append(wantErrs, frame.ErrInvalidCloseCode)
			}
			if !utf8.Valid(b[2:]) {
				wantErrs = append(wantErrs, frame.ErrInvalidUTF8)
			}
		}
		if len(wantErrs) > 0 {
			matched := false
			for _, w := range wantErrs {
				matched = matched || errors.Is(err, w)
			}
			if !matched {
				t.Fatalf("ParseClosePayload(% x) = %v, %q, %v; want one of %v", b, code, reason, err, wantErrs)
			}
		} else {
			if err != nil {
				t.Fatalf("ParseClosePayload(% x) refused a valid body: %v", b, err)
			}
			if got, aerr := frame.AppendClosePayload(nil, code, reason); aerr != nil || !bytes.Equal(got, b) {
				t.Fatalf("AppendClosePayload(%v, %q) = % x, %v; want % x", code, reason, got, aerr, b)
			}
		}

		// The same bytes as arguments of AppendClosePayload.
		if len(b) < 2 {
			return
		}
		c, r := frame.CloseCode(binary.BigEndian.Uint16(b)), string(b[2:])
		enc, aerr := frame.AppendClosePayload([]byte("dst"), c, r)
		if c == frame.CloseNoStatus && r == "" {
			if aerr != nil || string(enc) != "dst" {
				t.Fatalf("AppendClosePayload(1005, \"\") = % x, %v; want no body", enc, aerr)
			}
			return
		}
		var refuse []error
		if !refCloseCodeValid(uint16(c)) {
			refuse = append(refuse, frame.ErrInvalidCloseCode)
		}
		if !utf8.ValidString(r) {
			refuse = append(refuse, frame.ErrInvalidUTF8)
		}
		if len(r) > frame.MaxCloseReason {
			refuse = append(refuse, frame.ErrCloseReasonTooLong)
		}
		matched := len(refuse) == 0 && aerr == nil && bytes.Equal(enc[3:], b)
		for _, w := range refuse {
			matched = matched || errors.Is(aerr, w)
		}
		if !matched {
			t.Fatalf("AppendClosePayload(%v, %q) = % x, %v; want one of %v", c, r, enc, aerr, refuse)
		}
		if aerr != nil && string(enc) != "dst" {
			t.Fatalf("AppendClosePayload changed dst on error: %q", enc)
		}
	})
}
