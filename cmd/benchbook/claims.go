package main

import (
	"fmt"
	"io"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// claimVerdict is one claim of one notebook, judged.
type claimVerdict struct {
	notebook string
	cell     string
	mode     string // notebook.ModeAssert or notebook.ModeTest
	res      results.ClaimResult
}

// judgeClaims evaluates the claims of every check cell of nb against its
// stored results.
func judgeClaims(nb *notebook.Notebook) []claimVerdict {
	store := results.ForNotebook(nb.Path)
	var out []claimVerdict
	for _, c := range nb.Cells {
		if c.Kind != notebook.KindCheck {
			continue
		}
		f, err := store.Load(c.From)
		for _, cl := range c.Claims {
			v := claimVerdict{notebook: nb.Path, cell: c.From, mode: c.Mode, res: results.ClaimResult{Claim: cl, Detail: "no stored results"}}
			if err == nil {
				v.res = results.EvalClaim(cl, f)
			}
			out = append(out, v)
		}
	}
	return out
}

// claimCounts counts the claims of each status: assertions by pass, fail,
// inconclusive and unknown; claims under test (mode = "test") apart, by
// their verdicts, since none of them fails anything.
type claimCounts struct {
	pass, fail, inconclusive, unknown int
	tests                             map[string]int // verdict -> claims under test
}

func (c claimCounts) String() string {
	s := fmt.Sprintf("%d pass, %d fail, %d inconclusive, %d unknown", c.pass, c.fail, c.inconclusive, c.unknown)
	if t := c.testLine(); t != "" {
		s += "; " + t
	}
	return s
}

// testLine is "tests: 1 supported, 1 not supported, 0 inconclusive, 0
// unknown", or "" when no claim is under test.
func (c claimCounts) testLine() string {
	n := 0
	for _, k := range c.tests {
		n += k
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("tests: %d supported, %d not supported, %d inconclusive, %d unknown",
		c.tests[results.TestSupported], c.tests[results.TestNotSupported], c.tests[results.ClaimInconclusive], c.tests[results.ClaimUnknown])
}

// reportClaims prints failed assertions (all claims when verbose) and
// counts them by status.
func reportClaims(w io.Writer, vs []claimVerdict, verbose bool) claimCounts {
	n := claimCounts{tests: map[string]int{}}
	for _, v := range vs {
		if v.mode == notebook.ModeTest {
			n.tests[v.res.Verdict(v.mode)]++
			if verbose {
				fmt.Fprintf(w, "%s: %s: test: %-13s %s (%s)\n", v.notebook, v.cell, v.res.Verdict(v.mode), v.res.Claim.Text, v.res.Detail)
			}
			continue
		}
		switch v.res.Status() {
		case results.ClaimPass:
			n.pass++
		case results.ClaimFail:
			n.fail++
		case results.ClaimInconclusive:
			n.inconclusive++
		default:
			n.unknown++
		}
		if verbose || v.res.Failed() {
			fmt.Fprintf(w, "%s: %s: %-12s %s (%s)\n", v.notebook, v.cell, v.res.Status(), v.res.Claim.Text, v.res.Detail)
		}
	}
	return n
}
