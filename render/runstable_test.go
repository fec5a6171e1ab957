package render

import (
	"html/template"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/results"
)

// runsTable writes by hand what a html/template range over the runs
// wrote before it: the same bytes, for names that need escaping too.
func TestRunsTableEscapesAsHTMLTemplate(t *testing.T) {
	ref := template.Must(template.New("runs").Parse(`<table class="runs">
<thead><tr><th>run</th><th>started</th><th>machine</th><th>commit</th><th>benchbook</th><th>id</th><th></th></tr></thead>
<tbody>
{{range .}}<tr id="{{.Anchor}}"><td>{{.N}}</td><td>{{.Started}}</td><td>{{.Machine}}</td><td>{{.Commit}}</td><td>{{.Benchbook}}</td><td>{{.ID}}</td><td>{{.Compacted}}</td></tr>
{{end}}</tbody>
</table>
`))
	type row struct {
		N                                                          int
		Anchor, Started, Machine, Commit, Benchbook, ID, Compacted string
	}
	odd := []string{"plain", `a<b>&"c'+d`, "nul\x00here", "ünï", "x=y;z"}
	const cell = "c+1"
	var entries []results.Entry
	var rows []row
	for i, s := range odd {
		f := &results.File{Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Hour), Commit: s + "0123456789abcdef"}
		f.Env.Machine, f.Env.Benchbook = s, "v"+s
		id := s + strconv.Itoa(i)
		e := results.Entry{ID: id, Run: f, Compacted: i%2 == 1}
		entries = append(entries, e)
		r := row{N: i + 1, Anchor: runAnchor(cell, id), Started: f.Started.Format("2006-01-02 15:04 UTC"), Machine: s, Commit: shortText(f.Commit, 12), Benchbook: "v" + s, ID: id}
		if e.Compacted {
			r.Compacted = "summaries only"
		}
		rows = append(rows, r)
	}
	var want strings.Builder
	if err := ref.Execute(&want, rows); err != nil {
		t.Fatal(err)
	}
	if got := string(runsTable(cell, entries)); got != want.String() {
		t.Errorf("runs table differs from html/template's:\n got %q\nwant %q", got, want.String())
	}
	if got := runsTable(cell, nil); got != "" {
		t.Errorf("no runs: got %q, want no table", got)
	}
}
