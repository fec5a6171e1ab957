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

// reportClaims prints failed claims (all claims when verbose) and returns
// how many failed.
func reportClaims(w io.Writer, vs []claimVerdict, verbose bool) int {
	failed := 0
	for _, v := range vs {
		if v.res.Failed() {
			failed++
		}
		if verbose || v.res.Failed() {
			fmt.Fprintf(w, "%s: %s: %-22s %s (%s)\n", v.notebook, v.cell, v.res.Status(), v.res.Claim.Text, v.res.Detail)
		}
	}
	return failed
}
