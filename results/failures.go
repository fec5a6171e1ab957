package results

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Failure is one failed try of a repeat: a guest that did not become
// ready, died during the load, or whose load failed.
type Failure struct {
	Point   int       `json:"point"`   // index into Guest.Points
	Repeat  int       `json:"repeat"`  // the repeat's index, from 0
	Attempt int       `json:"attempt"` // 0 the first try, 1 the first retry...
	Retried bool      `json:"retried"` // a fresh boot tried the repeat again; false: the guest was given up
	Started time.Time `json:"started"`
	Reason  string    `json:"reason"`
	Log     string    `json:"log,omitempty"` // the try's guest log, relative to the results directory
}

// Kept are a failed guest's figures from the last run that measured it,
// copied from the <cell>.json that run wrote.
type Kept struct {
	Started time.Time `json:"started"` // when that run started
	// InputHash is that run's: when it differs from the file's, the
	// inputs changed since and the figures answer another question.
	InputHash string            `json:"input_hash"`
	Facts     map[string]string `json:"facts,omitempty"`
	Commands  []string          `json:"commands,omitempty"`
	Points    []Point           `json:"points"`
}

// KeepFrom returns what a failed guest keeps of its entry in prev, the
// file its cell's previous run stored: its figures when it was measured
// there, or what that entry kept itself. Nil when there is nothing.
func KeepFrom(prev *File, guest string) *Kept {
	if prev == nil {
		return nil
	}
	g := prev.Guest(guest)
	switch {
	case g == nil:
		return nil
	case g.Status == StatusOK && g.measured():
		return &Kept{Started: prev.Started, InputHash: prev.InputHash, Facts: g.Facts, Commands: g.Commands, Points: g.Points}
	}
	return g.Kept
}

func (g *Guest) measured() bool {
	for _, p := range g.Points {
		if len(p.Repeats) > 0 {
			return true
		}
	}
	return false
}

// FailureText counts a guest's failures with every reason, or "" when it
// had none: "2 failures in 12 repeats, retried: the guest's redis no
// longer answers PING", "1 failure in 3 repeats, given up at repeat 3:
// ...". Each distinct reason is named once, in order, by its first line.
func (g *Guest) FailureText() string {
	if len(g.Failures) == 0 {
		return ""
	}
	var reasons []string
	retried := 0
	var last Failure
	for _, f := range g.Failures {
		if r := firstLine(f.Reason); !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
		if f.Retried {
			retried++
		}
		last = f
	}
	s := plural(len(g.Failures), "failure") + " in " + plural(g.tried(), "repeat")
	switch {
	case retried == len(g.Failures):
		s += ", retried"
	case retried > 0:
		s += fmt.Sprintf(" (%d retried), given up at %s", retried, g.repeatName(last))
	default:
		s += ", given up at " + g.repeatName(last)
	}
	return s + ": " + strings.Join(reasons, "; ")
}

// tried counts the repeats the guest was tried at: those measured and
// those given up.
func (g *Guest) tried() int {
	n := 0
	for _, p := range g.Points {
		n += len(p.Repeats)
	}
	for _, f := range g.Failures {
		if !f.Retried {
			n++
		}
	}
	return n
}

// repeatName is "repeat 3", or "repeat 3 [clients=8]" at a sweep point.
func (g *Guest) repeatName(f Failure) string {
	s := "repeat " + strconv.Itoa(f.Repeat+1)
	if f.Point < len(g.Points) {
		if l := PointLabel(g.Points[f.Point].Params); l != "" {
			s += " [" + l + "]"
		}
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// Why an adaptive repeat stopped at a point (Stop.Reason).
const (
	StopTarget = "target" // every guest's interval within ±target
	StopBudget = "budget" // no time left for another round
	StopMax    = "max"    // max rounds done
)

// Stop records why an adaptive repeat (repeat = { min, max, target,
// budget }) stopped at one sweep point.
type Stop struct {
	Reason string  `json:"reason"` // StopTarget, StopBudget, StopMax or StopFailed
	Rounds int     `json:"rounds"`
	Metric string  `json:"metric"`           // the metric the target is judged on: the tool's primary
	Target float64 `json:"target,omitempty"` // a fraction: 0.02 for ±2 %
	// Interval is the half-width of this guest's 95 % interval of its
	// median of Metric when it stopped, as a fraction of the median (0.063
	// for ±6.3 %; the larger side, as the report's ± shows it); -1 when it
	// has none (fewer than MinRepeatsForCI repeats, no value, or a median
	// of 0). The rule judged the widest of the guests'.
	Interval float64 `json:"interval"`
	Seconds  float64 `json:"seconds"` // spent at this point
}

// RelativeInterval is s's half-width (the larger side, as the report's ±
// shows it) as a fraction of its median, or -1 when there is no 95 %
// interval to judge or no median to divide by.
func RelativeInterval(s Summary) float64 {
	half := math.Max(s.CIHigh-s.Median, s.Median-s.CILow)
	switch {
	case !s.CIExact:
		return -1
	case half == 0:
		return 0
	case s.Median == 0:
		return -1
	}
	return half / math.Abs(s.Median)
}

// String says why it stopped: "target reached after 12 rounds: ±1.8 %",
// "budget spent after 7 rounds: ±6.3 %", "max 40 rounds: ±3.1 %".
func (s Stop) String() string {
	switch s.Reason {
	case StopTarget:
		return fmt.Sprintf("target reached after %s: %s", plural(s.Rounds, "round"), IntervalText(s.Interval))
	case StopBudget:
		return fmt.Sprintf("budget spent after %s: %s", plural(s.Rounds, "round"), IntervalText(s.Interval))
	case StopMax:
		return fmt.Sprintf("max %s: %s", plural(s.Rounds, "round"), IntervalText(s.Interval))
	}
	return s.Reason
}

// IntervalText is a relative half-width for people: "±6.3 %", or "no 95 %
// interval yet" for -1.
func IntervalText(x float64) string {
	if x < 0 {
		return "no 95 % interval yet"
	}
	return "±" + strconv.FormatFloat(x*100, 'f', 1, 64) + " %"
}
