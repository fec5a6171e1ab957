package site

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/benchbook/benchbook/internal/inputfile"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// input is one file a page is made from, with the hash of its content.
//
// Stat caches the hash, as git's index does: reading and hashing a thousand
// notebooks costs a no-change rebuild far more than asking for their size,
// times and inode. A later build trusts Sum without reading the file only
// when the file's Stat is the same. Stat is recorded only for a file whose
// last change (ctime) came well before the build that hashed it began:
// file times are coarse, and a file changed while a build hashes it could
// otherwise keep a time already recorded with the old content. A change
// always moves ctime, which no tool can set back.
type input struct {
	Name string // "notebook", "results/CELL.json" or "asset/PATH"
	Sum  string // hex SHA-256 of the content; empty when missing
	Stat string // see above; empty when not safe to trust
}

// statSlack is how long before a build's start a file's last change must
// be for its Stat to be trusted by later builds: far more than the
// granularity of file times.
var statSlack = 2 * time.Second

// inputsOf hashes the files of one page: the notebook, the JSON files and
// histories of its results folder (guest logs are not shown in the page) and the
// assets the old entry's page copied. Hashes of old inputs whose Stat still matches are reused. When it
// reads the notebook it returns its bytes too. It also returns the results
// folder's stat key (see resultsFiles).
func (b *builder) inputsOf(nbPath string, old *entry, pre prestats) (ins []input, nbData []byte, dirKey string, err error) {
	var oldIns []input
	if old != nil {
		oldIns = old.Inputs
	}
	assets := assetsOf(oldIns)
	ins = make([]input, 0, len(oldIns)+1)
	add := func(name, file string, keep bool, pre stated) error {
		in, data, err := b.hashInput(name, file, cachedInput(oldIns, name), keep, pre)
		ins = append(ins, in)
		if keep {
			nbData = data
		}
		return err
	}
	if err := add("notebook", nbPath, true, pre.notebook); err != nil {
		return nil, nil, "", fmt.Errorf("read notebook: %w", err)
	}
	store := results.ForNotebook(nbPath)
	names, dirKey, err := b.resultsFiles(store.Dir, old, pre.results)
	if err != nil {
		return nil, nil, "", fmt.Errorf("results of %s: %w", nbPath, err)
	}
	for _, name := range names {
		if err := add("results/"+name, filepath.Join(store.Dir, name), false, stated{}); err != nil {
			return nil, nil, "", fmt.Errorf("results of %s: %w", nbPath, err)
		}
	}
	dir := filepath.Dir(nbPath)
	for _, a := range assets {
		// A missing asset hashes as missing: the page is then rendered
		// again, and render reports the missing file with its position.
		_ = add("asset/"+a, filepath.Join(dir, filepath.FromSlash(a)), false, stated{})
	}
	return ins, nbData, dirKey, nil
}

// stated is a file's key (fileKey) taken ahead, if done.
type stated struct {
	key  string
	err  error
	done bool
}

// prestats are what prestat took of a notebook: the notebook's key and its
// results folder's.
type prestats struct{ notebook, results stated }

// prestat takes the keys of the notebooks and of their results folders
// while the manifest is decoded, for as long as it is: neither needs the
// manifest, and this goroutine would only wait for it. It returns the
// manifest.
func (b *builder) prestat(jobs []*job, loaded <-chan *manifest) *manifest {
	before := b.started.Add(-statSlack)
	for _, j := range jobs {
		select {
		case m := <-loaded:
			return m
		default:
		}
		k, err := fileKey(j.path, before)
		j.pre.notebook = stated{k, err, true}
		k, err = fileKey(results.ForNotebook(j.path).Dir, before)
		j.pre.results = stated{k, err, true}
	}
	return <-loaded
}

// cachedInput is the old input of that name whose Stat can be trusted. A
// page has a handful of inputs: a map of them, made for each page of a
// no-change rebuild, cost more than looking.
func cachedInput(old []input, name string) input {
	for _, in := range old {
		if in.Name == name && in.Stat != "" {
			return in
		}
	}
	return input{}
}

