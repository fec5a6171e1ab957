package render

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/benchbook/benchbook/results"
)

// noiseNote says which differences between the guests of f are noise on
// the machine that measured them, for each of metrics whose noise floor f
// records (benchbook calibrate): the minimum detectable effect of a
// comparison of two guests with as many repeats as the fewest of them
// has. It is "" when f records no floor for any of them, so reports of
// uncalibrated machines read as before.
//
//	differences under 4.6 % in requests per second are noise on the
//	machine that measured them (5 + 5 repeats; benchbook calibrate,
//	2026-12-01)
func noiseNote(f *results.File, metrics []string) string {
	var under, floors []string
	n, first := 0, ""
	for _, m := range metrics {
		spread := f.NoiseSpread(m)
		if spread == 0 {
			continue
		}
		k := fewestRepeats(f, m)
		if k == 0 {
			continue
		}
		if first == "" {
			n, first = k, m
		}
		label := lowerFirst(f.Metric(m).Label)
		if mde := results.MDE(k, k, spread, results.Alpha); mde < 1e9 {
			under = append(under, fmt.Sprintf("%s in %s", results.Pct(mde), label))
		}
		floors = append(floors, fmt.Sprintf("%s in %s", results.Pct(spread), label))
	}
	if first == "" {
		return ""
	}
	when := ""
	if cal, ok := f.Calibration(first); ok && !cal.Calibrated.IsZero() {
		when = ", " + cal.Calibrated.UTC().Format("2006-01-02")
	}
	if len(under) == 0 {
		return fmt.Sprintf("with %s per guest no difference can be told from the noise of the machine that measured them (one repeat scatters %s; a rank test needs %d + %d repeats; benchbook calibrate%s)",
			plural(n, "repeat"), joinAnd(floors), results.RepeatsToShow(results.Alpha), results.RepeatsToShow(results.Alpha), when)
	}
	return fmt.Sprintf("differences under %s are noise on the machine that measured them (%d + %d repeats; benchbook calibrate%s)", joinAnd(under), n, n, when)
}

// fewestRepeats is the fewest repeats with metric of any measured guest at
// any point of f.
func fewestRepeats(f *results.File, metric string) int {
	n := 0
	for _, g := range f.Guests {
		if g.Status != results.StatusOK {
			continue
		}
		for _, p := range g.Points {
			if s, ok := p.Summary[metric]; ok && s.N > 0 && (n == 0 || s.N < n) {
				n = s.N
			}
		}
	}
	return n
}

// lowerFirst lowercases a label's first letter unless it starts an
// acronym ("Requests per second" -> "requests per second", "IOPS" stays).
func lowerFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	next, _ := utf8.DecodeRuneInString(s[size:])
	if unicode.IsUpper(next) {
		return s
	}
	return string(unicode.ToLower(r)) + s[size:]
}

// upperFirst capitalises a sentence's first letter.
func upperFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}

// joinAnd is "a", "a and b", "a, b and c".
func joinAnd(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
