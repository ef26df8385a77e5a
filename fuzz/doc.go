// Package fuzz holds the coverage-guided fuzz targets of duplex: every parser
// that reads bytes from the network, attacked through the exported API of
// packages frame, handshake and conn only, as a user would reach them.
//
// The package has no code of its own; its tests are the targets. Each one
// checks a property, not just the absence of a panic: a round trip (what is
// accepted re-encodes to the same bytes), a differential check against an
// independent reference (unicode/utf8, net/http, a byte-by-byte masker and a
// reference model of the RFC's framing rules written in the tests), or both.
//
// Plain `go test ./fuzz` replays the seed corpora under testdata/fuzz, so
// every input that once found a bug keeps being checked. To fuzz, run one
// target at a time, anchored:
//
//	go test ./fuzz -run='^$' -fuzz='^FuzzParseHeader$' -fuzztime=60s
//
// or every target in turn with scripts/fuzz.sh; see fuzz/README.md.
//
// [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
package fuzz
