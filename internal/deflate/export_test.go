package deflate

// SetTokenCheck installs f to see the LZ77 tokens of every block with the window they
// must respect: a literal is t < 1<<16, a match is length<<16 | distance.
func SetTokenCheck(f func(window int, tokens []uint32)) { tokenCheck = f }
