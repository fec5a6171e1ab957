package site

import (
	"cmp"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/feeds"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/render"
)

// regression is one entry of the regressions feed: a change point of a
// page's history that made a figure worse.
type regression struct {
	page Page
	render.Regression
}

// regressionsFeed is the Atom feed of every page's regressions, newest
// first (by the run after the change), ties in page, cell and change
// order, so the same inputs give the same bytes.
func regressionsFeed(opt Options, pages []Page) ([]byte, error) {
	var regs []regression
	for _, p := range pages {
		for _, r := range p.Regressions {
			regs = append(regs, regression{p, r})
		}
	}
	slices.SortStableFunc(regs, func(a, b regression) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.page.Slug, b.page.Slug), strings.Compare(a.Anchor, b.Anchor))
	})
	updated := time.Unix(0, 0).UTC()
	if len(regs) > 0 {
		updated = regs[0].Started.UTC()
	}
	f := siteFeed(opt, opt.Title+": regressions", updated)
	for _, r := range regs {
		href := pageURL(opt, r.page.Slug+"/"+render.HistoryFile+"#"+r.Anchor)
		desc := fmt.Sprintf("%s of %s in cell %s: %s → %s %s (%+.1f %%), from run %s on.", r.Metric, r.Trend, r.Cell, trimFloat(r.Before), trimFloat(r.After), r.Unit, 100*r.Rel, r.Run)
		f.Add(&feeds.Item{
			Title:       fmt.Sprintf("%s: %s %s %+.1f %%", r.page.Title, r.Cell, r.Metric, 100*r.Rel),
			Link:        &feeds.Link{Href: href},
			Id:          "urn:benchbook:regression:" + r.page.Slug + ":" + r.Anchor + ":" + r.Run,
			Updated:     r.Started.UTC(),
			Description: html.EscapeString(desc),
		})
	}
	id := opt.BaseURL + RegressionsFile
	if opt.BaseURL == "" {
		id = "urn:benchbook:regressions:" + notebook.Slugify(opt.Title)
	}
	return atomXML(f, id, "regressions feed")
}

func trimFloat(v float64) string { return fmt.Sprintf("%.4g", v) }
