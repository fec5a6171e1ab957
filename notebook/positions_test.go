package notebook

import (
	"strings"
	"testing"
)

// Problems are reported where they are written, not at 1:1: a byte that is
// not UTF-8, and a table no header of its own names (guests.vm of
// [guests.vm.disk] or of guests.vm.kind = ...) are placed at their line and
// column.
func TestPositionsThatLied(t *testing.T) {
	const md = "[[cells]]\nkind = \"markdown\"\ntext = \"x\"\n"
	tests := []struct {
		name string
		src  string
		want string
	}{
		{
			name: "invalid UTF-8 on line 4",
			src:  "title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = \"café \xe9\"\n",
			want: "x.toml:4:14: not UTF-8 text (byte 0xe9)",
		},
		{
			name: "invalid UTF-8 at the start",
			src:  "\xfftitle = \"t\"\n",
			want: "x.toml:1:1: not UTF-8 text (byte 0xff)",
		},
		{
			name: "guest made by a subtable's header",
			src:  "title = \"t\"\n" + md + "\n[guests.vm.disk]\nsize = 1\n",
			want: "x.toml:6:9: guest vm has no kind",
		},
		{
			name: "guest made by a dotted key",
			src:  "title = \"t\"\nguests.vm.kind = \"qemu\"\n" + md,
			want: "x.toml:2:8: guest vm: a qemu guest needs image, kernel or disk",
		},
		{
			name: "table made by a dotted key in a table",
			src:  "title = \"t\"\n[loads.x]\ntool.name = \"builtin\"\n" + md,
			want: "x.toml:3:1: tool must be a string, not a table",
		},
		{
			name: "unknown top-level table made by a header",
			src:  "title = \"t\"\n" + md + "[paramz.a]\nb = 1\n",
			want: `x.toml:5:2: unknown key "paramz" at the top level (did you mean "params"?)`,
		},
		{
			name: "a header of its own wins",
			src:  "title = \"t\"\n" + md + "[guests.vm.disk]\nsize = 1\n[guests.vm]\nimage = \"x\"\n",
			want: "x.toml:7:1: guest vm has no kind",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse:\n%v\nwant a line containing %q", err, tt.want)
			}
		})
	}
}
