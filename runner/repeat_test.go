package runner

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// The notebook package states the fewest repeats with a 95 % interval,
// which it cannot import from results: the two must agree.
func TestMinRepeatsForCIAgrees(t *testing.T) {
	if notebook.MinRepeatsForCI != results.MinRepeatsForCI() {
		t.Errorf("notebook.MinRepeatsForCI = %d, results.MinRepeatsForCI() = %d", notebook.MinRepeatsForCI, results.MinRepeatsForCI())
	}
}

// adaptiveCell is a cellRun of hostNotebook with repeat = rule (a TOML
// value), without running anything: the stop rule judges the figures
// put into its file.
func adaptiveCell(t *testing.T, rule string) *cellRun {
	t.Helper()
	nb := nbtest.Write(t, t.TempDir(), strings.Replace(hostNotebook, "repeat = 2", "repeat = "+rule, 1))
	c := nb.Bench("tp")
	return &cellRun{
		run:    &run{nb: nb, opt: Options{Progress: io.Discard}},
		cell:   c,
		points: sweepPoints(c.Sweep),
		active: []bool{true},
		file:   &results.File{Guests: []results.Guest{{Name: "host", Status: results.StatusOK, Points: []results.Point{{}}}}},
	}
}

func (cr *cellRun) addFigures(xs ...float64) {
	p := &cr.file.Guests[0].Points[0]
	for _, x := range xs {
		p.Repeats = append(p.Repeats, results.Repeat{Index: len(p.Repeats), Metrics: map[string]float64{"ops_per_sec": x}})
	}
}

// The stop rule: min rounds always, then the target on the widest
// interval, then max, then the budget (another round as long as the mean
// so far must fit in the point's share).
func TestStopRule(t *testing.T) {
	tight := []float64{1000, 1010, 990, 1005, 995, 1002} // six values: the interval is min..max, ±1 %
	wide := []float64{1000, 1500, 600, 1300, 700, 1200}  // ±50 %
	tests := []struct {
		name         string
		rule         string
		figures      []float64
		spent, share time.Duration
		inactive     bool
		want         string // results.Stop's reason; "" runs on; "done" stops without a reason
		rounds       int
	}{
		{name: "a count runs its rounds", rule: "4", figures: tight[:3], want: ""},
		{name: "a count stops at its count", rule: "4", figures: tight[:4], want: "done"},
		{name: "min rounds always run", rule: `{ min = 8, max = 20, target = "2%" }`, figures: tight, want: ""},
		{name: "target reached", rule: `{ max = 20, target = "2%" }`, figures: tight, want: results.StopTarget},
		{name: "target not reached", rule: `{ max = 20, target = "2%" }`, figures: wide, want: ""},
		{name: "the interval is judged as ±, its wider side", rule: `{ max = 20, target = "1.5%" }`, figures: []float64{1000, 1001, 1002, 1003, 1004, 980}, want: ""},
		{name: "max", rule: `{ max = 6, target = "2%" }`, figures: wide, want: results.StopMax},
		{name: "budget: no room for another round", rule: `{ max = 20, target = "2%", budget = "1m" }`, figures: wide, spent: 6 * time.Second, share: 6500 * time.Millisecond, want: results.StopBudget},
		{name: "budget: room for another round", rule: `{ max = 20, target = "2%", budget = "1m" }`, figures: wide, spent: 6 * time.Second, share: 7 * time.Second, want: ""},
		{name: "budget without a target", rule: `{ min = 2, max = 20, budget = "1m" }`, figures: wide[:2], spent: 2 * time.Second, share: 2 * time.Second, want: results.StopBudget},
		{name: "no guest left", rule: `{ max = 20, target = "2%" }`, figures: tight[:2], inactive: true, want: "done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := adaptiveCell(t, tt.rule)
			cr.addFigures(tt.figures...)
			cr.active[0] = !tt.inactive
			stop, done := cr.enough(0, len(tt.figures), tt.spent, tt.share)
			got := ""
			switch {
			case stop != nil:
				got = stop.Reason
				if stop.Rounds != len(tt.figures) || stop.Metric != "ops_per_sec" {
					t.Errorf("stop %+v", stop)
				}
			case done:
				got = "done"
			}
			if got != tt.want {
				t.Errorf("stop = %q, want %q", got, tt.want)
			}
		})
	}
}

