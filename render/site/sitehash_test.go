package site

import (
	"reflect"
	"testing"
	"time"

	"github.com/benchbook/benchbook/render"
)

// leaves calls visit with every settable field of v that holds a value
// (string, number, bool, time), walking into structs and slices, so a test
// can change each in turn.
func leaves(v reflect.Value, path string, visit func(path string, f reflect.Value)) {
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		visit(path, v)
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			leaves(v.Field(i), path+"."+v.Type().Field(i).Name, visit)
		}
	case v.Kind() == reflect.Slice:
		visit(path+"[len]", v)
		for i := range v.Len() {
			leaves(v.Index(i), path+"[]", visit)
		}
	default:
		visit(path, v)
	}
}

// change gives f another value of its kind.
func change(t *testing.T, path string, f reflect.Value) {
	switch {
	case f.Type() == reflect.TypeFor[time.Time]():
		f.Set(reflect.ValueOf(f.Interface().(time.Time).Add(time.Nanosecond)))
	case f.Kind() == reflect.String:
		f.SetString(f.String() + "x")
	case f.Kind() == reflect.Bool:
		f.SetBool(!f.Bool())
	case f.Kind() == reflect.Float64:
		f.SetFloat(f.Float() + 0.5)
	case f.Kind() == reflect.Slice:
		f.Set(reflect.Append(f, reflect.Zero(f.Type().Elem())))
	default:
		t.Fatalf("%s: a %s, which the test cannot change: teach change (and pageDigest) about it", path, f.Type())
	}
}

func samplePage() Page {
	return Page{
		Source: "a.toml", Slug: "a", Title: "A", Date: time.Date(2026, 3, 1, 9, 0, 0, 0, time.FixedZone("", 3600)),
		Authors: []string{"ana"}, Tags: []string{"redis"}, Summary: "s", Draft: true, History: true,
		Regressions: []render.Regression{{Cell: "c", Metric: "m", Trend: "up", Anchor: "cp1", Run: "r", Started: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Before: 1, After: 2, Rel: 1, Unit: "ops/s"}},
	}
}

// TestSiteHashSeesEveryField: the site files are made again only when the
// hash moves, so a field the hash missed would leave the index showing an
// old title, date or regression.
func TestSiteHashSeesEveryField(t *testing.T) {
	opt := Options{BaseURL: "https://example.org/", Title: "T", Version: "v1"}
	sp := samplePage()
	base := siteHash(opt, "fp", []*Page{&sp})
	n := 0
	leaves(reflect.ValueOf(samplePage()), "Page", func(path string, _ reflect.Value) {
		n++
		p := samplePage()
		// Find the same leaf in the copy by walking it again.
		i := 0
		leaves(reflect.ValueOf(&p).Elem(), "Page", func(q string, f reflect.Value) {
			if i++; i == n {
				change(t, q, f)
			}
		})
		if siteHash(opt, "fp", []*Page{&p}) == base {
			t.Errorf("changing %s leaves the site hash as it was", path)
		}
	})
	if n < 20 {
		t.Fatalf("visited %d fields; the walk is broken", n)
	}
}

func TestSiteHashOptionsAndOrder(t *testing.T) {
	a, b := samplePage(), samplePage()
	b.Source, b.Slug = "b.toml", "b"
	opt := Options{BaseURL: "https://example.org/", Title: "T", Version: "v1"}
	base := siteHash(opt, "fp", []*Page{&a, &b})
	if got := siteHash(opt, "fp", []*Page{&b, &a}); got != base {
		t.Errorf("the order of the pages changes the hash")
	}
	for name, h := range map[string]string{
		"base URL":    siteHash(Options{BaseURL: "https://other/", Title: "T", Version: "v1"}, "fp", []*Page{&a, &b}),
		"title":       siteHash(Options{BaseURL: opt.BaseURL, Title: "U", Version: "v1"}, "fp", []*Page{&a, &b}),
		"version":     siteHash(Options{BaseURL: opt.BaseURL, Title: "T", Version: "v2"}, "fp", []*Page{&a, &b}),
		"fingerprint": siteHash(opt, "fp2", []*Page{&a, &b}),
		"one page":    siteHash(opt, "fp", []*Page{&a}),
		"no page":     siteHash(opt, "fp", nil),
	} {
		if h == base {
			t.Errorf("another %s gives the same hash", name)
		}
	}
	// Two lists whose fields run together the same way must differ.
	c, d := samplePage(), samplePage()
	c.Tags, d.Tags = []string{"ab", "c"}, []string{"a", "bc"}
	if siteHash(opt, "fp", []*Page{&c}) == siteHash(opt, "fp", []*Page{&d}) {
		t.Errorf("tags ab,c and a,bc hash the same")
	}
}
