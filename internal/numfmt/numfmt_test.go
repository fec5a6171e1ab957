package numfmt

import "testing"

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567", 61234: "61,234"} {
		if got := Group(n); got != want {
			t.Errorf("Group(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRanges(t *testing.T) {
	for _, c := range []struct {
		ns   []int
		want string
	}{
		{nil, ""},
		{[]int{3}, "3"},
		{[]int{0, 1, 2, 5}, "0-2,5"},
		{[]int{0, 2, 4}, "0,2,4"},
		{[]int{1, 2, 7, 8, 9, 11}, "1-2,7-9,11"},
	} {
		if got := Ranges(c.ns); got != c.want {
			t.Errorf("Ranges(%v) = %q, want %q", c.ns, got, c.want)
		}
	}
}
