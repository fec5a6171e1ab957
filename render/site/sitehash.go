package site

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/benchbook/benchbook/internal/varbin"
)

// siteHash stands for everything the site-level files are made from: the
// listed pages and the options they show. The manifest keeps it, so a
// rebuild that lists the same pages skips making the site files, and even
// their names (the tag pages) are the manifest's.
//
// It is a hash of each page's fields as the manifest writes them
// (writePage), not of their JSON:
// with a thousand pages, encoding them took a tenth of a no-change rebuild.
// The pages' digests are sorted before they are hashed together, so the
// order the pages come in does not count: the site files sort them
// themselves (sortedPages), and one build knows them in notebook order,
// the next in the manifest's.
func siteHash(opt Options, fingerprint string, pages []*Page) string {
	sums := make([][sha256.Size]byte, len(pages))
	var w varbin.Writer
	for i, p := range pages {
		w.Buf = w.Buf[:0]
		writePage(&w, p)
		sums[i] = sha256.Sum256(w.Buf)
	}
	slices.SortFunc(sums, func(a, b [sha256.Size]byte) int { return bytes.Compare(a[:], b[:]) })
	w.Buf = w.Buf[:0]
	for _, s := range []string{"site", opt.BaseURL, opt.Title, opt.Version, themeHash(), fingerprint} {
		w.String(s)
	}
	w.Uvarint(uint64(len(sums)))
	h := sha256.New()
	h.Write(w.Buf)
	for _, s := range sums {
		h.Write(s[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}