// resultsFiles lists the files of a results folder that a page shows:
// CELL.json and the history (CELL.history.jsonl), sorted. While the
// folder's stat key is the one the last build recorded, no file was added,
// removed or renamed in it since, and the list is the results inputs of
// that build: a no-change rebuild of a thousand pages then stats each
// folder instead of opening and reading it (a third of its system calls).
// The files themselves are still each checked by hashInput.
func (b *builder) resultsFiles(dir string, old *entry, pre stated) (names []string, key string, err error) {
	key, err = pre.key, pre.err
	if !pre.done {
		key, err = fileKey(dir, b.started.Add(-statSlack))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	if key != "" && old != nil && old.ResultsDir == key {
		for _, in := range old.Inputs {
			if name, ok := strings.CutPrefix(in.Name, "results/"); ok {
				names = append(names, name)
			}
		}
		return names, key, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	for _, e := range entries { // sorted by name
		if e.Type().IsRegular() && (strings.HasSuffix(e.Name(), ".json") || strings.HasSuffix(e.Name(), results.HistorySuffix)) {
			names = append(names, e.Name())
		}
	}
	return names, key, nil
}

// hashInput hashes one file, or reuses the cached hash when the file's stat
// says it has not changed (then it does not read the file, and returns no
// data even when keep is set).
func (b *builder) hashInput(name, file string, cached input, keep bool, pre stated) (input, []byte, error) {
	in := input{Name: name}
	var buf [maxFileKey]byte
	key, err := append(buf[:0], pre.key...), pre.err
	if !pre.done {
		key, err = appendFileKey(buf[:0], file, b.started.Add(-statSlack))
	}
	if err != nil {
		return in, nil, err
	}
	if len(key) > 0 && string(key) == cached.Stat {
		return cached, nil, nil // unchanged: nothing allocated
	}
	stat := string(key)
	sum, data, err := readInput(name, file, keep)
	if err != nil {
		return in, nil, err
	}
	in.Sum, in.Stat = sum, stat
	return in, data, nil
}

// readInput hashes one input file, read as its readers will read it: the
// notebook and results files whole, within their size limits (the notebook's
// bytes are kept for parsing), assets streamed. Only regular files are read:
// a named pipe or a link to a device is an error, never a hang.
func readInput(name, file string, keep bool) (sum string, data []byte, err error) {
	h := sha256.New()
	switch {
	case name == "notebook":
		data, err = notebook.ReadFile(file)
		h.Write(data)
	case strings.HasPrefix(name, "results/"):
		err = inputfile.CopyLimited(h, file, results.MaxFileSize, results.FileKind)
	default:
		err = inputfile.Copy(h, file)
	}
	if err != nil {
		return "", nil, err
	}
	if !keep {
		data = nil
	}
	return hex.EncodeToString(h.Sum(nil)), data, nil
}

// pageHash is the hash of a page's inputs and of what turns them into the
// page: the site and manifest version, the format, benchbook's version and
// render's fingerprint.
func (b *builder) pageHash(ins []input) string {
	// Length-prefixed fields: no two different lists hash the same. They
	// go into one buffer and are hashed at once, as this runs for every
	// notebook of a no-change rebuild.
	var stack [1024]byte
	buf := stack[:0]
	field := func(name, value string) {
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(name)))
		buf = append(buf, name...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(value)))
		buf = append(buf, value...)
	}
	field("site", manifestVersionText)
	field("format", string(b.opt.Format))
	field("version", b.opt.Version)
	field("render", b.render.Fingerprint)
	for _, in := range ins {
		field(in.Name, in.Sum)
	}
	sum := sha256.Sum256(buf)
	var text [len("sha256:") + 2*sha256.Size]byte
	copy(text[:], "sha256:")
	hex.Encode(text[len("sha256:"):], sum[:])
	return string(text[:])
}

// manifestVersionText is manifestVersion as the page hash has it.
var manifestVersionText = strconv.Itoa(manifestVersion)

// assetsOf lists the assets among a page's inputs.
func assetsOf(ins []input) []string {
	var assets []string
	for _, in := range ins {
		if a, ok := strings.CutPrefix(in.Name, "asset/"); ok {
			assets = append(assets, a)
		}
	}
	return assets
}

// withAssets replaces the assets of a page's inputs.
func (b *builder) withAssets(ins []input, nbPath string, assets []string) []input {
	var out []input
	for _, in := range ins {
		if !strings.HasPrefix(in.Name, "asset/") {
			out = append(out, in)
		}
	}
	dir := filepath.Dir(nbPath)
	for _, a := range assets {
		in, _, _ := b.hashInput("asset/"+a, filepath.Join(dir, filepath.FromSlash(a)), input{}, false, stated{})
		out = append(out, in)
	}
	return out
}
