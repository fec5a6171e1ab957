package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benchbook/benchbook/results"
)

// attempt measures guest gi at point pi, repeat rep, and after a failure
// tries again with a fresh boot, up to the cell's retry times. Every
// failure is recorded on the guest; one whose tries all failed is given
// up (no longer measured) and the cell goes on with the others. Only an
// interrupt is returned.
func (cr *cellRun) attempt(ctx context.Context, gi, pi, rep int) error {
	for try := 0; ; try++ {
		started := time.Now()
		err := cr.once(ctx, gi, pi, rep, cr.label(gi, pi, rep, try))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			return nil
		}
		retry := try < cr.cell.Retry
		cr.noteFailure(gi, pi, rep, try, retry, started, err)
		if !retry {
			cr.giveUp(gi, pi, rep, err)
			return nil
		}
	}
}

// noteFailure records one failed try on its guest. A try that is retried
// keeps its log under a name of its own (….failed1.log), since the retry
// writes the repeat's log afresh.
func (cr *cellRun) noteFailure(gi, pi, rep, try int, retry bool, started time.Time, err error) {
	rel := cr.store.LogRel(cr.cell.ID, cr.cell.Guests[gi], pi, rep)
	reason := err.Error()
	if retry {
		moved := strings.TrimSuffix(rel, ".log") + fmt.Sprintf(".failed%d.log", try+1)
		from, to := cr.staged(rel), cr.staged(moved)
		if os.Rename(from, to) == nil {
			reason = strings.ReplaceAll(reason, from, to)
			rel = moved
		}
	}
	f := results.Failure{Point: pi, Repeat: rep, Attempt: try, Retried: retry, Started: started.UTC(), Reason: reason}
	if _, serr := os.Stat(cr.staged(rel)); serr == nil {
		f.Log = rel
	}
	g := &cr.file.Guests[gi]
	g.Failures = append(g.Failures, f)
	if retry {
		cr.done("%s: failed: %s; trying again with a fresh boot (retry %d/%d)", cr.label(gi, pi, rep, try), firstLine(err), try+1, cr.cell.Retry)
	}
}

// staged is where the log rel (relative to the results folder) is while
// the run lasts.
func (cr *cellRun) staged(rel string) string {
	return filepath.Join(cr.staging, filepath.FromSlash(rel))
}

// giveUp marks guest gi failed after its last try at point pi, repeat
// rep, and stops measuring it. A guest the cell needs is counted against
// the cell; an optional one is not.
func (cr *cellRun) giveUp(gi, pi, rep int, err error) {
	name := cr.cell.Guests[gi]
	g := &cr.file.Guests[gi]
	g.Status, g.Reason = results.StatusFailed, g.Failures[len(g.Failures)-1].Reason
	cr.active[gi] = false
	spec, _ := cr.guestSpec(name, cr.nb.ParamValues())
	if spec.Optional {
		fmt.Fprintf(cr.opt.Progress, "%s: optional guest %s failed, going on without it: %v\n", cr.cell.ID, name, firstLine(err))
		return
	}
	cr.failures = append(cr.failures, guestFailure{gi: gi, guest: name, point: describePoint(cr.points[pi]), repeat: rep, err: err})
	if cr.anyActive() {
		fmt.Fprintf(cr.opt.Progress, "%s: guest %s failed at repeat %d, going on with the other guests: %v\n", cr.cell.ID, name, rep+1, firstLine(err))
	}
}

// guestFailure is a guest the cell needs that was given up.
type guestFailure struct {
	gi           int
	guest, point string
	repeat       int // from 0
	err          error
	msg          string // err's message with the logs where they are kept, once known
}

func (f guestFailure) Error() string {
	msg := f.msg
	if msg == "" {
		msg = f.err.Error()
	}
	return fmt.Sprintf("guest %s%s, repeat %d: %s", f.guest, f.point, f.repeat+1, msg)
}

func (f guestFailure) Unwrap() error { return f.err }

// guestFailures are the guests a cell needs that failed, in order.
type guestFailures []guestFailure

func (fs guestFailures) Error() string {
	lines := make([]string, len(fs))
	for i, f := range fs {
		lines[i] = f.Error()
	}
	return strings.Join(lines, "\n")
}

func (fs guestFailures) Unwrap() []error {
	errs := make([]error, len(fs))
	for i, f := range fs {
		errs[i] = f
	}
	return errs
}

// err is fs as an error, or nil when no guest failed.
func (fs guestFailures) err() error {
	if len(fs) == 0 {
		return nil
	}
	return fs
}

// summary is fs in one line each, for a results file's Incomplete.
func (fs guestFailures) summary() string {
	lines := make([]string, len(fs))
	for i, f := range fs {
		lines[i] = firstLine(f)
	}
	return strings.Join(lines, "; ")
}

// finish stores the run's outcome. A good run replaces CELL.json and is
// appended to the cell's history (CELL.history.jsonl). So does a
// run in which guests the cell needs failed while another guest was
// measured in full: the file holds every figure measured, each failed
// guest marked with its failures and its figures of the last run that
// measured it (results.Kept), and Incomplete set; the error then says
// so. A run that measured no guest in full goes to CELL.failed.json and
// leaves CELL.json as it was.
func (cr *cellRun) finish(runErr error) error {
	var failed guestFailures
	if runErr != nil && (!errors.As(runErr, &failed) || !cr.anyComplete()) {
		return cr.saveFailure(runErr)
	}
	if failed != nil {
		cr.file.Incomplete = cr.failures.summary()
		cr.keepFailed()
	}
	moves := cr.placeLogs(func(gi int) string {
		if cr.file.Guests[gi].Status == results.StatusFailed {
			return "logs/failed"
		}
		return "logs"
	})
	if failed != nil {
		runErr = fmt.Errorf("%w\nthe other guests' figures are stored in %s%s", cr.failures, cr.store.Path(cr.cell.ID), cr.keptNote())
	}
	// Record also appends the run to the cell's history; a run saved
	// without its history entry says so, but its figures stand.
	if err := cr.store.Record(cr.file); err != nil {
		return errors.Join(runErr, fmt.Errorf("store results: %w", err))
	}
	cr.publishLogs(moves, "logs")
	return runErr
}

