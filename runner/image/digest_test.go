package image

import (
	"context"
	"os"
	"testing"
	"time"
)

// Digest names the image Build makes from the same inputs, and writes
// nothing: not even the cache folder.
func TestDigestIsBuilds(t *testing.T) {
	needRedis(t)
	needCloudKernel(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cache := t.TempDir() + "/cache"
	opts := BuildOptions{CacheDir: cache, InitBinary: testInit(t)}
	digest, kernel, err := Digest(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Errorf("Digest made the cache folder (stat: %v)", err)
	}
	im, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if digest != im.Digest || kernel != im.KernelVersion {
		t.Errorf("Digest = %s, %s; Build made %s, %s", digest, kernel, im.Digest, im.KernelVersion)
	}
	other := opts
	other.RedisArgs = append([]string{"--maxmemory", "100mb"}, DefaultRedisArgs...)
	if d, _, err := Digest(ctx, other); err != nil || d == digest {
		t.Errorf("other redis arguments: digest %s (err %v), want one other than %s", d, err, digest)
	}
}
