package results

import (
	"math"
	"strings"
)

// ladders are the units that take SI prefixes, each rung 1000 times the
// one before: time and quantities of data. The first name of a ladder may
// have aliases ("B" for "bytes").
var ladders = [][]string{
	{"ns", "µs", "ms", "s"},
	{"bytes", "kB", "MB", "GB", "TB", "PB"},
	{"bits", "kbit", "Mbit", "Gbit", "Tbit"},
}

// unitAliases name the first rung of a ladder otherwise.
var unitAliases = map[string]string{"B": "bytes", "bit": "bits", "us": "µs"}

// Scale chooses how figures of a unit are written when the largest of them
// has the given magnitude: the unit to write them in, and what to divide
// them by. One rule serves table cells, inline values, plot axes and
// verify:
//
//   - time (ns, µs, ms, s) and data (bytes, bits, also per second or per
//     anything: "bytes/s") move up a prefix, by steps of 1000, while the
//     figure is at least 10,000 in the current unit: 9,599 µs stays µs,
//     14,143 µs is 14.1 ms, 123,456,789 bytes/s is 123 MB/s. Prefixes are
//     decimal (SI), as rates of data are counted: 1 MB = 10^6 bytes.
//   - every other unit (ops/s, IO/s, events/s, counts, and KB/s, whose
//     prefix the redis tools chose, in 1024s) is kept: its figures get
//     thousands separators, its axis ticks k and M suffixes.
//
// Figures are never scaled down: 0.25 ms stays 0.25 ms.
func Scale(unit string, magnitude float64) (div float64, scaled string) {
	base, rest := unit, ""
	if i := strings.IndexByte(unit, '/'); i > 0 {
		base, rest = unit[:i], unit[i:]
	}
	if a, ok := unitAliases[base]; ok {
		base = a
	}
	magnitude = math.Abs(magnitude)
	for _, ladder := range ladders {
		i := index(ladder, base)
		if i < 0 {
			continue
		}
		div = 1
		for i+1 < len(ladder) && magnitude/div >= 10000 {
			div *= 1000
			i++
		}
		if div == 1 {
			return 1, unit
		}
		return div, ladder[i] + rest
	}
	return 1, unit
}

func index(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
