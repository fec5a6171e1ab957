package notebook

import (
	"strings"
	"testing"
)

// Relative file references are resolved in the notebook's folder and may not
// climb out of it; each refusal points at the value.
func TestFileRefsStayInside(t *testing.T) {
	const head = "title = \"t\"\n[params]\nup = \"..\"\n"
	const cells = "[[cells]]\nkind = \"markdown\"\ntext = \"x\"\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"inside", "[guests.v]\nkind = \"qemu\"\ndisk = \"images/a/../b.qcow2\"\nkernel = \"./k\"\n", nil},
		{"absolute", "[guests.v]\nkind = \"qemu\"\nkernel = \"/boot/vmlinuz\"\ninitrd = \"/boot/../boot/initrd\"\n", nil},
		{"builtin image", "[guests.v]\nkind = \"qemu\"\nimage = \"builtin:linux-redis\"\n", nil},
		{"disk", "[guests.v]\nkind = \"qemu\"\ndisk = \"../../etc/shadow\"\n",
			[]string{`fuzz.toml:6:8: disk = "../../etc/shadow": leaves the notebook's folder`}},
		{"one of disks", "[guests.v]\nkind = \"qemu\"\nkernel = \"k\"\ndisks = [\"ok.iso\", \"a/../../b.iso\"]\n",
			[]string{`fuzz.toml:7:20: disks = "a/../../b.iso": leaves the notebook's folder`}},
		{"process dir", "[guests.p]\nkind = \"process\"\ncommand = [\"x\"]\ndir = \"..\"\n",
			[]string{`fuzz.toml:7:7: dir = "..": leaves the notebook's folder`}},
		{"through a param", "[guests.v]\nkind = \"qemu\"\nimage = \"{up}/img.qcow2\"\n",
			[]string{`fuzz.toml:6:9: image = "{up}/img.qcow2": leaves the notebook's folder`}},
		{"backslashes", "[guests.v]\nkind = \"qemu\"\nkernel = '..\\k'\n",
			[]string{`fuzz.toml:6:10: kernel = "..\\k": leaves the notebook's folder`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("fuzz.toml", []byte(head+tt.src+cells))
			var got []string
			for _, e := range Errors(err) {
				got = append(got, e.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n%s\nwant %d", strings.Join(got, "\n"), len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, got[i], w)
				}
			}
		})
	}
}

func TestCheckFileRef(t *testing.T) {
	for ref, ok := range map[string]bool{
		"": true, "a": true, "a/b/../c": true, "./x": true, "/abs/../x": true, "builtin:linux-redis": true,
		"..": false, "../x": false, "a/../../x": false, "./../x": false, `..\x`: false,
	} {
		if err := CheckFileRef(ref); (err == nil) != ok {
			t.Errorf("CheckFileRef(%q) = %v", ref, err)
		}
	}
}
