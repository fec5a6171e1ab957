package load

import "testing"

// The notebook knows a tool's primary metric as the first it declares
// (notebook.Decl.Primary, from the generated catalog): a plot without y
// draws it and verify compares it. Each tool's primary must therefore come
// first in its metrics.
func TestPrimaryMetricFirst(t *testing.T) {
	for _, tl := range registry {
		if len(tl.metrics) == 0 || tl.metrics[0].Name != tl.primary {
			first := ""
			if len(tl.metrics) > 0 {
				first = tl.metrics[0].Name
			}
			t.Errorf("tool %s: primary %q, but its first metric is %q: declare the primary first", tl.name, tl.primary, first)
		}
	}
	for _, d := range Decls() {
		if tl, _ := lookupTool(d.Name); d.Primary() != tl.primary {
			t.Errorf("tool %s: the catalog's primary is %q, want %q", d.Name, d.Primary(), tl.primary)
		}
	}
}
