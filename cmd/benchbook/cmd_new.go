package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The starters `benchbook new` writes are embedded files: the notebook
// templates, and the files a template's guest needs beside the notebook.
//
//go:embed starter.toml.tmpl starter-*.tmpl starter-http.nginx.conf starter-http.index.html
var starterFiles embed.FS

// A starter is one template of `new --template`.
type starter struct {
	name     string
	short    string  // one line of --help
	notebook string  // its file in starterFiles
	assets   []asset // written into the folder NAME/ beside the notebook
	runs     bool    // it has bench cells, so the next step is run
}

// An asset is a file a template's notebook names: an embedded file and the
// name it is written under in NAME/.
type asset struct{ from, to string }

var starters = []starter{
	{name: "redis", short: "redis-server on this machine and the built-in load generator (the default)",
		notebook: "starter.toml.tmpl", runs: true},
	{name: "http", short: "nginx serving a static file to wrk, swept over connections (needs nginx, wrk)",
		notebook: "starter-http.toml.tmpl", runs: true,
		assets: []asset{{"starter-http.nginx.conf", "nginx.conf"}, {"starter-http.index.html", "index.html"}}},
	{name: "fio", short: "fio's random reads in a scratch folder on a disk, swept over iodepth (needs fio)",
		notebook: "starter-fio.toml.tmpl", runs: true},
	{name: "command", short: "a command timed per run (gzip), swept over a param, with a figure read from its output",
		notebook: "starter-command.toml.tmpl", runs: true},
	{name: "notes", short: "prose only, like conference notes: headings, a list, a table, a footnote",
		notebook: "starter-notes.toml.tmpl"},
}

type newOpts struct {
	force    bool
	template string
}

func newCommand() *command {
	return &command{
		name:  "new",
		args:  "[--template NAME] FILE",
		short: "write a commented starter notebook",
		long:  newHelp(),
		flags: func(fs *flag.FlagSet) any {
			o := &newOpts{}
			fs.BoolVar(&o.force, "force", false, "overwrite existing files")
			fs.StringVar(&o.template, "template", "redis", "the starter: "+strings.Join(starterNames(), ", "))
			return o
		},
		minArgs: 1, maxArgs: 1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			o := opts.(*newOpts)
			st, err := findStarter(o.template)
			if err != nil {
				return err
			}
			files, err := st.files(args[0])
			if err != nil {
				return err
			}
			if err := writeStarter(files, o.force); err != nil {
				return err
			}
			nb := files[0].path
			var names []string
			for _, f := range files {
				names = append(names, f.path)
			}
			fmt.Fprintf(env.stdout, "wrote %s\n", strings.Join(names, ", "))
			if st.runs {
				fmt.Fprintf(env.stdout, "next: benchbook check %s && benchbook run %s\n", nb, nb)
			} else {
				fmt.Fprintf(env.stdout, "next: benchbook check %s && benchbook render %s\n", nb, nb)
			}
			return nil
		},
	}
}

// newHelp lists the templates, one line each, from the table above.
func newHelp() string {
	var b strings.Builder
	b.WriteString(`Writes FILE (".toml" is added when missing), a commented starter notebook
that passes check, from one of these templates (--template; redis when
none is given):

`)
	for _, s := range starters {
		fmt.Fprintf(&b, "  %-8s %s\n", s.name, s.short)
	}
	b.WriteString(`
The http template also writes the files its nginx guest copies, into a
folder named like the notebook: NAME/nginx.conf and NAME/index.html. new
refuses to overwrite any file unless --force is given.

Example:

  benchbook new --template fio notebooks/nvme
  benchbook check notebooks/nvme.toml
  benchbook run -p scratch=/mnt/nvme notebooks/nvme.toml`)
	return b.String()
}

func starterNames() []string {
	var names []string
	for _, s := range starters {
		names = append(names, s.name)
	}
	return names
}

func findStarter(name string) (*starter, error) {
	for i := range starters {
		if starters[i].name == name {
			return &starters[i], nil
		}
	}
	hint := ""
	for _, s := range starters {
		if name != "" && (strings.HasPrefix(s.name, name) || strings.HasPrefix(name, s.name)) {
			hint = fmt.Sprintf(" (did you mean %q?)", s.name)
			break
		}
	}
	return nil, fmt.Errorf("unknown template %q%s; the templates are %s", name, hint, strings.Join(starterNames(), ", "))
}

// A starterFile is one file new writes.
type starterFile struct {
	path string
	data []byte
}

// files are the notebook at path (".toml" added) and its assets in a
// folder named like it, with the title and that folder's name filled in.
func (s *starter) files(path string) ([]starterFile, error) {
	if filepath.Ext(path) != ".toml" {
		path += ".toml"
	}
	base := strings.TrimSuffix(filepath.Base(path), ".toml")
	if base == "" || strings.HasPrefix(base, ".") {
		return nil, fmt.Errorf("%s: give the notebook a name that does not start with a dot, like notebooks/first", path)
	}
	fill := strings.NewReplacer("{{.Title}}", tomlEscape(titleOf(base)), "{{.Name}}", tomlEscape(base))
	src, err := starterFiles.ReadFile(s.notebook)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", s.name, err)
	}
	out := []starterFile{{path, []byte(fill.Replace(string(src)))}}
	for _, a := range s.assets {
		data, err := starterFiles.ReadFile(a.from)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", s.name, err)
		}
		out = append(out, starterFile{filepath.Join(filepath.Dir(path), base, a.to), data})
	}
	return out, nil
}

// titleOf makes a title of a file name: "redis-pipelining" -> "Redis pipelining".
func titleOf(base string) string {
	r, n := utf8.DecodeRuneInString(base)
	return string(unicode.ToUpper(r)) + strings.ReplaceAll(base[n:], "-", " ")
}

// tomlEscape escapes s for a TOML basic string ("..."): a file name may hold
// a quote or a backslash, and control characters are not allowed raw.
func tomlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeStarter writes every file, or none when one exists and force is
// false: a starter half written over someone's files helps nobody.
func writeStarter(files []starterFile, force bool) error {
	if !force {
		for _, f := range files {
			if _, err := os.Lstat(f.path); err == nil {
				return fmt.Errorf("%s exists; choose another name or pass --force", f.path)
			}
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	for _, f := range files {
		if err := writeNew(f, flags); err != nil {
			return err
		}
	}
	return nil
}

func writeNew(f starterFile, flags int) error {
	if dir := filepath.Dir(f.path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("new: %w", err)
		}
	}
	file, err := os.OpenFile(f.path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists; choose another name or pass --force", f.path)
	}
	if err != nil {
		return fmt.Errorf("new: %w", err)
	}
	if _, err := file.Write(f.data); err != nil {
		file.Close()
		return fmt.Errorf("new: %s: %w", f.path, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("new: %s: %w", f.path, err)
	}
	return nil
}
