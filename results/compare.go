package results

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Alpha is the significance level below which a metric has moved.
const Alpha = 0.05

// Comparison is one metric of one guest at one sweep point, in a stored run
// and in a rerun, with its verdict (see judge for the rule).
type Comparison struct {
	Guest  string
	Point  string // "clients=4", or empty
	Metric string
	Unit   string // the metric's, as the files declare it (File.Metric)

	Old, New   []float64 // the repeats' values
	OldMedian  float64
	NewMedian  float64
	Delta      float64 // (new - old) / old; NaN when old is 0
	P          float64 // two-sided Mann-Whitney U p-value; NaN when not comparable
	MinP       float64 // the smallest p these repeat counts can give
	Spread     float64 // the relative spread judged by: the runs' own, or the noise floor if larger
	Floor      float64 // the machines' noise floor of the metric, 0 when unknown
	MDE        float64 // the smallest change these repeats show at Spread; +Inf when none
	Verdict    Verdict
	Moved      bool   // Verdict == Moved: P < alpha
	Comparable bool   // both runs measured the metric
	Note       string // why it is not comparable, why it is inconclusive, or what would show
}

// Compare compares every guest, point and metric of a stored run with a
// rerun of the same cell, guests and points matched by name and params,
// and judges each by rule, with the noise floor either file records.
func Compare(old, rerun *File, metrics []string, rule Rule) []Comparison {
	var out []Comparison
	for gi := range old.Guests {
		og := &old.Guests[gi]
		ng := rerun.Guest(og.Name)
		for _, point := range pointsOf(og, ng) {
			op, np := findPoint(og, point), findPoint(ng, point)
			for _, m := range metrics {
				c := Comparison{Guest: og.Name, Point: point, Metric: m, Unit: metricOf(m, rerun, old).Unit,
					P: math.NaN(), Delta: math.NaN(), MinP: 1, MDE: math.Inf(1), Verdict: NotCompared}
				switch {
				case og.Status != StatusOK:
					c.Note = "stored run: guest " + og.Status
				case ng == nil:
					c.Note = "not in the rerun"
				case ng.Status != StatusOK:
					c.Note = "rerun: guest " + ng.Status
					if ng.Reason != "" {
						c.Note += ": " + firstLineOf(ng.Reason)
					}
				default:
					c.Old, c.New = values(op, m), values(np, m)
				}
				if len(c.Old) > 0 && len(c.New) > 0 {
					c.compare(rule, math.Max(old.NoiseSpread(m), rerun.NoiseSpread(m)))
				} else if c.Note == "" {
					c.Note = "no values"
				}
				out = append(out, c)
			}
		}
	}
	return out
}

// metricOf is what the first of files that declares name says of it, or
// the fallback of the last (the catalogue's, for old files).
func metricOf(name string, files ...*File) Metric {
	for _, f := range files {
		for _, m := range f.Metrics {
			if m.Name == name {
				return f.Metric(name)
			}
		}
	}
	return files[len(files)-1].Metric(name)
}

func (c *Comparison) compare(rule Rule, floor float64) {
	c.Comparable = true
	c.OldMedian, c.NewMedian = Summarize(c.Old).Median, Summarize(c.New).Median
	if c.OldMedian != 0 {
		c.Delta = (c.NewMedian - c.OldMedian) / c.OldMedian
	}
	_, c.P = MannWhitneyU(c.Old, c.New)
	c.MinP = MinPValue(len(c.Old), len(c.New))
	c.judge(rule, floor)
}

// pointsOf lists the point labels of a guest in either run, stored order
// first.
func pointsOf(og, ng *Guest) []string {
	var labels []string
	seen := map[string]bool{}
	for _, g := range []*Guest{og, ng} {
		if g == nil {
			continue
		}
		for _, p := range g.Points {
			if l := PointLabel(p.Params); !seen[l] {
				seen[l] = true
				labels = append(labels, l)
			}
		}
	}
	if len(labels) == 0 {
		labels = []string{""}
	}
	return labels
}

func findPoint(g *Guest, label string) *Point {
	if g == nil {
		return nil
	}
	for i := range g.Points {
		if PointLabel(g.Points[i].Params) == label {
			return &g.Points[i]
		}
	}
	return nil
}

func values(p *Point, metric string) []float64 {
	if p == nil {
		return nil
	}
	var out []float64
	for _, r := range p.Repeats {
		if v, ok := r.Metrics[metric]; ok {
			out = append(out, v)
		}
	}
	return out
}

// PointLabel is a sweep point's params as "a=1 b=x", sorted by name.
func PointLabel(params map[string]any) string {
	return joinParams(params, func(k string, v any) string { return fmt.Sprintf("%s=%v", k, v) })
}

// PointValues is a sweep point's param values alone, "1 x", in
// PointLabel's order: a label where the names go without saying (a bar
// plot's, under its bars, the params being the cell's).
func PointValues(params map[string]any) string {
	return joinParams(params, func(_ string, v any) string { return fmt.Sprint(v) })
}

// joinParams is each of params, sorted by name, as part says, joined by
// spaces.
func joinParams(params map[string]any, part func(k string, v any) string) string {
	keys := slices.Sorted(maps.Keys(params))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = part(k, params[k])
	}
	return strings.Join(parts, " ")
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
