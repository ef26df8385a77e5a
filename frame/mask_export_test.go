package frame

// MaskKernel is one way this build can mask. Use makes Mask run it until
// the returned function restores the previous choice; tests must not run
// in parallel with another that uses a kernel.
type MaskKernel struct {
	Name string
	Use  func() (restore func())
}

// MaskKernels lists the kernels this build can run on this CPU.
func MaskKernels() []MaskKernel { return maskKernels() }
