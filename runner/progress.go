package runner

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/benchbook/benchbook/internal/numfmt"
)

var lookPath = exec.LookPath

// live shows a transient status line, on a terminal only.
func (r *run) live(format string, args ...any) {
	if !r.opt.Live {
		return
	}
	line := fmt.Sprintf(format, args...)
	if len(line) > 110 {
		line = line[:110]
	}
	fmt.Fprintf(r.opt.Progress, "\r\033[K%s", line)
}

// done prints a permanent line, replacing the live one.
func (r *run) done(format string, args ...any) {
	if r.opt.Live {
		fmt.Fprint(r.opt.Progress, "\r\033[K")
	}
	fmt.Fprintf(r.opt.Progress, format+"\n", args...)
}

// thousands formats a rate for people: 123456.7 -> "123,457".
func thousands(x float64) string { return numfmt.Group(int64(x + 0.5)) }

// figure is x for a progress line: whole with separators from 100 up,
// three significant digits below.
func figure(x float64) string {
	if x >= 100 || x <= -100 {
		return thousands(x)
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}

// shellQuote joins argv so it can be pasted into a shell.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func (r *run) trace(event string) {
	if r.opt.Trace != nil {
		r.opt.Trace(event)
	}
}
