// Package lint holds checks of benchbook's own source that go vet does not
// make: they run as tests (go test ./internal/lint), so CI enforces them.
package lint
