// Package deflate is the codec of permessage-deflate ([RFC 7692]): raw DEFLATE
// ([RFC 1951]) messages, each ending in a sync flush whose 00 00 ff ff is removed.
//
// [Encoder] is an LZ77 compressor with hash chains and lazy matching whose
// back-references never reach further than a window of 2^8 to 2^15 bytes, emitting for
// each block of up to 32 KiB the smallest of a stored, a fixed-Huffman and a
// dynamic-Huffman block. It exists because compress/flate always uses a 32 KiB window:
// a peer that asks for server_max_window_bits or client_max_window_bits below 15 can only
// be honoured by an encoder that bounds its distances. Window bits 8 are honoured as
// such (distances up to 256), although zlib, which cannot produce that window, treats 8
// as 9 (RFC 7692, Section 7.1.2.1 allows either side to refuse it; this package does
// not need to).
//
// [Decoder] inflates with compress/flate, whose reader can be reset with a dictionary:
// with context takeover the decoder keeps only the last 2^bits bytes of plaintext (at
// least 512, for zlib peers that agreed to 8 bits and use 9) and seeds a pooled reader
// with them for each message.
//
// # Memory
//
// Both sides keep per connection only the history context takeover needs: at most
// 2^bits bytes, grown as messages arrive, none without takeover. The match-finding
// tables (about 230 KiB) and the inflater (about 45 KiB) are borrowed from pools for the
// duration of one message, so idle connections hold none of them.
//
// # Concurrency
//
// An Encoder or a Decoder serves one direction of one connection and is not safe for
// concurrent use; the pools are.
//
// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
// [RFC 1951]: https://www.rfc-editor.org/rfc/rfc1951
package deflate
