package notebook

import (
	"testing"
	"time"
)

// A bench cell's repeat is a count or an adaptive table, and retry a small
// count; each problem is reported where it is written.
func TestRepeatKey(t *testing.T) {
	tests := []struct {
		name  string
		cell  string
		want  []string // error prefixes, in order; none: valid
		check func(t *testing.T, c *Cell)
	}{
		{name: "default", check: func(t *testing.T, c *Cell) {
			if c.Repeat != 3 || c.Adaptive != nil || c.Retry != 0 {
				t.Errorf("repeat %d, adaptive %v, retry %d", c.Repeat, c.Adaptive, c.Retry)
			}
		}},
		{name: "count", cell: "repeat = 7\nretry = 2\n", check: func(t *testing.T, c *Cell) {
			if c.Repeat != 7 || c.Adaptive != nil || c.Retry != 2 {
				t.Errorf("repeat %d, adaptive %v, retry %d", c.Repeat, c.Adaptive, c.Retry)
			}
		}},
		{name: "adaptive", cell: `repeat = { min = 8, max = 40, target = "2.5%", budget = "10m" }` + "\n", check: func(t *testing.T, c *Cell) {
			want := RepeatRule{Min: 8, Max: 40, Target: 0.025, Budget: 10 * time.Minute}
			if c.Adaptive == nil || *c.Adaptive != want || c.Repeat != 40 {
				t.Errorf("repeat %d, adaptive %+v", c.Repeat, c.Adaptive)
			}
			if s := c.Adaptive.String(); s != "8 to 40 repeats until ±2.5 % (budget 10m)" {
				t.Errorf("String() = %q", s)
			}
		}},
		{name: "min defaults to the fewest with an interval", cell: `repeat = { max = 20, budget = "90s" }` + "\n", check: func(t *testing.T, c *Cell) {
			if c.Adaptive == nil || c.Adaptive.Min != MinRepeatsForCI || c.Adaptive.Target != 0 {
				t.Errorf("adaptive %+v", c.Adaptive)
			}
		}},
		{name: "a budget alone may start below the interval's minimum", cell: `repeat = { min = 1, max = 5, budget = "1m" }` + "\n"},
		{name: "count out of range", cell: "repeat = 0\n", want: []string{`x.toml:16:10: repeat = 0: want 1 to 1000 (leave repeat out for the default, 3)`}},
		{name: "retry out of range", cell: "retry = 11\n", want: []string{`x.toml:16:9: retry = 11: want 0 to 10`}},
		{name: "min below the interval's minimum", cell: `repeat = { min = 3, max = 40, target = "2%" }` + "\n",
			want: []string{`x.toml:16:18: repeat.min = 3: a target needs min >= 6, the fewest repeats whose median has a 95 % confidence interval`}},
		{name: "max below min", cell: `repeat = { min = 10, max = 8, target = "2%" }` + "\n",
			want: []string{`x.toml:16:28: repeat.max = 8 is below min = 10: want max >= min`}},
		{name: "max too large", cell: `repeat = { max = 1001, target = "2%" }` + "\n",
			want: []string{`x.toml:16:18: max = 1001: want 1 to 1000`}},
		{name: "min zero", cell: `repeat = { min = 0, max = 8, budget = "1m" }` + "\n",
			want: []string{`x.toml:16:18: min = 0: want 1 to 1000 (leave min out for the default, 6)`}},
		{name: "no max", cell: `repeat = { target = "2%" }` + "\n",
			want: []string{`x.toml:16:1: repeat needs max, the most rounds it may run`}},
		{name: "neither target nor budget", cell: `repeat = { max = 8 }` + "\n",
			want: []string{`x.toml:16:1: repeat = { ... } without target or budget runs max rounds: give a target or a budget, or write repeat = 8 for a fixed count`}},
		{name: "target not a percent", cell: `repeat = { max = 8, target = "0.02" }` + "\n",
			want: []string{`x.toml:16:30: target "0.02": want a percent like "2%"`}},
		{name: "target zero", cell: `repeat = { max = 8, target = "0%" }` + "\n",
			want: []string{`x.toml:16:30: repeat.target = "0%": want a percent above 0`}},
		{name: "budget not a duration", cell: `repeat = { max = 8, budget = "ten minutes" }` + "\n",
			want: []string{`x.toml:16:30: budget = "ten minutes": want a duration`}},
		{name: "unknown key", cell: `repeat = { max = 8, targte = "2%" }` + "\n",
			want: []string{`x.toml:16:1: repeat = { ... } without target or budget`, `x.toml:16:21: unknown key "targte" in repeat (keys: min, max, target, budget) (did you mean "target"?)`}},
		{name: "the runs cap counts max", cell: `repeat = { max = 1000, target = "2%" }` + "\nsweep = { clients = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }\n",
			want: []string{`x.toml:17:9: bench cell tp asks for 11000 runs (sweep points × repeats × guests); at most 10000`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nb, err := Parse("x.toml", []byte(base+benchCell+tt.cell))
			checkErrors(t, err, tt.want)
			if tt.check != nil {
				tt.check(t, nb.Bench("tp"))
			}
		})
	}
}

// The input hash of a count is what it always was; an adaptive rule's
// covers the table as written, and retry is no input.
func TestRepeatHash(t *testing.T) {
	hash := func(cell string) string {
		t.Helper()
		nb, err := Parse("x.toml", []byte(base+benchCell+cell))
		if err != nil {
			t.Fatal(err)
		}
		return nb.InputHash(nb.Bench("tp"), nil)
	}
	adaptive := hash(`repeat = { max = 40, target = "2%" }` + "\n")
	for _, tt := range []struct {
		name, a, b string
		same       bool
	}{
		{"retry is no input", "repeat = 5\n", "repeat = 5\nretry = 3\n", true},
		{"a count of the default", "", "repeat = 3\n", true},
		{"a count and a rule", "repeat = 40\n", `repeat = { max = 40, target = "2%" }` + "\n", false},
		{"the order of the table's keys", `repeat = { target = "2%", max = 40 }` + "\n", `repeat = { max = 40, target = "2%" }` + "\n", true},
		{"another target", `repeat = { max = 40, target = "3%" }` + "\n", `repeat = { max = 40, target = "2%" }` + "\n", false},
		{"a budget added", `repeat = { max = 40, target = "2%", budget = "5m" }` + "\n", `repeat = { max = 40, target = "2%" }` + "\n", false},
	} {
		if got := hash(tt.a) == hash(tt.b); got != tt.same {
			t.Errorf("%s: same hash = %v, want %v", tt.name, got, tt.same)
		}
	}
	if adaptive == hash("") {
		t.Error("an adaptive rule hashes like the default count")
	}
}
