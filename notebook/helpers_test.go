package notebook

import "strings"

// redisProcesses is the [guests] section that most test notebooks share:
// each named guest a local redis-server process, so a test notebook states
// only what sets it apart.
func redisProcesses(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString("[guests." + n + "]\nkind = \"process\"\ncommand = [\"redis-server\", \"--port\", \"{port}\"]\n")
	}
	return b.String()
}
