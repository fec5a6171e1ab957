//go:build !amd64

package image

func rdtsc() uint64 { return 0 }

const haveTSC = false