// A budget is shared by the sweep points still to run: what one leaves,
// the next may spend.
func TestBudgetShare(t *testing.T) {
	cr := adaptiveCell(t, `{ max = 20, budget = "90s" }`)
	cr.points = make([]map[string]any, 3)
	cr.began = time.Now()
	if s := cr.budgetShare(0); s < 29*time.Second || s > 30*time.Second {
		t.Errorf("first of 3 points: %v, want 30s", s)
	}
	cr.began = time.Now().Add(-40 * time.Second)
	if s := cr.budgetShare(1); s < 24*time.Second || s > 25*time.Second {
		t.Errorf("second of 3 points, 40s spent: %v, want 25s", s)
	}
	cr.began = time.Now().Add(-2 * time.Minute)
	if s := cr.budgetShare(2); s != 0 {
		t.Errorf("budget overrun: %v, want 0", s)
	}
}

// adaptiveRun runs hostNotebook's redis with repeat = rule and returns the
// point's stop, the progress, and the stored file.
func adaptiveRun(t *testing.T, rule string) (*results.Stop, string, *results.File) {
	t.Helper()
	needRedis(t)
	nb, store := writeNotebook(t, t.TempDir(), strings.Replace(hostNotebook, "repeat = 2", "repeat = "+rule, 1))
	var out bytes.Buffer
	if _, err := Run(context.Background(), nb, store, runOpts(&out)); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	f := mustLoad(t, store, "tp")
	p := f.Guest("host").Points[0]
	if p.Stop == nil {
		t.Fatalf("no stop recorded:\n%s", out.String())
	}
	if p.Stop.Rounds != len(p.Repeats) || p.Stop.Metric != "ops_per_sec" {
		t.Errorf("stop %+v after %d repeats", p.Stop, len(p.Repeats))
	}
	t.Logf("%s (%d rounds, %.1fs)", p.Stop, p.Stop.Rounds, p.Stop.Seconds)
	return p.Stop, out.String(), f
}

// A real redis on the host, short loads: each way an adaptive repeat stops
// is stored and said.
func TestAdaptiveRepeatsRedis(t *testing.T) {
	t.Run("target 2%", func(t *testing.T) {
		// On a quiet machine ±2 % comes within some rounds; a busy one may
		// not get there by max (this shared 2-core one, at a load average
		// of 9, showed ±33 % after 40 rounds), and the rule must then not
		// pretend it did.
		stop, out, _ := adaptiveRun(t, `{ max = 20, target = "2%" }`)
		switch stop.Reason {
		case results.StopTarget:
			if stop.Interval > 0.02 || stop.Rounds >= 20 || !strings.Contains(out, "tp: target reached after ") {
				t.Errorf("stop %+v\n%s", stop, out)
			}
		case results.StopMax:
			if stop.Interval <= 0.02 {
				t.Errorf("stopped at max within the target: %+v", stop)
			}
			t.Logf("this machine is too noisy for ±2 %% in 20 rounds: %s", stop)
		default:
			t.Errorf("stop %+v", stop)
		}
	})
	t.Run("a target even a busy machine reaches", func(t *testing.T) {
		stop, out, _ := adaptiveRun(t, `{ max = 200, target = "50%" }`)
		if stop.Reason != results.StopTarget || stop.Interval > 0.50 || stop.Rounds < 6 || stop.Rounds >= 200 {
			t.Errorf("stop %+v", stop)
		}
		if !strings.Contains(out, "tp: target reached after "+plural(stop.Rounds, "round")+": ±") {
			t.Errorf("the progress does not say why it stopped:\n%s", out)
		}
	})
	t.Run("budget too small", func(t *testing.T) {
		// How many rounds fit in 1 s depends on the machine (a round here
		// takes 100 to 200 ms): min always runs, and past min a round only
		// starts while it fits, so more than min rounds means the budget
		// was not overrun.
		stop, out, _ := adaptiveRun(t, `{ max = 1000, target = "0.01%", budget = "1s" }`)
		if stop.Reason != results.StopBudget || stop.Rounds < 6 || stop.Interval <= 0.0001 {
			t.Errorf("stop %+v", stop)
		}
		if stop.Rounds > 6 && stop.Seconds > 1 {
			t.Errorf("%d rounds in %.2fs: a round past min overran the 1s budget", stop.Rounds, stop.Seconds)
		}
		if !strings.Contains(out, "tp: budget spent after "+plural(stop.Rounds, "round")+": ±") {
			t.Errorf("the progress does not say the budget is spent:\n%s", out)
		}
	})
	t.Run("max", func(t *testing.T) {
		stop, out, _ := adaptiveRun(t, `{ max = 7, target = "0.01%" }`)
		if stop.Reason != results.StopMax || stop.Rounds != 7 {
			t.Errorf("stop %+v", stop)
		}
		if !strings.Contains(out, "tp: max 7 rounds: ±") {
			t.Errorf("the progress does not say max was reached:\n%s", out)
		}
	})
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
