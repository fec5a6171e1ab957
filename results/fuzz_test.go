package results

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzDecode: a results file is read back from disk, where anyone may have
// edited it. Decode must not panic; a malformed file gives a *DecodeError
// at a line:col of the file (one of a newer schema is refused as such); a file that decodes and encodes again keeps
// encoding to the same bytes (the stored form is canonical).
func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile("testdata/sample.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"schema":1,"cell":"tp","guests":[{"name":"h","status":"ok","points":[{"params":{"c":1e300},"repeats":[{"metrics":{"x":1}}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode("x.json", data)
		if err != nil {
			var de *DecodeError
			if errors.As(err, &de) && !errors.Is(err, ErrNewerSchema) && (de.Pos.Line < 1 || de.Pos.Col < 1 || de.Pos.Line > bytes.Count(data, []byte("\n"))+1) {
				t.Fatalf("decode error at %v of a file of %d bytes", de.Pos, len(data))
			}
			return
		}
		file.Summarize()
		enc, err := Encode(file)
		if err != nil {
			return // e.g. an id that cannot be a file name: refused, not stored
		}
		again, err := Decode("x.json", enc)
		if err != nil {
			t.Fatalf("re-decoding the encoded file: %v\n%s", err, enc)
		}
		enc2, err := Encode(again)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encode is not stable (%v):\n%s\n---\n%s", err, enc, enc2)
		}
	})
}
