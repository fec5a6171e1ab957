package site

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/render"
)

// ManifestFile is the manifest's name in the output folder. Its leading dot
// keeps it out of Hugo's content and most hosts' listings. It is binary, not
// JSON (see manifestcodec.go): a no-change rebuild of a thousand pages
// starts by decoding it. The name is from when it was gob, which a build
// still reads.
const ManifestFile = ".benchbook-site.gob"

// manifestVersion changes when the manifest's meaning changes; a manifest of
// another version is ignored, which means a full rebuild.
//
// 2: entries say whether the notebook has check cells.
// 3: entries list the files of their page folders; builds record what they
// are about to create (Claimed).
// 4: entries list the bench cells whose results their page shows as not
// current (Stale).
const manifestVersion = 4

// manifest is what the previous build made, and from what.
type manifest struct {
	Version int
	Format  Format
	Pages   map[string]*entry // by notebook source path
	// Site has the input hash of the site-level files (index, tags, feed,
	// sitemap) and the list of those files, so tag pages of a tag no longer
	// used can be removed.
	Site siteState
	// Claimed are outputs benchbook made that no entry records: the paths
	// a build was about to create (saved before it creates them, so a build
	// cut short leaves nothing the next one takes for someone else's), and
	// every output of a manifest of another version or format. The next
	// build may replace them, and removes those it does not make again.
	Claimed []string
	// Render is the render fingerprint of the build that wrote the
	// manifest, and the executable it came from (see fingerprint).
	Render fingerprintCache

	loaded bool // read from the output folder, not made up
}

// fingerprintCache remembers renderFingerprint for one executable.
type fingerprintCache struct {
	Exe         string // fileKey of the executable; empty: not to be trusted
	Fingerprint string
}

type siteState struct {
	Hash  string
	Files []string
}

// entry is one notebook of the previous build.
type entry struct {
	Hash string
	Page
	// Inputs are the files the page was made from, with their hashes. The
	// assets among them are the files beside the notebook that the page
	// copied: which files a page copies depends only on the notebook's
	// text, so the list from the last render is the one to hash while the
	// notebook is unchanged.
	Inputs []input
	// ResultsDir is the stat key of the notebook's results folder when its
	// files were listed for Inputs (see builder.resultsFiles); empty when
	// not to be trusted or there was no folder.
	ResultsDir string
	// Outputs are what the page owns in the output folder, slash paths: its
	// folder, and for Jekyll its post. Empty for a draft left out.
	Outputs []string
	// Files are the plots and assets in the page's folder, slash paths
	// relative to it (the format's own pages, index.html and index.md, go
	// without saying). A file in the folder that is not one of them is not
	// benchbook's, and the folder is not replaced or removed over it.
	Files []string
	// Checks is whether the notebook has check cells. Their claims are
	// judged after every build; knowing which notebooks have none spares
	// reading all of them again.
	Checks bool
	// Stale lists the bench cells whose results the page shows as not
	// current (render.Written.Stale), so a build that leaves the page as
	// it was can still say so.
	Stale []string
}

// Published reports whether the entry's page is in the output folder.
func (e *entry) Published() bool { return len(e.Outputs) > 0 }

// manifestFile is the manifest as stored: entries in a slice sorted by
// source, as the same build must write the same bytes.
type manifestFile struct {
	Version int
	Format  Format
	Entries []*entry
	Site    siteState
	Claimed []string
	Render  fingerprintCache
}

// loadManifest reads the manifest of out. A missing or unreadable manifest
// means a full build that owns nothing in the folder yet. A manifest of
// another version or format is trusted for nothing but what it says
// benchbook wrote: its outputs become claims.
func loadManifest(out string, format Format) *manifest {
	empty := &manifest{Version: manifestVersion, Format: format, Pages: map[string]*entry{}}
	f, err := readManifest(filepath.Join(out, ManifestFile))
	if err != nil {
		return empty
	}
	if f.Version != manifestVersion || f.Format != format || slices.ContainsFunc(f.Entries, func(e *entry) bool { return e == nil || e.Source == "" }) {
		empty.Claimed = f.outputs()
		return empty
	}
	m := &manifest{Version: f.Version, Format: f.Format, Pages: make(map[string]*entry, len(f.Entries)), Site: f.Site, Claimed: f.Claimed, Render: f.Render, loaded: true}
	for _, e := range f.Entries {
		m.Pages[e.Source] = e
	}
	return m
}

