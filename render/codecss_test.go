package render

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/styles"

	"github.com/benchbook/benchbook/internal/testutil/golden"
)

// TestCodeCSS keeps theme/code.css what chroma writes for the page's two
// code themes (see stylesheet); go test ./render -run TestCodeCSS -update
// rewrites it after a chroma upgrade.
func TestCodeCSS(t *testing.T) {
	var b bytes.Buffer
	f := chromahtml.New(slices.Concat(chromaOptions, []chromahtml.Option{chromahtml.WithCSSComments(false)})...)
	for _, th := range []struct{ media, style string }{
		{"print, (prefers-color-scheme: light)", "github"},
		{"screen and (prefers-color-scheme: dark)", "github-dark"},
	} {
		fmt.Fprintf(&b, "@media %s {\n", th.media)
		if err := f.WriteCSS(&b, styles.Get(th.style)); err != nil {
			t.Fatal(err)
		}
		b.WriteString("}\n")
	}
	golden.Check(t, "theme/code.css", b.Bytes())
}
