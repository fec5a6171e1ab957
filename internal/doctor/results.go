package doctor

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// resultsSuffix ends the name of a notebook's results folder: x.toml keeps
// its results in x.results (see results.ForNotebook).
const resultsSuffix = ".results"

// ResultsFolders finds the results folders that paths name, for doctor
// --clean to look into. A path is a notebook (x.toml: its x.results, if
// there is one), a results folder itself, or any other folder, searched
// recursively for results folders; hidden folders are skipped, and so is
// what is inside a results folder. No paths means the current folder.
// Each folder is listed once, in the order found.
func ResultsFolders(paths []string) ([]string, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var out []string
	seen := map[string]bool{}
	add := func(dir string) {
		if key, err := filepath.Abs(dir); err == nil && !seen[key] {
			seen[key] = true
			out = append(out, dir)
		}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("doctor --clean: %w", err)
		}
		switch {
		case !st.IsDir() && strings.HasSuffix(p, ".toml"):
			if dir := strings.TrimSuffix(p, ".toml") + resultsSuffix; isDir(dir) {
				add(dir)
			}
		case !st.IsDir():
			return nil, fmt.Errorf("doctor --clean: %s is neither a notebook (.toml) nor a folder", p)
		default:
			if err := walkResults(p, add); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// walkResults calls add for every results folder in root (root included).
func walkResults(root string, add func(string)) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return fmt.Errorf("doctor --clean: %w", err)
			}
			return nil // an unreadable subfolder holds nothing we can clean
		}
		if !d.IsDir() {
			return nil
		}
		if strings.HasSuffix(d.Name(), resultsSuffix) {
			add(p)
			return filepath.SkipDir
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		return nil
	})
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
