package load

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benchbook/benchbook/notebook"
)

// What the loads that need no server (fio, sysbench, command) share: a
// scratch folder to work in, paths resolved in it or beside the notebook,
// and the bound on their processes.

// scratchVar is how a notebook names the repeat's scratch folder.
const scratchVar = "{dir}"

// scratch returns the folder a repeat works in: the target's Dir, or when
// the runner gave none (a load run outside a host guest, a test) a fresh
// one of its own, removed by done.
func scratch(t Target, tool string) (dir string, done func(), err error) {
	if t.Dir != "" {
		return t.Dir, func() {}, nil
	}
	if t.Guest != nil {
		return guestScratch(t, tool)
	}
	dir, err = os.MkdirTemp("", "benchbook-"+tool+"-")
	if err != nil {
		return "", nil, fmt.Errorf("making a scratch folder: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// inScratch resolves a path a notebook gives for the scratch folder: {dir}
// is the folder, a relative path is inside it (and may not climb out of
// it), an absolute one stays as it is (a guest's scratch disk, /data).
func inScratch(key, p, dir string) (string, error) {
	p = strings.ReplaceAll(p, scratchVar, dir)
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	if !filepath.IsLocal(p) && p != "." && p != "" {
		return "", fmt.Errorf("%s %q: a relative path is inside the scratch folder {dir} and may not climb out of it; give an absolute path", key, p)
	}
	return filepath.Join(dir, p), nil
}

// besideNotebook resolves a file a notebook names (a fio job file): a
// relative path is in the notebook's folder, and must exist.
func besideNotebook(key, p, notebookDir string) (string, error) {
	if err := notebook.CheckFileRef(p); err != nil {
		return "", fmt.Errorf("%s %q: %w", key, p, err)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(notebookDir, p)
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s: no file %s (relative paths are in the notebook's folder)", key, p)
		}
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return p, nil
}

// defaultHostTimeout bounds a tool whose running time the notebook does not
// say (fio without a runtime, one run of a command): long enough for any
// benchmark worth its name, short enough that a hung tool does not book
// the machine for the night.
const defaultHostTimeout = 10 * time.Minute

// slack is what a tool that says how long it runs gets on top, to start,
// lay out its files and report.
const slack = time.Minute
