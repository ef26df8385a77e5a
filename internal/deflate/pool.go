package deflate

import (
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/klauspost/compress/flate"
)

// deflater is a compressor lent to one message at a time. Its tables are several hundred
// KiB, so a connection does not keep one: it goes back to a pool after each message.
// With context takeover the encoder of the last message may take it back directly, by
// its weak pointer, and go on without seeding it again, as long as no other encoder used
// it; the garbage collector may still free it once the pool lets it go.
type deflater struct {
	fw      *flate.Writer // klauspost's compressor (levels 2-9), or
	fe      *fastEnc      // the level-1 one
	out     sink
	scratch []byte // the history laid out in order for ResetDict
	self    weak.Pointer[deflater]

	// state holds inPool and busy. busy: an encoder has it. inPool: it was put in the
	// pool and no get has taken it out since (a claim by weak pointer leaves it there).
	state atomic.Uint32
	owner uint64 // the encoder whose stream fw goes on; read and written only while busy
}

const (
	inPool = 1 << iota
	busy
)

// sink is the compressor's output: it appends to the slice Append was given.
type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// deflaterPool holds idle compressors of one kind.
type deflaterPool struct {
	p    sync.Pool
	live atomic.Int64 // compressors made and not yet collected
}

// pools: index 1-9 for the levels of a 15-bit window, then one per window of 8 to 14
// bits, then the fast compressors, which serve any window.
var pools [MaxLevel + 1 + maxBits - minBits + 1]deflaterPool

func (e *Encoder) pool() *deflaterPool {
	if e.fast {
		return &pools[len(pools)-1]
	}
	if e.bits == maxBits {
		return &pools[e.level]
	}
	return &pools[MaxLevel+1+e.bits-minBits]
}

// liveLimit bounds the compressors of one kind that get creates rather than take one
// another encoder may come back for; past it, encoders take each other's. Each is
// several hundred KiB; the pool lets idle ones go at garbage collection.
var liveLimit = int64(max(4, 2*runtime.GOMAXPROCS(0)))

// get returns a busy compressor for a window of 2^bits bytes at level (15 bits) for the
// encoder numbered want: one from the pool, or a new one. While there are few, it
// leaves other encoders' streams to them.
func (p *deflaterPool) get(bits, level int, want uint64) *deflater {
	for {
		d, _ := p.p.Get().(*deflater)
		if d == nil {
			break
		}
		if !d.take() {
			// Claimed back by its encoder while it sat in the pool: that encoder
			// puts it back when done.
			continue
		}
		if d.owner != 0 && d.owner != want && p.live.Load() < liveLimit {
			d.release(p)
			break
		}
		return d
	}
	d := new(deflater)
	var err error
	if p == &pools[len(pools)-1] {
		d.fe = new(fastEnc)
	} else if bits == maxBits {
		d.fw, err = flate.NewWriter(nil, level)
	} else {
		// Any window from 32 bytes to 32 KiB: distances never reach beyond it.
		d.fw, err = flate.NewWriterWindow(nil, 1<<bits)
	}
	if err != nil {
		panic("deflate: " + err.Error()) // the level and the window are in range
	}
	d.self = weak.Make(d)
	d.state.Store(busy)
	p.live.Add(1)
	runtime.AddCleanup(d, func(live *atomic.Int64) { live.Add(-1) }, &p.live)
	return d
}

// take marks d, just taken out of the pool, as out of it, and busy if it was idle; it
// reports whether it was.
func (d *deflater) take() bool {
	for {
		s := d.state.Load()
		n := s &^ inPool
		if s&busy == 0 {
			n |= busy
		}
		if d.state.CompareAndSwap(s, n) {
			return s&busy == 0
		}
	}
}

// claim makes d busy if it is idle, wherever it is, and reports whether it was.
func (d *deflater) claim() bool {
	for {
		s := d.state.Load()
		if s&busy != 0 {
			return false
		}
		if d.state.CompareAndSwap(s, s|busy) {
			return true
		}
	}
}

// release makes d idle, and puts it in the pool unless it is there already.
func (d *deflater) release(p *deflaterPool) {
	if cap(d.scratch) > maxWindow {
		d.scratch = nil
	}
	for {
		s := d.state.Load()
		if d.state.CompareAndSwap(s, s&^busy|inPool) {
			if s&inPool == 0 {
				p.p.Put(d)
			}
			return
		}
	}
}
