//go:build race

package load

// raceEnabled: the race detector also shuffles the scheduler's run queue,
// so tests of the order goroutines run in do not hold under it.
const raceEnabled = true
