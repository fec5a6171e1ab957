package image

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// hostFile is a file of the host placed in the image. Content is read from
// Host (following symlinks); Guest is where the guest sees it.
type hostFile struct {
	Guest string
	Host  string
}

// DefaultLibDirs are where Debian's dynamic loader looks when neither
// DT_RUNPATH nor DT_RPATH names the library: the multiarch directories
// first, as in /etc/ld.so.conf.d/x86_64-linux-gnu.conf, then the built-in
// trusted ones. Without an ld.so.cache in the image the guest's loader
// searches the same directories, so a library found here on the host is
// found at the same path in the guest.
var DefaultLibDirs = []string{
	"/lib/x86_64-linux-gnu",
	"/usr/lib/x86_64-linux-gnu",
	"/lib64",
	"/usr/lib64",
	"/lib",
	"/usr/lib",
}

// elfDeps returns the program interpreter and every shared library that
// the ELF executable bin needs, transitively, in a stable order (first the
// interpreter, then breadth first in DT_NEEDED order). It reads the ELF
// dynamic section; it never runs the program or ldd. Libraries loaded with
// dlopen are invisible to it.
func elfDeps(bin string, libDirs []string) ([]hostFile, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", bin, err)
	}
	defer f.Close()
	class, machine := f.Class, f.Machine

	var out []hostFile
	interp, err := interpreter(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	if interp != "" {
		if _, err := os.Stat(interp); err != nil {
			return nil, fmt.Errorf("%s: interpreter: %w", bin, err)
		}
		out = append(out, hostFile{Guest: interp, Host: interp})
	}

	type pending struct {
		name, from string
		dirs       []string // searched before libDirs
		chain      []string // DT_RPATHs of the loading chain, inherited
	}
	seen := map[string]bool{}
	if interp != "" {
		// The interpreter is also a DT_NEEDED of libc; ld.so matches it by
		// soname, so it must not be copied twice.
		seen[path.Base(interp)] = true
	}
	var queue []pending
	enqueue := func(f *elf.File, obj string, chain []string) error {
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("%s: dynamic section: %w", obj, err)
		}
		runpath, rpath, err := searchPaths(f, obj)
		if err != nil {
			return err
		}
		// Per ld.so(8): the DT_RPATHs of the object and its loaders are
		// searched only when the object has no DT_RUNPATH; DT_RUNPATH next.
		chain = append(append([]string(nil), rpath...), chain...)
		var dirs []string
		if len(runpath) == 0 {
			dirs = append(dirs, chain...)
		}
		dirs = append(dirs, runpath...)
		for _, n := range needed {
			queue = append(queue, pending{name: n, from: obj, dirs: dirs, chain: chain})
		}
		return nil
	}
	if err := enqueue(f, bin, nil); err != nil {
		return nil, err
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p.name] {
			continue
		}
		seen[p.name] = true
		found, lf, err := findLibrary(p.name, append(p.dirs[:len(p.dirs):len(p.dirs)], libDirs...), class, machine)
		if err != nil {
			return nil, fmt.Errorf("%s needs %s: %w", p.from, p.name, err)
		}
		out = append(out, hostFile{Guest: found, Host: found})
		err = enqueue(lf, found, p.chain)
		lf.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// interpreter returns the PT_INTERP path of f, or "" for a static binary.
func interpreter(f *elf.File) (string, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "", fmt.Errorf("reading PT_INTERP: %w", err)
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}

// errDynamic is wrapped by isStatic for a dynamically linked executable.
var errDynamic = errors.New("is dynamically linked")

// isStatic reports whether the file at p is an ELF executable that needs no
// dynamic loader: the kernel can run it as /init with nothing beside it.
func isStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("%s is not an ELF executable: %w", p, err)
	}
	defer f.Close()
	interp, err := interpreter(f)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if interp != "" {
		return fmt.Errorf("%s %w (interpreter %s)", p, errDynamic, interp)
	}
	return nil
}

// searchPaths returns DT_RUNPATH and DT_RPATH of f with $ORIGIN expanded.
func searchPaths(f *elf.File, obj string) (runpath, rpath []string, err error) {
	origin := filepath.Dir(obj)
	get := func(tag elf.DynTag) ([]string, error) {
		vals, err := f.DynString(tag)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", obj, tag, err)
		}
		var dirs []string
		for _, v := range vals {
			for _, d := range strings.Split(v, ":") {
				if d == "" {
					continue
				}
				d = strings.ReplaceAll(d, "${ORIGIN}", origin)
				d = strings.ReplaceAll(d, "$ORIGIN", origin)
				dirs = append(dirs, d)
			}
		}
		return dirs, nil
	}
	if runpath, err = get(elf.DT_RUNPATH); err != nil {
		return nil, nil, err
	}
	if rpath, err = get(elf.DT_RPATH); err != nil {
		return nil, nil, err
	}
	return runpath, rpath, nil
}

// findLibrary looks for name in dirs and returns the first file that is an
// ELF object of the wanted class and machine (ld.so skips others too, so an
// i386 library in /usr/lib does not hide the x86-64 one).
func findLibrary(name string, dirs []string, class elf.Class, machine elf.Machine) (string, *elf.File, error) {
	candidates := dirs
	if strings.Contains(name, "/") {
		candidates = []string{""}
	}
	var mismatch error
	for _, d := range candidates {
		p := name
		if d != "" {
			p = path.Join(d, name)
		}
		if _, err := os.Stat(p); err != nil {
			continue
		}
		f, err := elf.Open(p)
		if err != nil {
			mismatch = fmt.Errorf("%s: %w", p, err)
			continue
		}
		if f.Class != class || f.Machine != machine {
			f.Close()
			mismatch = fmt.Errorf("%s is %s %s", p, f.Class, f.Machine)
			continue
		}
		return p, f, nil
	}
	if mismatch != nil {
		return "", nil, fmt.Errorf("no usable file (last tried %w)", mismatch)
	}
	return "", nil, errors.New("not found in " + strings.Join(dirs, ":"))
}
