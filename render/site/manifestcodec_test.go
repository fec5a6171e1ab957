package site

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/internal/varbin"
)

// fill gives every field of v a value of its own: strings and numbers
// that differ, true, times with an offset, and two items in each list.
// A field the codec forgets then comes back zero and fails the test.
func fill(v reflect.Value, n *int) {
	*n++
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, *n, 5, time.FixedZone("", 3600))))
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), n)
		}
	case v.Kind() == reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			if v.Type().Elem().Kind() == reflect.Pointer {
				v.Index(i).Set(reflect.New(v.Type().Elem().Elem()))
				fill(v.Index(i).Elem(), n)
			} else {
				fill(v.Index(i), n)
			}
		}
	case v.Kind() == reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case v.Kind() == reflect.Bool:
		v.SetBool(true)
	case v.Kind() == reflect.Int:
		v.SetInt(int64(*n))
	case v.Kind() == reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	default:
		panic("fill: teach me " + v.Type().String())
	}
}

func filledManifest() *manifestFile {
	var f manifestFile
	n := 0
	fill(reflect.ValueOf(&f).Elem(), &n)
	return &f
}

// TestManifestCodecRoundTrip: every field of a manifest comes back as gob
// gave it back before (times keep their instant and offset).
func TestManifestCodecRoundTrip(t *testing.T) {
	for name, f := range map[string]*manifestFile{
		"every field": filledManifest(),
		"empty":       {Version: manifestVersion, Format: HTML},
		"zero entry":  {Version: manifestVersion, Format: Jekyll, Entries: []*entry{{}}},
	} {
		got, err := decodeManifest(encodeManifest(f))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var viaGob manifestFile
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(f); err != nil {
			t.Fatal(err)
		}
		if err := gob.NewDecoder(&b).Decode(&viaGob); err != nil {
			t.Fatal(err)
		}
		// Times are compared as text: FixedZone makes a new Location each time.
		if g, w := fmt.Sprintf("%+v", flatten(got)), fmt.Sprintf("%+v", flatten(&viaGob)); g != w {
			t.Errorf("%s: decoded\n%s\nwant, as gob gives it,\n%s", name, g, w)
		}
	}
}

// flatten lists a manifest's entries by value, so %+v prints them.
func flatten(f *manifestFile) []any {
	out := []any{f.Version, f.Format, f.Site, f.Claimed, f.Render}
	for _, e := range f.Entries {
		out = append(out, *e)
	}
	return out
}

// TestManifestCodecRejects: a manifest cut short, changed in one byte or
// with a count larger than the file is no manifest: the build starts over,
// as it did for an unreadable gob.
func TestManifestCodecRejects(t *testing.T) {
	good := encodeManifest(filledManifest())
	for i := range len(good) {
		if _, err := decodeManifest(good[:i]); err == nil {
			t.Fatalf("cut to %d of %d bytes: decoded", i, len(good))
		}
		bad := bytes.Clone(good)
		bad[i] ^= 0x40
		if _, err := decodeManifest(bad); err == nil {
			t.Fatalf("byte %d changed: decoded", i)
		}
	}
	// A huge count under a checksum that matches.
	w := &varbin.Writer{Buf: []byte(manifestMagic)}
	w.Varint(manifestVersion)
	for range 6 {
		w.String("")
	}
	w.Uvarint(1 << 40)
	s := sha256.Sum256(w.Buf)
	if _, err := decodeManifest(append(w.Buf, s[:]...)); err == nil {
		t.Fatal("a count of 2^40 entries in a few bytes decoded")
	}
}

// TestManifestGobStillRead: a manifest an earlier benchbook wrote with gob
// is read as it was, so an upgrade renders nothing again.
func TestManifestGobStillRead(t *testing.T) {
	f := filledManifest()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(f); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), ManifestFile)
	nbtest.File(t, p, b.String())
	got, err := readManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", flatten(got)) != fmt.Sprintf("%+v", flatten(mustDecode(t, encodeManifest(f)))) {
		t.Error("the gob manifest reads otherwise than the same manifest encoded anew")
	}
}

func mustDecode(t *testing.T, data []byte) *manifestFile {
	t.Helper()
	f, err := decodeManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func FuzzManifestDecode(f *testing.F) {
	f.Add(encodeManifest(filledManifest()))
	f.Add(encodeManifest(&manifestFile{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest(data)
		if err != nil {
			return
		}
		// What decodes encodes back to the same bytes.
		if again := encodeManifest(m); !bytes.Equal(again, data) {
			t.Fatalf("decoded manifest encodes to other bytes")
		}
	})
}
