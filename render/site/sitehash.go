package site

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"time"

	"github.com/benchbook/benchbook/render"
)

// siteHash stands for everything the site-level files are made from: the
// listed pages and the options they show. The manifest keeps it, so a
// rebuild that lists the same pages skips making the site files, and even
// their names (the tag pages) are the manifest's.
//
// It is a hash of each page's fields, length-prefixed, not of their JSON:
// with a thousand pages, encoding them took a tenth of a no-change rebuild.
// The pages' digests are sorted before they are hashed together, so the
// order the pages come in does not count: the site files sort them
// themselves (sortedPages), and one build knows them in notebook order,
// the next in the manifest's.
func siteHash(opt Options, fingerprint string, pages []*Page) string {
	sums := make([][sha256.Size]byte, len(pages))
	var d pageDigest
	for i, p := range pages {
		sums[i] = d.sum(p)
	}
	slices.SortFunc(sums, func(a, b [sha256.Size]byte) int { return bytes.Compare(a[:], b[:]) })
	h := sha256.New()
	var e pageDigest
	e.str("site")
	e.str(opt.BaseURL)
	e.str(opt.Title)
	e.str(opt.Version)
	e.str(themeHash())
	e.str(fingerprint)
	e.num(uint64(len(sums)))
	h.Write(e.buf)
	for _, s := range sums {
		h.Write(s[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// pageDigest writes a page's fields into one buffer, reused from page to
// page. Every field goes in with its length, so no two pages write the
// same bytes; TestSiteHashSeesEveryField fails when Page or
// render.Regression gains a field that sum leaves out.
type pageDigest struct{ buf []byte }

func (d *pageDigest) sum(p *Page) [sha256.Size]byte {
	d.buf = d.buf[:0]
	d.str(p.Source)
	d.str(p.Slug)
	d.str(p.Title)
	d.time(p.Date)
	d.strs(p.Authors)
	d.strs(p.Tags)
	d.str(p.Summary)
	d.flag(p.Draft)
	d.flag(p.History)
	d.num(uint64(len(p.Regressions)))
	for i := range p.Regressions {
		d.regression(&p.Regressions[i])
	}
	return sha256.Sum256(d.buf)
}

func (d *pageDigest) regression(r *render.Regression) {
	d.str(r.Cell)
	d.str(r.Metric)
	d.str(r.Trend)
	d.str(r.Anchor)
	d.str(r.Run)
	d.time(r.Started)
	d.float(r.Before)
	d.float(r.After)
	d.float(r.Rel)
	d.str(r.Unit)
}

func (d *pageDigest) num(n uint64) { d.buf = binary.BigEndian.AppendUint64(d.buf, n) }

func (d *pageDigest) str(s string) {
	d.num(uint64(len(s)))
	d.buf = append(d.buf, s...)
}

func (d *pageDigest) strs(ss []string) {
	d.num(uint64(len(ss)))
	for _, s := range ss {
		d.str(s)
	}
}

func (d *pageDigest) flag(b bool) {
	if b {
		d.buf = append(d.buf, 1)
	} else {
		d.buf = append(d.buf, 0)
	}
}

func (d *pageDigest) float(f float64) { d.num(math.Float64bits(f)) }

// time writes the instant and its zone as the pages show them: RFC 3339
// keeps the offset, which the feed and the index print.
func (d *pageDigest) time(t time.Time) {
	var b [64]byte
	f := t.AppendFormat(b[:0], time.RFC3339Nano)
	d.num(uint64(len(f)))
	d.buf = append(d.buf, f...)
}
