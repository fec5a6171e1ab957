package image

import (
	"context"
	"os/exec"
	"sort"
	"testing"
	"time"
)

func TestScratchFigures(t *testing.T) {
	q, _ := exec.LookPath("qemu-system-x86_64")
	mk := func(init string, bz bool) *Image {
		im, err := Build(context.Background(), BuildOptions{CacheDir: t.TempDir(), InitBinary: init, BzImage: bz})
		if err != nil {
			t.Fatal(err)
		}
		return im
	}
	small := testInit(t)
	cfgs := []struct {
		name string
		im   *Image
		m    Machine
	}{
		{"microvm/pvh", mk(small, false), Microvm},
		{"pc/pvh", mk(small, false), PC},
		{"microvm/bz", mk(small, true), Microvm},
		{"pc/bz", mk(small, true), PC},
		{"microvm/pvh/benchbook-as-init", mk("/tmp/bb-static", false), Microvm},
	}
	res := map[string][]float64{}
	for r := 0; r < 7; r++ {
		for _, c := range cfgs {
			v := bootVM(t, q, c.im, c.m)
			d := v.waitPONG(t)
			v.stop(t)
			res[c.name] = append(res[c.name], d.Seconds())
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, c := range cfgs {
		x := res[c.name]
		sort.Float64s(x)
		t.Logf("%-32s median %.2fs min %.2fs max %.2fs  %v", c.name, x[len(x)/2], x[0], x[len(x)-1], x)
	}
}