// saveFailure writes a run that measured no guest in full to
// CELL.failed.json, its logs to logs/failed/, and returns its error
// naming the logs where they are kept.
func (cr *cellRun) saveFailure(runErr error) error {
	moves := cr.placeLogs(func(int) string { return "logs/failed" })
	runErr = cr.keptLogs(runErr, "logs/failed")
	cr.file.Failure = runErr.Error()
	if err := cr.store.SaveFailure(cr.file); err != nil {
		return errors.Join(runErr, fmt.Errorf("record the failure: %w", err))
	}
	cr.publishLogs(moves, "logs/failed")
	return runErr
}

// anyComplete reports whether some guest was measured in full: status ok
// and figures at every point.
func (cr *cellRun) anyComplete() bool {
	for _, g := range cr.file.Guests {
		if g.Status != results.StatusOK || len(g.Points) == 0 {
			continue
		}
		complete := true
		for _, p := range g.Points {
			complete = complete && len(p.Repeats) > 0
		}
		if complete {
			return true
		}
	}
	return false
}

// keepFailed copies each failed guest's last good figures from the
// CELL.json this run replaces (results.KeepFrom).
func (cr *cellRun) keepFailed() {
	prev, err := cr.store.Load(cr.cell.ID)
	if err != nil {
		return // none, or unreadable: nothing to keep
	}
	for gi := range cr.file.Guests {
		if g := &cr.file.Guests[gi]; g.Status == results.StatusFailed {
			g.Kept = results.KeepFrom(prev, g.Name)
		}
	}
}

// keptNote says which failed guests keep figures of an earlier run.
func (cr *cellRun) keptNote() string {
	var b strings.Builder
	for _, g := range cr.file.Guests {
		if g.Kept != nil {
			fmt.Fprintf(&b, "; %s keeps its figures of the run of %s", g.Name, g.Kept.Started.UTC().Format("2006-01-02 15:04 UTC"))
		}
	}
	return b.String()
}

// placeLogs points every log the file names (repeats', failures') from
// logs/ to where publishLogs will put it, under dest(guest) (logs or
// logs/failed), rewrites the staging paths in the guests' reasons to the
// same places, and returns the moves, relative to the staging and results
// folders alike.
func (cr *cellRun) placeLogs(dest func(gi int) string) map[string]string {
	moves := map[string]string{}
	for gi := range cr.file.Guests {
		g := &cr.file.Guests[gi]
		to := dest(gi)
		move := func(rel string) string {
			if !strings.HasPrefix(rel, "logs/") {
				return rel
			}
			moves[rel] = to + strings.TrimPrefix(rel, "logs")
			return moves[rel]
		}
		for pi := range g.Points {
			for ri := range g.Points[pi].Repeats {
				r := &g.Points[pi].Repeats[ri]
				r.Log = move(r.Log)
			}
		}
		for fi := range g.Failures {
			f := &g.Failures[fi]
			f.Log = move(f.Log)
			f.Reason = cr.keptText(f.Reason, to)
		}
		g.Reason = cr.keptText(g.Reason, to)
	}
	for i, f := range cr.failures {
		cr.failures[i].msg = cr.file.Guests[f.gi].Reason
	}
	return moves
}

// publishLogs moves this run's logs from the staging folder into the
// results folder: each to where moves says, any other under dest,
// replacing the logs of the same names.
func (cr *cellRun) publishLogs(moves map[string]string, dest string) {
	filepath.WalkDir(cr.staging, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(cr.staging, path)
		rel = filepath.ToSlash(rel)
		to, ok := moves[rel]
		if !ok {
			to = dest + "/" + strings.TrimPrefix(rel, "logs/")
		}
		target := cr.store.Resolve(to)
		os.MkdirAll(filepath.Dir(target), 0o755)
		os.Rename(path, target)
		return nil
	})
}

// keptLogs rewrites the staging paths in err's message to where
// publishLogs(…, dest) keeps them; errors.Is and As still see err.
func (cr *cellRun) keptLogs(err error, dest string) error {
	return &keptLogsError{err: err, msg: cr.keptText(err.Error(), dest)}
}

// keptText rewrites paths of this run's staging folder in msg to where
// publishLogs(…, dest) keeps them.
func (cr *cellRun) keptText(msg, dest string) string {
	staged := filepath.Join(cr.staging, "logs") + string(filepath.Separator)
	kept := filepath.Join(cr.store.Dir, filepath.FromSlash(dest)) + string(filepath.Separator)
	return strings.ReplaceAll(msg, staged, kept)
}

// keptLogsError is a failure whose message names the kept logs; errors.Is
// and As still see the failure it wraps.
type keptLogsError struct {
	err error
	msg string
}

func (e *keptLogsError) Error() string { return e.msg }
func (e *keptLogsError) Unwrap() error { return e.err }
