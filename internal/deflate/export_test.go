package deflate

// SetLiveLimit sets how many compressors of a kind may be made before encoders take
// each other's, and returns a function that restores it.
func SetLiveLimit(n int) (restore func()) {
	old := liveLimit
	liveLimit = int64(n)
	return func() { liveLimit = old }
}

// Inflate decodes the raw DEFLATE stream in after the first hist bytes of buf, producing
// at most max bytes (see inflate).
func Inflate(buf []byte, hist int, in []byte, max int) ([]byte, int, error) {
	return inflate(new(huffTables), buf, hist, in, max)
}

// Inflater returns Inflate with its tables kept from call to call, as a decoder's are.
func Inflater() func(buf []byte, hist int, in []byte, max int) ([]byte, int, error) {
	t := new(huffTables)
	return func(buf []byte, hist int, in []byte, max int) ([]byte, int, error) {
		return inflate(t, buf, hist, in, max)
	}
}

// SetMaxWhole sets the longest compressed payload a Decoder reads whole (0: none, every
// message is inflated as it is read), and returns a function that restores it.
func SetMaxWhole(n int) (restore func()) {
	old := maxWhole
	maxWhole = n
	return func() { maxWhole = old }
}
