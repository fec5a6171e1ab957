package load

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"runtime/metrics"
	"testing"

	"github.com/benchbook/benchbook/internal/resp"
)

// The parsers of what load tools print read output benchbook does not
// control: a newer tool version, a tool killed half-way, a server that
// answers garbage. Whatever they get, they must return figures or an error,
// never panic or loop. Seed corpora are in testdata/fuzz/<target>; the
// recorded outputs of real runs are among them.

// FuzzMemtierJSON covers memtier's --json-out-file, histogram included.
func FuzzMemtierJSON(f *testing.F) {
	f.Add([]byte(`{"ALL STATS":{"Runtime":{"Total duration":1000},"Totals":{"Count":1,"Ops/sec":1,"Percentile Latencies":{"p50.00":0.1}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseMemtierJSON(data)
		if err != nil {
			return
		}
		for _, st := range []Stats{m.Totals, m.Sets, m.Gets} {
			for i := 1; i < len(st.Percentiles); i++ {
				if !(st.Percentiles[i-1].P < st.Percentiles[i].P) {
					t.Fatalf("percentiles not strictly ascending: %v", st.Percentiles)
				}
			}
		}
		// The whole-run check on top: exit code, stderr, file.
		parseMemtierRun(0, []byte("Connection error: Connection refused\n"), data)
	})
}

// FuzzRedisBenchmarkCSV covers `redis-benchmark --csv` and the step that
// combines its SET and GET rows.
func FuzzRedisBenchmarkCSV(f *testing.F) {
	f.Add([]byte("\"test\",\"rps\"\n\"SET\",\"1000.00\"\n\"GET\",\"2000.00\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseRedisBenchmarkCSV(bytes.NewReader(data))
		if err != nil {
			if len(rows) != 0 {
				t.Fatalf("rows %v with error %v", rows, err)
			}
			return
		}
		for i := range rows {
			if math.IsNaN(rows[i].rps) || math.IsInf(rows[i].rps, 0) {
				t.Fatalf("row %d: rps %v", i, rows[i].rps)
			}
			rows[i].requests = 1000
		}
		var m Measurement
		if err := redisBenchmarkCombine(&m, rows); err == nil && m.Totals.Ops <= 0 {
			t.Fatalf("combined %d rows into %d ops without an error", len(rows), m.Totals.Ops)
		}
	})
}

// FuzzReadReply covers builtin's RESP reply reader. It reads replies until
// an error, through a 16-byte buffer (bufio's smallest) so that long lines
// take the overflow path, and checks the byte counts add up. A guest's
// server is not trusted: whatever the bytes, a reply is within the bounds
// the load can have asked for (a value of at most data_size bytes) or an
// error, and reading allocates nothing but the error. Seeds: replies of a
// real redis 7 (testdata/fuzz/FuzzReadReply/redis7-*) and hostile ones.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", ":42\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n", "*2\r\n$1\r\na\r\n:1\r\n",
		"-OOM command not allowed when used memory > 'maxmemory'.\r\n",
		"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
		"$99999999999999999\r\nab", "*5\r\n", "?\r\n", "+OK\n",
		"$99999999999999\r\n", "$9223372036854775807\r\n", "*99999999999\r\n", "$9\r\n123456789\r\n", "$40\r\n0123456789012345678901234567890123456789\r\n",
		"$-2\r\n", "$+1\r\na\r\n", "$3\r\nabcde\r\n", "*16\r\n",
	} {
		f.Add([]byte(s))
	}
	const maxBulk = 40 // past the buffer, so both ways of skipping a value run
	f.Fuzz(func(t *testing.T, data []byte) {
		read := func() uint64 {
			r := bufio.NewReaderSize(bytes.NewReader(data), 16)
			total := 0
			before := heapAllocs()
			for {
				kind, n, line, err := readReply(r, maxBulk)
				total += n
				if total > len(data) {
					t.Fatalf("counted %d bytes of %d", total, len(data))
				}
				if err != nil {
					var pe *resp.ProtocolError
					if !errors.As(err, &pe) && err != io.EOF && err != io.ErrUnexpectedEOF {
						t.Fatalf("error %T %v: want a *resp.ProtocolError or the end of the input", err, err)
					}
					break
				}
				if n < 3 {
					t.Fatalf("a reply of %d bytes", n)
				}
				// The longest reply within bounds: an array of 16 arrays of 16
				// values, each a bulk string of maxBulk bytes or a status line.
				elem := max(maxBulk+20, maxReplyLine)
				if max := maxReplyElements*maxReplyElements*elem + (maxReplyElements+1)*20; n > max {
					t.Fatalf("a reply of %d bytes, past the bounds (%d)", n, max)
				}
				if kind == replyError && (len(line) == 0 || line[0] != '-') {
					t.Fatalf("error reply line %q", line)
				}
			}
			return heapAllocs() - before
		}
		// An error message is a few hundred bytes; a value is never read
		// into memory. The count is the whole process's, and the fuzzing
		// engine allocates beside the input now and then (174 KB once,
		// for an input that allocates 1 KB when run alone): the input
		// fails only when a second reading of it allocates as much.
		if allocated := read(); allocated > 64<<10 {
			if again := read(); again > 64<<10 {
				t.Fatalf("allocated %d bytes reading %d (and %d again)", allocated, len(data), again)
			}
		}
	})
}

// heapAllocs is the bytes this process has allocated so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
