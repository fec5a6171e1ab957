package runner

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/libvirttest"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/guest"
)

// twoHostsNotebook is docs/examples/two-libvirt-hosts.toml for the
// second libvirtd at uri, with repeat = 2 and sleep in the images: one
// load inside two builtin:linux guests, "here" on this machine's libvirtd
// and "far" on the other host's, each writing 32 MiB to its scratch disk.
// The far guest's requests and output travel through libvirt's channel
// API, not the guest's network.
func twoHostsNotebook(t *testing.T, uri string) string {
	t.Helper()
	b, err := os.ReadFile("../docs/examples/two-libvirt-hosts.toml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.NewReplacer("qemu+tcp://10.231.0.2/system", uri, "repeat = 5", "repeat = 2", `"dd"]`, `"dd", "sleep"]`).Replace(string(b))
	if !strings.Contains(src, uri) || !strings.Contains(src, "repeat = 2") || !strings.Contains(src, `"sleep"]`) {
		t.Fatalf("docs/examples/two-libvirt-hosts.toml changed shape:\n%s", src)
	}
	return src
}

// remoteHost starts the second libvirtd (another machine, over qemu+tcp)
// and points TMPDIR at a folder libvirtd's qemu may enter, for the local
// guest's run folder.
func remoteHost(t *testing.T) (*libvirttest.Remote, string) {
	t.Helper()
	needVM(t)
	libvirttest.Need(t)
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed (apt-get install e2fsprogs)")
	}
	staticInit(t) // before TMPDIR moves: the init is shared by the package's tests
	tmp := libvirttest.EnterableTMPDIR(t)
	r := libvirttest.NeedRemote(t)
	return r, tmp
}

// TestRemoteLibvirtInside runs the command load inside a guest of this
// machine's libvirtd and inside one of a second host's (qemu+tcp), each on
// its scratch disk: both record load_at = guest, the far guest's exec port
// is libvirt's channel, and neither host keeps a domain or volume.
func TestRemoteLibvirtInside(t *testing.T) {
	r, tmp := remoteHost(t)
	src := twoHostsNotebook(t, r.URI)
	store := runVM(t, src, staticInit(t), 15*time.Minute, nil)
	f, err := store.Load("write")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"here", "far"} {
		g := f.Guest(name)
		if g == nil || g.Status != results.StatusOK {
			t.Fatalf("%s: %+v", name, g)
		}
		if g.Facts["load_at"] != "guest" || g.Facts["scratch_fs"] != "ext4" {
			t.Errorf("%s: load_at %q, scratch_fs %q", name, g.Facts["load_at"], g.Facts["scratch_fs"])
		}
		if cmd := g.Commands[len(g.Commands)-1]; !strings.HasPrefix(cmd, "dd ") {
			t.Errorf("%s: load command %q", name, cmd)
		}
		var walls []float64
		for _, rep := range g.Points[0].Repeats {
			walls = append(walls, rep.Metrics["wall_ms"])
		}
		t.Logf("%s (%s): dd of 32 MiB inside, wall %v ms; exec port %q", name, g.Facts["uri"], walls, g.Facts["exec_port"])
	}
	far := f.Guest("far")
	if far.Facts["uri"] != r.URI || !strings.Contains(far.Facts["exec_port"], "libvirt channel") || far.Facts["hypervisor_uuid"] == "" {
		t.Errorf("far: uri %q, exec_port %q, hypervisor_uuid %q", far.Facts["uri"], far.Facts["exec_port"], far.Facts["hypervisor_uuid"])
	}
	if !strings.Contains(far.Facts["domain_xml"], guest.LibvirtPoolDir+"/") {
		t.Errorf("far: the scratch disk is no volume of the remote pool:\n%s", far.Facts["domain_xml"])
	}
	assertHostsClean(t, r, tmp)
}

// TestCancelRemoteLibvirtLoad cancels a run while the load runs inside the
// far guest: the run writes nothing, and the remote host keeps no domain,
// volume, qemu or connection of benchbook's.
func TestCancelRemoteLibvirtLoad(t *testing.T) {
	r, tmp := remoteHost(t)
	src := twoHostsNotebook(t, r.URI)
	src = strings.NewReplacer(`guests = ["here", "far"]`, `guests = ["far"]`, `baseline = "here"`, "",
		`command = ["dd", "if=/dev/zero", "of=/data/f", "bs=1M", "count=32", "oflag=direct"]`, `command = ["sleep", "120"]`).Replace(src)
	if !strings.Contains(src, `["sleep", "120"]`) || !strings.Contains(src, `guests = ["far"]`) {
		t.Fatalf("docs/examples/two-libvirt-hosts.toml changed shape:\n%s", src)
	}
	nb, store := writeNotebook(t, t.TempDir(), src)
	var out bytes.Buffer
	opt := vmOpts(t, &out, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{}, 1)
	var cancelled time.Time
	opt.Trace = func(ev string) {
		if ev == "load-started" {
			started <- struct{}{}
			time.AfterFunc(2*time.Second, func() { cancelled = time.Now(); cancel() })
		}
	}
	done := make(chan error, 1)
	go func() { _, err := Run(ctx, nb, store, opt); done <- err }()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Minute):
		t.Fatal("Run did not return after cancel")
	}
	select {
	case <-started:
	default:
		t.Fatalf("the load never started: %v\n%s", err, out.String())
	}
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	t.Logf("Run returned %s after the cancel", time.Since(cancelled).Round(time.Millisecond))
	if _, err := store.Load("write"); err == nil {
		t.Error("a cancelled run stored results")
	}
	assertHostsClean(t, r, tmp)
}

// assertHostsClean checks that neither libvirtd keeps a domain of the
// notebook's, the remote pool no volume, no qemu of it runs, no run folder
// is left here, and no connection to the remote daemon stays open.
func assertHostsClean(t *testing.T, r *libvirttest.Remote, tmp string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// nbtest.Write names the notebook nb.toml: its domains are named after "nb".
	prefix := strings.TrimSuffix(guest.DomainName("nb", "write", "x", 0), "x-0")
	for _, uri := range []string{guest.DefaultLibvirtURI, r.URI} {
		if b, _ := exec.CommandContext(ctx, "virsh", "-c", uri, "list", "--all", "--name").Output(); strings.Contains(string(b), prefix) {
			t.Errorf("domains left on %s:\n%s", uri, b)
		}
	}
	if b, _ := exec.CommandContext(ctx, "virsh", "-c", r.URI, "vol-list", guest.LibvirtPool).CombinedOutput(); strings.Contains(string(b), prefix) {
		t.Errorf("volumes left on the remote:\n%s", b)
	}
	if b, err := exec.CommandContext(ctx, "pgrep", "-a", "-f", "guest="+prefix).Output(); err == nil && len(b) > 0 {
		t.Errorf("qemu left running:\n%s", b)
	}
	if b, _ := exec.CommandContext(ctx, "ss", "-tnH", "state", "established", "dst", r.Host).Output(); len(bytes.TrimSpace(b)) > 0 {
		t.Errorf("connections to the remote daemon left open:\n%s", b)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "bb-libvirt-run-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
