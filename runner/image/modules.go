package image

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultModules are the drivers the guest needs for its one network card,
// on both machine types: virtio_pci for -M pc, virtio_mmio for -M microvm,
// and virtio_net for the card itself. Debian's cloud kernel builds all three
// as modules; modules.dep adds what they depend on.
var DefaultModules = []string{"virtio_pci", "virtio_mmio", "virtio_net"}

// moduleName turns a module file name into the name modprobe uses:
// "kernel/drivers/net/virtio_net.ko.xz" -> "virtio_net". Dashes and
// underscores are the same to the kernel.
func moduleName(p string) string {
	b := path.Base(p)
	if i := strings.Index(b, ".ko"); i >= 0 {
		b = b[:i]
	}
	return strings.ReplaceAll(b, "-", "_")
}

// moduleDeps is a parsed modules.dep: module name -> its file and the files
// it depends on (relative to the modules directory).
type moduleDeps struct {
	file    map[string]string
	deps    map[string][]string
	builtin map[string]bool
}

// parseModulesDep reads modules.dep ("file: dep dep ...") and, if builtin is
// not nil, modules.builtin (one file per line) so that a module compiled
// into the kernel is known as such rather than missing.
func parseModulesDep(dep, builtin io.Reader) (*moduleDeps, error) {
	m := &moduleDeps{file: map[string]string{}, deps: map[string][]string{}, builtin: map[string]bool{}}
	sc := bufio.NewScanner(dep)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		file, rest, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("modules.dep:%d: no colon in %q", line, text)
		}
		name := moduleName(file)
		m.file[name] = file
		m.deps[name] = strings.Fields(rest)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading modules.dep: %w", err)
	}
	if builtin != nil {
		sc := bufio.NewScanner(builtin)
		for sc.Scan() {
			if t := strings.TrimSpace(sc.Text()); t != "" {
				m.builtin[moduleName(t)] = true
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading modules.builtin: %w", err)
		}
	}
	return m, nil
}

// resolve returns the files to load for names, each after the modules it
// depends on, without repeats. Built-in modules are skipped; an unknown one
// is an error naming it.
func (m *moduleDeps) resolve(names []string) ([]string, error) {
	var order []string
	done := map[string]bool{}
	visiting := map[string]bool{}
	var visit func(name, wantedBy string) error
	visit = func(name, wantedBy string) error {
		if done[name] {
			return nil
		}
		file, ok := m.file[name]
		if !ok {
			if m.builtin[name] {
				done[name] = true
				return nil
			}
			if wantedBy != "" {
				return fmt.Errorf("module %s (needed by %s) is not in modules.dep", name, wantedBy)
			}
			return fmt.Errorf("module %s is neither in modules.dep nor built in", name)
		}
		if visiting[name] {
			return fmt.Errorf("module %s depends on itself", name)
		}
		visiting[name] = true
		// modules.dep lists the whole closure; visiting each dependency's
		// own dependencies first gives a valid order whatever the list's.
		for _, d := range m.deps[name] {
			if err := visit(moduleName(d), name); err != nil {
				return err
			}
		}
		visiting[name] = false
		done[name] = true
		order = append(order, file)
		return nil
	}
	for _, n := range names {
		if err := visit(strings.ReplaceAll(n, "-", "_"), ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// resolveModules reads dir/modules.dep and returns the files of names and
// their dependencies in load order, placed under guestDir in the guest.
func resolveModules(dir, guestDir string, names []string) ([]hostFile, error) {
	dep, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("kernel modules: %w (is the kernel's package installed?)", err)
	}
	defer dep.Close()
	var builtin io.Reader
	if b, err := os.Open(filepath.Join(dir, "modules.builtin")); err == nil {
		defer b.Close()
		builtin = b
	}
	m, err := parseModulesDep(dep, builtin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	files, err := m.resolve(names)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	out := make([]hostFile, 0, len(files))
	for _, f := range files {
		if path.IsAbs(f) || strings.HasPrefix(path.Clean(f), "../") {
			return nil, fmt.Errorf("%s: modules.dep names %s outside the modules directory", dir, f)
		}
		out = append(out, hostFile{Guest: path.Join(guestDir, f), Host: filepath.Join(dir, f)})
	}
	return slices.Clip(out), nil
}