// readManifest reads a manifest file: benchbook's own encoding, or gob as
// earlier versions wrote it.
func readManifest(name string) (*manifestFile, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte(manifestMagic)) {
		return decodeManifest(data)
	}
	var f manifestFile
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&f); err != nil {
		return nil, err
	}
	return &f, nil
}

// outputs lists every path f says a build wrote, sorted.
func (f *manifestFile) outputs() []string {
	out := slices.Clone(f.Claimed)
	out = append(out, f.Site.Files...)
	for _, e := range f.Entries {
		if e != nil {
			out = append(out, e.Outputs...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sameAs reports whether m records exactly what old does, so a rebuild that
// changed nothing need not encode and compare a thousand entries. Entries
// carried over are the old ones, so comparing pointers suffices.
func (m *manifest) sameAs(old *manifest) bool {
	if !old.loaded || len(m.Pages) != len(old.Pages) || m.Site.Hash != old.Site.Hash || !slices.Equal(m.Site.Files, old.Site.Files) || !slices.Equal(m.Claimed, old.Claimed) || m.Render != old.Render {
		return false
	}
	for k, e := range m.Pages {
		if old.Pages[k] != e {
			return false
		}
	}
	return true
}

func (m *manifest) save(out string) error {
	f := manifestFile{Version: manifestVersion, Format: m.Format, Site: m.Site, Claimed: m.Claimed, Render: m.Render}
	for _, src := range slices.Sorted(maps.Keys(m.Pages)) {
		e := m.Pages[src]
		e.Source = src
		f.Entries = append(f.Entries, e)
	}
	if _, err := atomicfile.WriteIfChanged(filepath.Join(out, ManifestFile), encodeManifest(&f)); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

// safeOutput reports whether a path read from a manifest may be removed: a
// manifest is a file anyone could have edited, and must not be able to make
// a build delete something outside the output folder.
func safeOutput(o string) bool {
	return o != "" && o != "." && filepath.IsLocal(filepath.FromSlash(o)) && !strings.HasPrefix(path.Base(o), ".")
}

// fingerprint is renderFingerprint, or the one the last build recorded
// when this is the same executable file, unchanged since (by fileKey, as
// inputs are trusted): rendering the probe, with chroma compiling its Go
// lexer, was a tenth of a no-change rebuild of a thousand pages.
func (b *builder) fingerprint() fingerprintCache {
	key := ""
	if exe, err := os.Executable(); err == nil {
		key, _ = fileKey(exe, b.started.Add(-statSlack))
	}
	if key != "" && key == b.old.Render.Exe && b.old.Render.Fingerprint != "" {
		return b.old.Render
	}
	return fingerprintCache{Exe: key, Fingerprint: renderFingerprint()}
}

// renderFingerprint stands for render's templates, stylesheet and Markdown
// conventions: the hash of a small probe notebook rendered both ways. A
// build of benchbook that changes how pages look changes it, even when the
// version string ("dev") does not.
//
// TODO: use render.TemplateHash() once render exports one; the probe misses
// changes that only show with stored results (plots, tables).
var renderFingerprint = sync.OnceValue(func() string {
	nb, err := notebook.Parse("probe.toml", []byte(probeNotebook))
	if err != nil {
		return "probe: " + err.Error()
	}
	var out bytes.Buffer
	opt := render.Options{Version: "probe"}
	if err := render.HTML(&out, nb, opt); err != nil {
		return "probe: " + err.Error()
	}
	if err := render.Markdown(&out, nb, opt); err != nil {
		return "probe: " + err.Error()
	}
	sum := sha256.Sum256(out.Bytes())
	return hex.EncodeToString(sum[:])
})

const probeNotebook = `title = "Probe <&>"
date = 2014-11-02
authors = ["A", "B"]
tags = ["t"]
summary = "S"

[guests.g]
kind = "process"
command = ["true"]

[loads.l]
tool = "builtin"

[[cells]]
kind = "markdown"
text = """
## Heading

Text with *emphasis*, ` + "`code`" + `, a [link](https://example.org) and a note.[^1]

| a | b |
|---|--:|
| 1 | 2 |

` + "```go\nfunc main() {}\n```" + `

[^1]: The note.
"""

[[cells]]
kind = "bench"
id = "b"
guests = ["g"]
load = "l"

[[cells]]
kind = "plot"
from = "b"
y = "ops_per_sec"

[[cells]]
kind = "table"
from = "b"
`
