package render

import (
	"fmt"
	"slices"
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
	Noise  string // which differences are noise on the machine that ran it, or ""
}

type claimView struct {
	Text   string
	Status string // pass, fail, inconclusive, unknown
	Class  string // pass, fail, weak (inconclusive), unknown: the badge's colour
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
	var metrics []string
	for _, cl := range c.Claims {
		cv := claimView{Text: cl.Text, Status: "unknown", Class: "unknown"}
		if f != nil {
			res := results.EvalClaim(cl, f)
			cv.Status, cv.Detail = res.Status(), res.Detail
			cv.Class = map[string]string{results.ClaimPass: "pass", results.ClaimFail: "fail", results.ClaimInconclusive: "weak"}[cv.Status]
			if cv.Class == "" {
				cv.Class = "unknown"
			}
		}
		v.Claims = append(v.Claims, cv)
		metrics = appendRefs(metrics, cl.Left, cl.Right)
	}
	if f != nil {
		if note := noiseNote(f, metrics); note != "" {
			v.Noise = upperFirst(note) + "."
		}
	}
	return v
}

// appendRefs adds the metrics the expressions refer to, each once.
func appendRefs(metrics []string, es ...notebook.Expr) []string {
	for _, e := range es {
		switch x := e.(type) {
		case notebook.Ref:
			if !slices.Contains(metrics, x.Metric) {
				metrics = append(metrics, x.Metric)
			}
		case notebook.Bin:
			metrics = appendRefs(metrics, x.L, x.R)
		}
	}
	return metrics
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
	if v.Noise != "" {
		fmt.Fprintf(&b, "\n*%s*\n", mdEscape(v.Noise))
	}
	return b.String()
}
