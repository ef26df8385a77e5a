//go:build amd64 && !purego

package frame

func maskKernels() []MaskKernel {
	use := func(avx2 bool) func() func() {
		return func() func() {
			was := useAVX2
			useAVX2 = avx2
			return func() { useAVX2 = was }
		}
	}
	ks := []MaskKernel{{"sse2", use(false)}}
	if hasAVX2() {
		ks = append(ks, MaskKernel{"avx2", use(true)})
	}
	return ks
}
