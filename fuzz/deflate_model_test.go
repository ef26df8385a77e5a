package fuzz_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"

	"duplex/frame"
)

// deflateModel is the reference for permessage-deflate (RFC 7692) on the
// read side: compress/flate inflates each message, with the history of
// the previous messages as the dictionary under context takeover.
type deflateModel struct {
	takeover bool
	history  []byte
}

// maxWindow is the LZ77 window of a peer that agreed no smaller one
// (RFC 7692, Section 7.1.2: 15 bits).
const maxWindow = 1 << 15

// wireLimit is how far the compressed size of a message may go past the
// read limit before the connection gives up on it, as package conn
// documents: "an eighth plus 1 KiB, the most incompressible data grows
// once coded".
func (d *deflateModel) wireLimit(lim int64) int64 { return lim + lim/8 + 1024 }

// inflate inflates the payload of a message so far. RFC 7692, Section
// 7.2.2: the sender removed the final 0x00 0x00 0xff 0xff, which the
// receiver appends at the end of the message (final). It returns the
// output, and whether a block with BFINAL set ended the data (RFC 7692,
// Section 7.2.3.4 lets a sender flush that way) and where: within the
// payload, so that payload bytes follow it (early), or not. bad reports
// data that is not DEFLATE.
func (d *deflateModel) inflate(payload []byte, final bool) (out []byte, ended, early, bad bool) {
	in := bytes.Clone(payload)
	if final {
		// The tail of a sync flush, then an empty final stored block, so
		// that the reader ends cleanly at the message's end.
		in = append(in, 0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff)
	}
	src := bytes.NewReader(in)
	out, err := io.ReadAll(flate.NewReaderDict(src, d.history))
	switch {
	case err == nil:
		// Only the final block appended above leaves exactly its own
		// bytes unread; any other ended the data early.
		left := src.Len()
		appended := final && left == 0
		return out, !appended, len(in)-left < len(payload), false
	case errors.Is(err, io.ErrUnexpectedEOF):
		return out, false, false, final // a message that ends inside a block is bad
	}
	return out, false, false, true // flate.CorruptInputError and the like
}

// record adds a message's output to the history the next one may refer to.
func (d *deflateModel) record(out []byte) {
	if !d.takeover {
		return
	}
	d.history = append(d.history, out...)
	if len(d.history) > maxWindow {
		d.history = bytes.Clone(d.history[len(d.history)-maxWindow:])
	}
}

// looseCodes are the codes a connection may fail with on compressed data
// that is bad (1007), too big once inflated (1009), or on a later frame
// it reads before noticing (1002).
var looseCodes = []frame.CloseCode{frame.CloseProtocolError, frame.CloseInvalidPayload, frame.CloseTooBig}
