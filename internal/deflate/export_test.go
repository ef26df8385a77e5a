package deflate

// SetLiveLimit sets how many compressors of a kind may be made before encoders take
// each other's, and returns a function that restores it.
func SetLiveLimit(n int) (restore func()) {
	old := liveLimit
	liveLimit = int64(n)
	return func() { liveLimit = old }
}
