package main

import "testing"

// verify writes its medians as reports do: the unit the tool declared,
// prefixed for times and data (results.Scale).
func TestVerifyFigure(t *testing.T) {
	for _, tt := range []struct {
		unit string
		v    float64
		want string
	}{
		{"ops/s", 61234.4, "61,234 ops/s"},
		{"µs", 160.2, "160 µs"},
		{"µs", 14143, "14.1 ms"},
		{"bytes/s", 123456789, "123 MB/s"},
		{"IO/s", 8726, "8,726 IO/s"},
		{"", 7, "7.00"},
	} {
		if got := figure(tt.unit, tt.v); got != tt.want {
			t.Errorf("figure(%q, %g) = %q, want %q", tt.unit, tt.v, got, tt.want)
		}
	}
}
