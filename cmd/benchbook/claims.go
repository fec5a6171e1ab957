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
			v := claimVerdict{notebook: nb.Path, cell: c.From, res: results.ClaimResult{Claim: cl, Detail: "no stored results"}}
			if err == nil {
				v.res = results.EvalClaim(cl, f)
			}
			out = append(out, v)
		}
	}
	return out
}

// claimCounts counts the claims of each status.
type claimCounts struct{ pass, fail, inconclusive, unknown int }

func (c claimCounts) String() string {
	return fmt.Sprintf("%d pass, %d fail, %d inconclusive, %d unknown", c.pass, c.fail, c.inconclusive, c.unknown)
}

// reportClaims prints failed claims (all claims when verbose) and counts
// them by status.
func reportClaims(w io.Writer, vs []claimVerdict, verbose bool) claimCounts {
	var n claimCounts
	for _, v := range vs {
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
