package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

var vocabulary = strings.Fields(`
latency throughput redis guest kernel scheduler queue request server client
network bridge virtio packet buffer cache memory page filesystem journal
ext4 xfs write read flush barrier device block sector disk unikernel osv
rumprun qemu libvirt host machine benchmark median percentile spread run
repeat sample measure result figure table plot baseline variance outlier
the a an of to in on for with by from as at and or but not is are was were
be been this that these those it its we our they their each every some most
more less than then when while because so which what how why where again
fast slow steady noisy warm cold small large long short early late first
last next same other different whole single double half quarter per second
millisecond microsecond thread core socket interrupt poll wait lock mutex
path copy zero offset header payload frame ring descriptor vector queueing
tail head load pressure burst idle busy contention fairness priority
`)

var tagSet = []string{"redis", "storage", "network", "kernel", "unikernel", "qemu", "filesystems", "latency", "conference", "tuning"}

// generate writes n notebooks into nbDir and the same pages as Markdown
// into a Hugo site at hugoDir. The corpus is the same for a given n.
func generate(nbDir, hugoDir string, n int) error {
	posts := filepath.Join(hugoDir, "content", "posts")
	for _, d := range []string{nbDir, posts, filepath.Join(hugoDir, "layouts", "_default")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for name, body := range hugoSite {
		if err := os.WriteFile(filepath.Join(hugoDir, filepath.FromSlash(name)), []byte(body), 0o644); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	base := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		title := capitalize(sentence(rng, 4, 8))
		date := base.AddDate(0, 0, i).Format("2006-01-02")
		tags := []string{tagSet[i%len(tagSet)], tagSet[(i*7+3)%len(tagSet)]}
		summary := capitalize(sentence(rng, 12, 20)) + "."
		cells := []string{
			"## " + capitalize(sentence(rng, 3, 6)) + "\n\n" + paragraphs(rng, 4),
			"## " + capitalize(sentence(rng, 3, 6)) + "\n\n" + paragraphs(rng, 2) + "\n" + table(rng) + "\n" + paragraphs(rng, 2),
			"## " + capitalize(sentence(rng, 3, 6)) + "\n\n" + paragraphs(rng, 2) + "\n" + codeBlock(i) + "\n" + paragraphs(rng, 1),
		}

		var nb strings.Builder
		fmt.Fprintf(&nb, "title   = %q\ndate    = %s\ntags    = [%q, %q]\nsummary = %q\n", title, date, tags[0], tags[1], summary)
		for _, c := range cells {
			fmt.Fprintf(&nb, "\n[[cells]]\nkind = \"markdown\"\ntext = \"\"\"\n%s\"\"\"\n", c)
		}
		slug := fmt.Sprintf("note-%04d", i)
		if err := os.WriteFile(filepath.Join(nbDir, slug+".toml"), []byte(nb.String()), 0o644); err != nil {
			return err
		}

		var md strings.Builder
		fmt.Fprintf(&md, "---\ntitle: %q\ndate: %s\ntags: [%q, %q]\nsummary: %q\n---\n", title, date, tags[0], tags[1], summary)
		for _, c := range cells {
			md.WriteString("\n" + c)
		}
		if err := os.WriteFile(filepath.Join(posts, slug+".md"), []byte(md.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hugoSite is a minimal Hugo site that does what a benchbook site does: a
// page per post, a home page listing them all, tag pages, a feed and a
// sitemap (Hugo's built-in RSS and sitemap templates).
var hugoSite = map[string]string{
	"hugo.toml": `baseURL = "https://example.org/"
title = "Benchmark reports"
[outputs]
home = ["HTML", "RSS"]
[taxonomies]
tag = "tags"
`,
	"layouts/_default/baseof.html": `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body>{{ block "main" . }}{{ end }}</body></html>
`,
	"layouts/_default/single.html": `{{ define "main" }}<article><h1>{{ .Title }}</h1>
<p><time>{{ .Date.Format "2 January 2006" }}</time></p>
<ul>{{ range .Params.tags }}<li>{{ . }}</li>{{ end }}</ul>
{{ .Content }}</article>{{ end }}
`,
	"layouts/_default/list.html": `{{ define "main" }}<h1>{{ .Title }}</h1><ol>
{{ range .Pages.ByDate.Reverse }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time>{{ .Date.Format "2006-01-02" }}</time><p>{{ .Summary }}</p></li>
{{ end }}</ol>{{ end }}
`,
	"layouts/index.html": `{{ define "main" }}<h1>{{ .Site.Title }}</h1><ol>
{{ range (where .Site.RegularPages "Section" "posts").ByDate.Reverse }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> <time>{{ .Date.Format "2006-01-02" }}</time><p>{{ .Params.summary }}</p></li>
{{ end }}</ol>{{ end }}
`,
}

func sentence(rng *rand.Rand, lo, hi int) string {
	n := lo + rng.IntN(hi-lo+1)
	words := make([]string, n)
	for i := range words {
		words[i] = vocabulary[rng.IntN(len(vocabulary))]
	}
	return strings.Join(words, " ")
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// paragraphs writes n paragraphs of about 90 words, with some inline
// markup, as prose has.
func paragraphs(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		for s := range 6 {
			if s > 0 {
				b.WriteByte(' ')
			}
			text := capitalize(sentence(rng, 10, 20))
			switch rng.IntN(6) {
			case 0:
				text += " with *" + sentence(rng, 1, 3) + "*"
			case 1:
				text += " using `" + vocabulary[rng.IntN(len(vocabulary))] + "`"
			}
			b.WriteString(text + ".")
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

func table(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("| guest | ops/s | p50 (µs) | p99 (µs) |\n|---|--:|--:|--:|\n")
	for _, g := range []string{"host", "linux", "osv", "rumprun", "docker"} {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", g, 50000+rng.IntN(150000), 50+rng.IntN(200), 300+rng.IntN(2000))
	}
	return b.String()
}

func codeBlock(i int) string {
	return fmt.Sprintf("```go\n"+`package main

import "fmt"

// run %d measures nothing at all.
func main() {
	total := 0
	for i := 0; i < %d; i++ {
		total += i * i
	}
	fmt.Println("total", total)
}
`+"```\n", i, 1000+i)
}
