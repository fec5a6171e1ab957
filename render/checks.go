package render

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// checkView is a check cell: each claim with its verdict on the stored
// results.
type checkView struct {
	Title   string
	From    string
	Note    string
	Test    bool   // mode = "test": claims under test, reported and never failed
	Summary string // for a test: "2 claims under test: 1 supported, 1 not supported"
	Claims  []claimView
	Noise   string // which differences are noise on the machine that ran it, or ""
}

type claimView struct {
	Text   string
	Status string // pass, fail, inconclusive, unknown; for a test supported, not supported, inconclusive, unknown
	Class  string // the badge's colour: pass, fail, weak (inconclusive), unknown; for a test supported, unsupported, weak, unknown
	Detail string
}

// badgeClass is the badge colour of each verdict: a claim under test that
// the data do not support is not a failure, so it has a colour of its own.
var badgeClass = map[string]string{
	results.ClaimPass: "pass", results.ClaimFail: "fail", results.ClaimInconclusive: "weak",
	results.TestSupported: "supported", results.TestNotSupported: "unsupported",
}

func (r *report) checks(c *notebook.Cell) *checkView {
	v := &checkView{Title: oneLine(c.Title), From: c.From, Test: c.Mode == notebook.ModeTest}
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
			cv.Status, cv.Detail = res.Verdict(c.Mode), res.Detail
			cv.Class = cmp.Or(badgeClass[cv.Status], "unknown")
		}
		v.Claims = append(v.Claims, cv)
		metrics = appendRefs(metrics, cl.Left, cl.Right)
	}
	if v.Test {
		v.Summary = testSummary(v.Claims)
	}
	if f != nil {
		if note := noiseNote(f, metrics); note != "" {
			v.Noise = upperFirst(note) + "."
		}
	}
	return v
}

// testSummary counts the verdicts of claims under test: "3 claims under
// test: 1 supported, 1 not supported, 1 inconclusive".
func testSummary(claims []claimView) string {
	n := map[string]int{}
	for _, c := range claims {
		n[c.Status]++
	}
	var parts []string
	for _, s := range []string{results.TestSupported, results.TestNotSupported, results.ClaimInconclusive, results.ClaimUnknown} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	noun := "claims"
	if len(claims) == 1 {
		noun = "claim"
	}
	return fmt.Sprintf("%d %s under test: %s", len(claims), noun, strings.Join(parts, ", "))
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
	if v.Summary != "" {
		fmt.Fprintf(&b, " — %s", mdEscape(v.Summary))
	}
	b.WriteString("\n\n")
	for _, c := range v.Claims {
		mark := map[string]string{"pass": "✅", "fail": "❌", "weak": "⚠️", "unknown": "❔", "supported": "☑️", "unsupported": "✖️"}[c.Class]
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
