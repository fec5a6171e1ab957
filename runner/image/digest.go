package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Digest is the digest Build would give the image made with opts, and its
// kernel version, computed from the same inputs without writing anything:
// not to the cache, not a staging folder. `benchbook status` compares it
// with the digest a stored run recorded, so asking whether the image
// changed leaves no trace.
func Digest(ctx context.Context, opts BuildOptions) (digest, kernelVersion string, err error) {
	o, err := opts.withDefaults()
	if err != nil {
		return "", "", fmt.Errorf("image %s: %w", opts.Name(), err)
	}
	a, _, _, err := contents(o)
	if err != nil {
		return "", "", fmt.Errorf("image %s: %w", opts.Name(), err)
	}
	h := sha256.New()
	if _, err := a.writeTo(ctxWriter{ctx, h}); err != nil {
		return "", "", fmt.Errorf("image %s: initramfs: %w", opts.Name(), err)
	}
	initrdSum := hex.EncodeToString(h.Sum(nil))
	kernel, _, err := readKernel(o)
	if err != nil {
		return "", "", fmt.Errorf("image %s: %w", opts.Name(), err)
	}
	k := sha256.Sum256(kernel)
	return imageDigest(hex.EncodeToString(k[:]), initrdSum), o.KernelVersion, nil
}
