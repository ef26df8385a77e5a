// Package deflate is the codec of permessage-deflate ([RFC 7692]): raw DEFLATE
// ([RFC 1951]) messages, each ending in a sync flush whose 00 00 ff ff is removed.
//
// It compresses at levels 2 to 9 with [github.com/klauspost/compress/flate], a
// well-kept library made for this, which bounds back-references to any window
// (compress/flate always uses 32 KiB), and at level 1 with a compressor of its own
// (see Level 1), which a benchmark shows as fast as klauspost's level 1 at 15 bits
// for smaller output, and a third faster than klauspost's windowed compressor under
// 15 bits, the only one it has there. It inflates a message of up to 64 KiB on the
// wire with an inflater of its own, written from RFC 1951, which a benchmark shows
// faster (see Inflating), and longer ones with klauspost's. What this package adds is
// what permessage-deflate asks of a codec: the window, the history across messages,
// and memory that does not stay with idle connections.
//
// # Windows
//
// RFC 7692, Section 7.1.2.1: a peer may bound "the LZ77 sliding window size" the other
// side uses to 2^8 to 2^15 bytes, and the compressor must keep its back-references
// within it. A 15-bit window is compressed by flate.NewWriter at the configured level
// (1-9), whose distances never exceed 32 KiB. A smaller window at levels 2-9 is
// compressed by flate.NewWriterWindow, which bounds every distance to its size, any
// from 32 bytes to 32 KiB; it takes no level: it is the library's level-5 matcher
// bounded to the window, the one compressor of that kind, used for levels 2-9. At
// level 1 a smaller window is compressed by this package's own compressor (fast.go;
// see Level 1 under small windows), which bounds its distances to any window as well.
// Distances stay under the window (the longest is 2^bits-1). A window of 8 bits is honoured as 256 bytes, as
// asked, although zlib, which cannot produce it, treats 8 as 9 (RFC 7692, Section
// 7.1.2.1 lets either side refuse 8; producing 256 bytes is readable by every peer,
// 512 would not be by one that holds 256). The decoder keeps at least 512 bytes of
// history for zlib peers that agreed to 8.
//
// The tests check the window the way a peer would suffer it: a DEFLATE parser written
// from RFC 1951 for the tests walks every block the encoder produces (stored, fixed and
// dynamic Huffman) and fails on any distance beyond the window or beyond the history the
// peer has, for every window of 8 to 15 bits, with and without context takeover.
//
// # Context takeover
//
// With context takeover (RFC 7692, Section 7.1.1), each side keeps the last 2^bits bytes
// of plaintext of the messages before, in a ring: adding a message copies only its own
// bytes. The encoder borrows a compressor for each message and seeds it with that
// history (flate.Writer.ResetDict, which works for both kinds of writer; the level-1
// compressor puts every position of the seed in its table); the decoder
// resets a pooled inflater with it as the dictionary. Seeding a compressor costs about
// as much as compressing the seed, and the newest bytes matter most, so it gets as much
// of the newest history as the message's first part is long, 2 KiB at least and 8 KiB
// at most: for chat-like JSON at level 1, 8 KiB rather than 32 KiB makes the output
// under 1% larger for about 60% less time, and a 256-byte message seeded with 2 KiB
// rather than 8 KiB takes 9 rather than 18 µs for 5% more bytes. The protocol allows
// it: the sender "may use" the history (RFC 7692, Section 7.2.1), not must. Better
// still, an encoder first tries to take back, by a weak pointer, the
// compressor of its own last message: if it is idle and no other encoder used it since,
// it goes on from where it stopped without being seeded. While there are few
// compressors of a kind (under twice GOMAXPROCS, at least 4), an encoder makes a new one
// rather than take one that another encoder's stream may come back for; past that,
// encoders take any and seed it.
//
// # Whole messages
//
// [Encoder.Message] compresses a message given whole, as a connection's WriteMessage
// has it. At level 1 without context takeover, a message of up to 16 KiB goes through
// flate.StatelessDeflate, which borrows no compressor: its hash table (16 KiB) is on the
// stack and its token and bit buffers come from the library's own pools. Its matches
// stay inside the input, one message here, so they reach at most len(p)-1 bytes back:
// always within a 15-bit window, and within a smaller one for a message no longer than
// the window, the only ones of a small window it is given (TestMessageStateless checks
// the choice, TestRoundTrip walks its every match). On chat-like JSON, alone, it takes
// about as much CPU time as the level-1 compressor for the same size within 1% (mean of
// BenchmarkMessage, api=stream against api=message, go test -run '^$' -bench
// BenchmarkMessage -benchtime 0.3s -count 5; load average 1.7 on 2 cores):
//
//	size     stream     message    size out (stream, message)
//	256 B     4.9 µs     5.1 µs    56.4%, 56.5%
//	4 KiB    16.1 µs    15.7 µs    23.5%, 23.4%
//	8 KiB    27.9 µs    26.9 µs    21.6%, 21.8%
//	16 KiB   50.0 µs    48.0 µs    20.7%, 21.0%
//
// Beyond 16 KiB it loses: even at 32 KiB, 12% more time and 2.5% larger at 64 KiB, its
// table being smaller and its blocks at most 32 KiB. Where it gains is beside other
// work, most likely because it touches 16 KiB of table where the compressor's tables
// are several hundred KiB, which other work evicts from the cache between messages. In
// conn's compressed echo round trip, where the two ends and the inflaters take turns,
// it brought 4 KiB without context takeover from 1.05 to 1.09 of gws's CPU time down to
// 0.94 to 1.00, and 512 B to 2 KiB down by 2 to 7% (see conn's doc).
//
// The price is the stack: a goroutine that compresses this way grows its stack to 32
// KiB, which the runtime shrinks again at the following garbage collections (10,000
// goroutines that each compressed one 4 KiB message held 23 KiB of stack each right
// after it, 6.5 KiB after two collections, against 4 KiB through the compressor). An
// Encoder keeps only a 24-byte sink for it, so that the output does not escape per
// call.
//
// These figures were taken against klauspost's level-1 compressor, before this
// package's own took its place (see Level 1). Against the own one the stateless
// encoder still wins in conn's round trip at 4 KiB, so it stays for messages of up to
// 16 KiB: 0.80 to 0.85 of gws's CPU time against 0.88 to 0.91 in runs of the same
// hour; then against the own compressor with a table of 16-bit positions of its own,
// cleared for each message as the stateless encoder's is, 0.75 to 0.82 (median 0.77)
// against 0.77 to 0.81 (median 0.79), the two builds taking turns, two runs each, four
// times (bench/micro's test binary, -test.bench
// 'CompressedEchoRatio/mode=no-takeover-15/size=4KiB' -test.count 2; load average 7.7).
// A longer message without context takeover is compressed by the level-1 compressor
// where it lies, with no copy.
//
// # Level 1
//
// Level 1 is this package's own compressor (fast.go), for every window: greedy LZ77
// with one hash table, in the manner of the fastest levels of zlib-derived encoders,
// and one block per 64 KiB of input, the smallest of stored, fixed and dynamic
// Huffman as zlib chooses. The table maps a hash of 5 bytes to the last position that
// had it: each round looks at two positions from one 8-byte load, and after 32 bytes
// without a match the search steps further each time, so that incompressible input
// costs little; a match is extended backwards over what is not written yet, then
// forwards 8 bytes at a time, and no position inside it is indexed. A candidate is
// taken only if it lies within the window (at most window-1 back), which is why one
// compressor serves every window at level 1's speed, where klauspost's only windowed
// compressor is its level 5. Positions are kept as offsets that only grow, so neither
// a new message nor a moving window clears the table; a message without context
// takeover is compressed where it lies, with no copy; the table's part in use is
// sized to the message (twice its length in entries, 512 to 16,384: a larger table
// gave no smaller output on chat-like JSON of 64 KiB and cost about 4% more of the round
// trip's CPU time beside other work). The Huffman
// codes are built in place (the algorithm of Moffat and Katajainen over the
// frequencies sorted by a radix sort), limited to 15 bits as zlib-derived encoders
// do, and the tokens are written 8 bytes at a time, two literals or a whole match
// per store.
//
// Against klauspost's level 1 at 15 bits and its NewWriterWindow under 15 bits, CPU
// time per message and the size of the output, on chat-like JSON without context
// takeover, interleaved so that both share the machine's load (BenchmarkFastRatio,
// the median of six runs and their range: go test -run '^$' -bench FastRatio -count 6;
// load average 6.6 to 6.8 on 2 cores; each time includes a getrusage call, about half
// a microsecond):
//
//	window, size    own        klauspost   time, own/klauspost   output, own/klauspost
//	15 bits, 256 B   3.86 µs     4.37 µs   0.88 (0.87-0.91)      0.97
//	15 bits, 4 KiB   11.3 µs     11.7 µs   0.97 (0.94-0.98)      0.97
//	15 bits, 64 KiB   125 µs      131 µs   0.95 (0.95-0.96)      0.98
//	12 bits, 256 B   4.04 µs     5.79 µs   0.72 (0.68-0.77)      0.98
//	12 bits, 4 KiB   12.5 µs     18.6 µs   0.68 (0.66-0.70)      1.05
//	12 bits, 64 KiB   160 µs      270 µs   0.60 (0.58-0.64)      1.11
//	9 bits, 256 B    3.88 µs     5.15 µs   0.75 (0.73-0.77)      0.98
//	9 bits, 4 KiB    15.4 µs     20.5 µs   0.75 (0.66-0.76)      1.03
//	9 bits, 64 KiB    180 µs      273 µs   0.66 (0.64-0.67)      1.05
//
// Under 15 bits klauspost's is its level 5 and so a little smaller; the own level 1
// under 12 bits is no larger than klauspost's level 1 at 15 bits (19.4% of 64 KiB of
// JSON against 19.8%). What made the difference: sizing the table to the message, two
// positions per round, the codes built from the used symbols only after a radix sort
// (a quarter of the time of a 256-byte message had gone to sorting), the bits of a
// token put together before they join the buffer, and not indexing the end of every
// match (6% of the time at 64 KiB for 0.8% in size).
//
// # Speed
//
// An encoder of this package's own, a zlib-like hash-chain matcher for every level,
// was removed when klauspost's came: klauspost's was faster in every case, windows of
// 9, 12 and 15 bits at levels 1 and 6, 256 B to 64 KiB, with and without context
// takeover (19 to 85% less CPU per message), and its inflater was faster than
// compress/flate's, which the decoder used. The level-1 compressor of today is of
// another kind (see Level 1) and was measured against klauspost's anew. Against
// compress/flate at the same level, on chat-like JSON without context takeover, CPU time
// per message (BenchmarkFlateEncode and BenchmarkFlateDecode, one run:
// go test -run '^$' -bench 'Flate(Encode|Decode)' -benchtime 0.3s -count 6, then
// benchstat -col /lib; load average 13 to 15 on 2 cores, so wall times are noise and
// only CPU time is given; level 1 measured again with the own compressor, load
// average 6: the Encoder's 256 B and 4 KiB go through the stateless encoder, see
// Whole messages):
//
//	compressing   Encoder   compress/flate   klauspost alone
//	256 B, 1      2.65 µs      7.78 µs         2.85 µs
//	256 B, 6       4.9 µs      22.2 µs          4.8 µs
//	4 KiB, 1      7.32 µs      27.0 µs         6.60 µs
//	4 KiB, 6      21.7 µs      72.8 µs         21.5 µs
//	64 KiB, 1      115 µs       252 µs          122 µs
//	64 KiB, 6      282 µs      1955 µs          271 µs
//
// (Inflating is measured under Inflating: the Decoder's own inflater now takes 56 to 62%
// less time than klauspost's.) The output is within 3% of compress/flate's size (3%
// smaller at level 1), 7% larger at level 6 for 64 KiB (klauspost's levels are
// rebalanced for speed; at level 1 the own compressor's is 2% smaller than
// klauspost's, 4% than compress/flate's). With context takeover the encoder that
// takes back its own compressor costs what one without takeover does; one seeded with
// history pays for indexing the seed (BenchmarkEncode at level 1, takeover=seeded
// against takeover=true, CPU time: 4.6 rather than 2.7 µs for 256 B, 12.8 rather than
// 8.1 µs for 4 KiB, 149 rather than 129 µs for 64 KiB; klauspost's level 1 took 10
// rather than 4.5 µs and 24 rather than 13 µs, as it compresses the seed).
//
// Before the own inflater, nearly all of a compressed message's cost was klauspost's:
// in a profile of a compressed echo round trip of 4 KiB without context takeover
// (bench/micro, BenchmarkCompressedEcho), 83% of the CPU time was in its encoder and
// inflater, 13% in the runtime and system calls, about 1% in duplex's own code. Where
// gws, which uses the same library, compresses the same way, duplex now gains what its
// inflater saves; it gains more where gws does more work: gws seeds its compressor with
// the whole window for every message under context takeover (see conn's doc for the
// round trips measured against it).
//
// # Inflating
//
// The style guide prefers a well-kept library to code of our own unless a benchmark
// says otherwise; for inflating one does. klauspost's inflater reads its input a byte
// at a time through an io.ByteReader, builds its tables as compress/flate does, and
// holds output in a window it copies out; in conn's compressed echo round trip it took
// over a third of duplex's time, 60% of that in its Huffman loop and 25% building
// tables, since a small message's dynamic block is mostly table. A permessage-deflate
// message is short and arrives whole, so [Decoder] reads its compressed payload whole
// into a pooled buffer (up to 64 KiB), appends the tail, and inflates it in one call
// (inflate.go, in the manner of libdeflate): a 64-bit bit buffer refilled by one
// 8-byte load, which holds a literal/length with its extra bits and a distance with
// its own after one refill; a literal/length table of 11 primary bits and a distance
// table of 8, with subtables for longer codewords, whose entries carry the base and
// the extra bits so that a symbol is one lookup; tables built by filling the
// codewords in canonical order into a table that doubles by copying itself, then the
// subtables; a loop without bounds of its own while 16 bytes of input (24 to enter
// it) and 276 of output remain, and a checked loop near either end; the fixed code's tables built
// once. The fast loop decodes up to three literals per refill; it copies a match 16
// bytes at a time when it reaches 16 bytes back or more (one inlined 16-byte move:
// in chat-like JSON nine matches in ten are at most 16 bytes long and all but 1% reach
// that far), 8 at a time from 8 back, by a growing copy closer; its shift counts are
// masked to 6 bits, which spares the instructions Go adds for counts of 64 and more.
// The Decoder leaves 16 bytes of room after the message, from which the fast loop may
// load, so that it runs to the end rather than stopping 16 bytes short; it gives back
// the bits it loaded from there at each exit, and a block that consumed any of them is
// corrupt (FuzzInflate checks that room changes no verdict). The output goes after the
// history (context takeover), so back-references reach into it with no window to
// manage, and Read serves it.
//
// It refuses what RFC 1951 forbids, with [ErrCorrupt]: over-subscribed and incomplete
// codes (but a code of one one-bit codeword, which RFC 1951 allows for distances and
// zlib and both Go inflaters for the literal/length code too, and a code with no
// codeword until it is used), a repeat with no length before it, lengths running past
// HLIT+HDIST, HLIT over 286 and HDIST over 30 (as zlib), literal/length 286-287 and
// distance 30-31, a distance beyond the output and history, a stored block whose NLEN
// is not the complement of LEN, block type 3, data ending inside a block, and data
// after the message's final block. FuzzInflate holds it to klauspost/compress and
// compress/flate on arbitrary streams with histories and output bounds; it found one
// difference, a bug of klauspost/compress v1.20.4: an empty literal/length code makes
// it decode the block with the table it built before, the code length code's, where
// compress/flate and this inflater fail (so does the Decoder now, for messages
// inflated at once). A message's plaintext is bounded by the decoder's limit, which
// conn sets to its read limit: the inflater stops one byte past it with [ErrTooBig],
// so a small frame that would inflate far beyond the limit allocates about the limit:
// the output buffer starts at four times the payload and doubles, but once it needs
// more than half of the limit and the history it takes all of them (a 4 KiB frame of
// zeros under a 64 KiB limit allocates 112 KiB in all with empty pools, 82 of them
// output, where doubling took 152 KiB; after 32 KiB of history, 126 KiB).
// Past 1 MiB (with a larger limit or none), and for a compressed payload over 64 KiB,
// or one whose source fails before its end, the Decoder goes on with klauspost's
// inflater, fed what it read, then the rest: a message that compresses more than 16 to
// 1 beyond 1 MiB is inflated twice as far as that bound.
//
// CPU time per message on chat-like JSON at level 1, the median of six runs
// (go test -c, then the test binary of the inflater before the fast loop's changes
// above and this one taking turns, six times: -test.run '^$' -test.bench
// 'FlateDecode|Inflate' -test.benchtime 0.3s -test.count 1; then benchstat -col
// /lib; load average 7 to 11 on 2 cores, so ratios within a run are what counts).
// Inflate is the inflater on the whole message in memory (with the room the Decoder
// leaves after it) against klauspost's on a bytes.Reader; FlateDecode is the Decoder
// on a reader that is not a buffer, as a connection's payload is, against the same
// Decoder with every message streamed through klauspost (its path before the own
// inflater) and the libraries on a bytes.Buffer:
//
//	Inflate             own, before   own now   klauspost
//	256 B                 1.41 µs     1.18 µs    2.68 µs
//	256 B, takeover       0.89 µs     0.72 µs    0.91 µs   (fixed Huffman blocks: no tables to build)
//	4 KiB                 4.63 µs     3.40 µs    7.75 µs
//	4 KiB, takeover       4.12 µs     3.23 µs    7.47 µs
//	64 KiB                64.9 µs     44.8 µs     112 µs
//	64 KiB, takeover      61.4 µs     42.3 µs     112 µs
//
//	FlateDecode      Decoder before   now    streamed   klauspost   compress/flate
//	256 B               1.45 µs     1.23 µs   2.83 µs    2.63 µs      2.87 µs
//	4 KiB               4.64 µs     3.48 µs   7.85 µs    7.82 µs      11.5 µs
//	64 KiB              65.5 µs     45.4 µs    117 µs     116 µs       155 µs
//
// The own inflater now takes 38 to 44% of klauspost's time wherever the blocks are
// dynamic, and 79% for 256 B with context takeover, whose fixed Huffman blocks leave
// little but the loop. Of the changes, the 16-byte match copy with the masked shift counts took a
// quarter off 64 KiB and a fifth off 4 KiB (the copy alone: 12 to 18% at 64 KiB, 0
// to 4% at 4 KiB, 3% slower at 256 B), the room after the message a tenth off 256 B
// (the last 16 bytes had been decoded one symbol at a time), the third literal 7% off
// 4 KiB and 13% off 256 B. Tried and left out: a 10-bit literal/length table (building
// it costs less, looking up more: no difference), and in building the tables, a sort
// of the symbols without a branch for unused ones with the doubling copies skipped
// before the shortest codeword (31% slower at 256 B, most likely as each store of the
// sort waits for the one before to the same counter; the skipping alone, 9% slower).
// Counting the codeword lengths as they are read
// rather than again when building the tables, and indexing the tables by bits.Reverse16
// of each canonical codeword rather than by incrementing a reversed one, took a quarter
// off the 256-byte case before, where building the tables is half the work.
//
// With context takeover, the Decoder copies the history (up to 32 KiB) in front of the
// output before each message and writes the plaintext into its ring as Read serves it.
// That costs 0.44 µs of 4.1 at 4 KiB (BenchmarkDecode takeover=true against false,
// 4.10 against 3.66 µs, -count 6), 1.5% of the echo round trip below: too little for a
// second history layout in which the output extends the history in place, which would
// also keep a larger buffer with each idle connection.
//
// The own inflater is faster at every size measured, so every message that fits the
// bound takes it. In conn's compressed echo round trip against gws, still with
// klauspost's level-1 compressor (see conn's doc for the round trips with both the
// own compressor and this inflater) (bench/micro:
// go test -c ./micro, then the binaries before and after these changes taking turns,
// six times: -test.run '^$' -test.bench CompressedEchoRatio -test.count 1; load
// average 7 to 8.5 on 2 cores), duplex/gws-cpu, the median of six with the range:
//
//	mode, size               before              now
//	no takeover, 4 KiB     0.82 (0.79-0.85)   0.78 (0.76-0.81)
//	no takeover, 64 KiB    0.82 (0.80-0.83)   0.76 (0.75-0.78)
//	takeover 15, 4 KiB     0.36 (0.34-0.39)   0.35 (0.33-0.38)
//	takeover 15, 64 KiB    0.70 (0.68-0.71)   0.63 (0.62-0.66)
//	takeover 12, 4 KiB     0.62 (0.57-0.67)   0.64 (0.55-0.70)
//	takeover 12, 64 KiB    0.84 (0.83-0.87)   0.79 (0.78-0.81)
//
// (takeover 12 at 4 KiB moved within its noise.) Earlier, in a CPU profile of the 4 KiB
// round trip without context takeover, inflating went from over a third of the time
// with klauspost's inflater to 16% with the own one.
//
// # Memory
//
// Per connection, each side keeps only the history context takeover needs: at most
// 2^bits bytes per direction (512 at least for inflating), grown as messages arrive,
// and none without takeover. The compressors (about 0.4 MiB at level 1: its table of
// 64 KiB, the tokens of a block, up to 256 KiB, and with context takeover or a message
// written in parts the window and a block's input, up to 96 KiB; klauspost's 0.8 MiB
// at level 2, 1.1 MiB at level 6 and for windows under 15 bits, 1.4 MiB at level 9)
// and the inflaters (12 KiB
// of tables with the buffers of a message: its compressed bytes, its history and
// plaintext; about 40 KiB for klauspost's) are borrowed from pools for one message at a
// time, buffers over 80 KiB (compressed) and 256 KiB (history and plaintext) not going
// back; the pools let idle ones go at garbage collection, and an encoder's weak pointer keeps
// none alive. Message at level 1 without context takeover borrows none for a message of
// up to 16 KiB (see Whole messages).
//
// # Concurrency
//
// An Encoder or a Decoder serves one direction of one connection and is not safe for
// concurrent use; the pools are.
//
// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
// [RFC 1951]: https://www.rfc-editor.org/rfc/rfc1951
package deflate
