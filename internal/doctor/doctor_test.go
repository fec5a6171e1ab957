package doctor

import (
	"context"
	"testing"
	"time"
)

func TestVersionOf(t *testing.T) {
	tests := map[string]string{
		"Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=c4b52b4c4a2a8ad4": "7.0.15",
		"redis-benchmark 7.0.15": "7.0.15",
		"memtier_benchmark 2.1.0\nCopyright (C) 2011-2024 Redis Ltd.":       "2.1.0",
		"QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u16)":       "7.2.19",
		"hugo v0.111.3+extended linux/amd64 BuildDate=2023-03-16T08:41:31Z": "0.111.3",
		"no digits here": "",
	}
	for in, want := range tests {
		if got := versionOf(in); got != want {
			t.Errorf("versionOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// redis-server is installed by make setup, so doctor must find it here.
func TestCheckFindsRedis(t *testing.T) {
	for _, f := range Check(context.Background(), 5*time.Second) {
		if f.Name != "redis-server" {
			continue
		}
		if f.Path == "" || f.Version == "" {
			t.Fatalf("redis-server: %+v", f)
		}
		return
	}
	t.Fatal("redis-server not in the list")
}
