package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

func TestCheck(t *testing.T) {
	files := map[string]string{"img/ok.png": "png", "data.csv": "1,2\n", "sub/index.md": "x"}
	for _, tc := range []struct {
		name string
		text string   // the cell's text = ..., starting on line 4
		want []string // errors, without the "DIR/nb.toml:" prefix
	}{
		{
			name: "all fine",
			text: `"""
![ok](img/ok.png) [csv](./data.csv?raw=1#top) [sub](sub/index.md) [web](https://example.org/x.png)
[mail](mailto:a@b.c) [top](#intro) [root](/about/) [here](./) [q](?page=2) <https://example.org>
"""`,
		},
		{
			name: "missing image in a multi-line string",
			text: "\"\"\"\nIntro.\n\nSee   ![a plot](img/missing.png) and [data](gone.csv).\n\"\"\"",
			want: []string{
				`7:7: image "img/missing.png": file not found`,
				`7:38: link "gone.csv": file not found`,
			},
		},
		{
			name: "columns count characters, not bytes",
			text: "\"\"\"\nÉté — ![x](nope.png)\n\"\"\"",
			want: []string{`5:7: image "nope.png": file not found`},
		},
		{
			name: "escapes in a one-line basic string",
			text: `"A\tb \u00e9 ![x](nope.png)"`,
			want: []string{`4:21: image "nope.png": file not found`},
		},
		{
			name: "a line-ending backslash folds lines",
			text: "\"\"\"\nOne \\\n    two ![x](nope.png)\n\"\"\"",
			want: []string{`6:9: image "nope.png": file not found`},
		},
		{
			name: "literal strings",
			text: "'''\nraw \\t [x](nope.csv)'''",
			want: []string{`5:8: link "nope.csv": file not found`},
		},
		{
			name: "a link inside a list and a blockquote",
			text: "\"\"\"\n- item\n  > quoted [x](nope.csv)\n\"\"\"",
			want: []string{`6:12: link "nope.csv": file not found`},
		},
		{
			name: "escapes and odd paths",
			text: `'''
[up](../secret.txt) ![up2](img/../../x.png) [win](img\ok.png) [page](index.md) [dir](img/) [pct](%zz)
'''`,
			want: []string{
				`5:1: link "../secret.txt": leaves the notebook's folder`,
				`5:21: image "img/../../x.png": leaves the notebook's folder`,
				`5:45: link "img\\ok.png": use "/" between folders`,
				`5:63: link "index.md": would be overwritten by the rendered page`,
				`5:80: link "img/": is a folder`,
				`5:92: link "%zz": bad %-escape`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nb := nbtest.Parse(t, "title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = "+tc.text+"\n", files)
			errs := Check(nb)
			if len(errs) != len(tc.want) {
				t.Fatalf("Check = %d errors, want %d:\n%v", len(errs), len(tc.want), errs)
			}
			for i, e := range errs {
				prefix := nb.Path + ":"
				if !strings.HasPrefix(e.Error(), prefix+tc.want[i]) {
					t.Errorf("error %d = %q\nwant prefix %q", i, e.Error(), prefix+tc.want[i])
				}
			}
		})
	}
}

// A file whose name is linked may be a symbolic link; one that leads out of
// the notebook's folder would publish a file from elsewhere on the machine.
func TestCheckSymlinkEscape(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	nb := nbtest.Parse(t, "title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = \"[s](s.txt)\"\n", nil)
	if err := os.Symlink(outside, filepath.Join(filepath.Dir(nb.Path), "s.txt")); err != nil {
		t.Skipf("cannot create a symbolic link here: %v", err)
	}
	errs := Check(nb)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "4:9: link \"s.txt\": is a symbolic link to a file outside") {
		t.Errorf("Check = %v", errs)
	}
}

// When the file changed since it was parsed, positions are estimated from
// where the text starts instead of read from the source.
func TestCheckPositionWithoutSource(t *testing.T) {
	nb := nbtest.Parse(t, "title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = \"\"\"\nab\n  [x](nope.csv)\n\"\"\"\n", nil)
	if err := os.WriteFile(nb.Path, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	errs := Check(nb)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), ":6:3: link") {
		t.Errorf("Check = %v, want the link at 6:3", errs)
	}
}

func TestCheckCLSF(t *testing.T) {
	const path = "../notebooks/clsf-2014-day2.toml"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not there yet: %v", path, err)
	}
	if errs := Check(nbtest.ParseFile(t, path)); len(errs) != 0 {
		t.Errorf("Check(%s):\n%v", path, errs)
	}
}
