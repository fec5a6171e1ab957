package nbtest

import (
	"fmt"
	"strings"
)

// RedisNoDisk is the command of a redis-server guest on the port benchbook
// gives it, bound to loopback and writing nothing to disk: what the tests
// that run a real load start, so a run leaves no dump behind.
const RedisNoDisk = `["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]`

// BenchCell is the TOML of bench cell id measuring guests under load, repeat
// times; repeat 0 leaves the key out, so the notebook's default holds.
// Tests that build a notebook from parts append their own keys (sweep,
// retry, placement) after it.
func BenchCell(id, load string, repeat int, guests ...string) string {
	q := make([]string, len(guests))
	for i, g := range guests {
		q[i] = fmt.Sprintf("%q", g)
	}
	s := fmt.Sprintf("[[cells]]\nkind = \"bench\"\nid = %q\nguests = [%s]\nload = %q\n", id, strings.Join(q, ", "), load)
	if repeat != 0 {
		s += fmt.Sprintf("repeat = %d\n", repeat)
	}
	return s
}

// ProcessGuest is the TOML of process guest name started by command (a
// TOML array, or a placeholder the test replaces later).
func ProcessGuest(name, command string) string {
	return fmt.Sprintf("[guests.%s]\nkind = \"process\"\ncommand = %s\n", name, command)
}
