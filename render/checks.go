package render

import (
	"fmt"
	"strings"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// checkView is a check cell: each claim with its verdict on the stored
// results.
type checkView struct {
	Title  string
	From   string
	Note   string
	Claims []claimView
}

type claimView struct {
	Text   string
	Status string // pass, fail, "pass, not significant", unknown
	Class  string // pass, fail, weak, unknown: the badge's colour
	Detail string
}

func (r *report) checks(c *notebook.Cell) *checkView {
	v := &checkView{Title: oneLine(c.Title), From: c.From}
	bd := r.data(c.From)
	var f *results.File
	if bd != nil {
		f = bd.file
	}
	switch {
	case f == nil:
		v.Note = "no stored results yet: the claims are not checked"
	case !bd.fresh:
		v.Note = "checked against stale results"
	}
	for _, cl := range c.Claims {
		cv := claimView{Text: cl.Text, Status: "unknown", Class: "unknown"}
		if f != nil {
			res := results.EvalClaim(cl, f)
			cv.Status, cv.Detail = res.Status(), res.Detail
			switch {
			case res.Failed():
				cv.Class = "fail"
			case res.Known && res.Significant:
				cv.Class = "pass"
			case res.Known:
				cv.Class = "weak"
			}
		}
		v.Claims = append(v.Claims, cv)
	}
	return v
}

func markdownChecks(v *checkView) string {
	var b strings.Builder
	if v.Title != "" {
		fmt.Fprintf(&b, "**%s**", mdEscape(v.Title))
	} else {
		fmt.Fprintf(&b, "**Claims about %s**", mdCode(v.From))
	}
	if v.Note != "" {
		fmt.Fprintf(&b, " — %s", mdEscape(v.Note))
	}
	b.WriteString("\n\n")
	for _, c := range v.Claims {
		mark := map[string]string{"pass": "✅", "fail": "❌", "weak": "⚠️", "unknown": "❔"}[c.Class]
		fmt.Fprintf(&b, "- %s **%s** %s", mark, mdEscape(c.Status), mdCode(c.Text))
		if c.Detail != "" {
			fmt.Fprintf(&b, " (%s)", mdEscape(c.Detail))
		}
		b.WriteString("\n")
	}
	return b.String()
}
