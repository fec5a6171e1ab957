package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CheckOutDir refuses output folders where writing pages would put
// somebody's files at risk: the file system's root, the home folder or a
// folder that holds it, a folder of notebooks (one of srcDirs), a folder
// that holds one, and a results folder (NAME.results) or a folder inside
// one. Each kind of output (render's page, the site builder's pages) then
// replaces or deletes only the files it records having written; this check
// keeps a mistyped -o from mixing outputs with sources in the first place.
//
// An output folder inside a notebooks folder but not in a results folder
// (benchbook build . -o public) is allowed: notebooks are the folder's
// *.toml files, which no output path can name.
func CheckOutDir(out string, srcDirs ...string) error {
	abs, err := resolve(out)
	if err != nil {
		return fmt.Errorf("output folder %s: %w", out, err)
	}
	refuse := func(why string) error {
		return fmt.Errorf("output folder %s %s; choose a folder of its own for the output, such as public or out/NAME", out, why)
	}
	if filepath.Dir(abs) == abs {
		return refuse("is the file system's root")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		if h, err := resolve(home); err == nil {
			switch {
			case h == abs:
				return refuse("is your home folder")
			case within(abs, h):
				return refuse("holds your home folder")
			}
		}
	}
	for _, src := range srcDirs {
		s, err := resolve(src)
		if err != nil {
			return fmt.Errorf("notebooks folder %s: %w", src, err)
		}
		switch {
		case s == abs:
			return refuse("is the notebooks folder")
		case within(abs, s):
			return refuse("holds the notebooks folder " + src)
		case within(s, abs):
			rel, _ := filepath.Rel(s, abs)
			if first, _, _ := strings.Cut(filepath.ToSlash(rel), "/"); strings.HasSuffix(first, ".results") {
				return refuse("is inside the results folder " + filepath.Join(src, first))
			}
		}
	}
	return nil
}

// resolve makes p absolute and follows the symbolic links of the part of
// it that exists, so that a link to a notebooks folder is that folder.
func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var rest []string
	for dir := abs; ; dir = filepath.Dir(dir) {
		real, err := filepath.EvalSymlinks(dir)
		if err == nil {
			return filepath.Join(append([]string{real}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(dir) == dir {
			return "", err
		}
		rest = append([]string{filepath.Base(dir)}, rest...)
	}
}

// within reports whether p is strictly inside dir; both are absolute and
// clean.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// OverwriteError is a write refused because paths exist in the output
// folder that benchbook did not write: replacing or deleting them could
// lose someone's files.
type OverwriteError struct {
	Paths []string // the output folder joined with each path
}

func (e *OverwriteError) Error() string {
	const show = 5
	paths, more := e.Paths, ""
	if len(paths) > show {
		more = fmt.Sprintf(" and %d more", len(paths)-show)
		paths = paths[:show]
	}
	verb, it := "exists", "it"
	if len(e.Paths) > 1 {
		verb, it = "exist", "them"
	}
	return fmt.Sprintf("%s%s %s and benchbook did not write %s; nothing was written, so as not to replace or delete %s: move %s away, choose another output folder, or pass --force-overwrite",
		strings.Join(paths, ", "), more, verb, it, it, it)
}

// IsOverwrite reports whether err is, or wraps, an *OverwriteError.
func IsOverwrite(err error) bool {
	var oe *OverwriteError
	return errors.As(err, &oe)
}
