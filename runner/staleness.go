package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/benchbook/benchbook/internal/machine"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/image"
	"github.com/benchbook/benchbook/runner/load"
)

// Environment staleness. A cell's stored results are stale (environment)
// when what they were measured with differs from what this machine has
// now: the CPU model, the kernel, the load tool's version, and per guest
// the server's version, qemu's, the built-in image's digest and kernel, or
// the digest of a VM's kernel, initrd or disk file. Only facts both sides
// know are compared (results.CompareEnv), so results from before a fact
// was recorded are not stale for lack of it.
//
// Finding what this machine has runs version probes (redis-server
// --version, qemu-system-x86_64 --version, the load tools' own) and reads
// files (the built-in image's inputs, disk images); it starts no guest.
// The runner and `benchbook status` do it; rendering never does.

// StatusOptions say how Status finds what this machine has.
type StatusOptions struct {
	// Image is how the built-in image would be built now (as
	// Options.Image): its digest is computed from the same inputs.
	Image image.BuildOptions
}

// Status is State with the environment compared: for every bench cell with
// stored results, how what they were measured with differs from this
// machine now (CellState.Env), and which recorded facts cannot be told
// here (CellState.Unchecked). A fresh cell whose environment differs is
// KindStaleEnv.
func Status(ctx context.Context, nb *notebook.Notebook, store results.Store, opt StatusOptions) []CellState {
	p := newProber(opt.Image)
	states := State(nb, store)
	for i := range states {
		p.check(ctx, nb, &states[i])
	}
	return states
}

// check compares the stored run of st's cell with this machine.
func (p *prober) check(ctx context.Context, nb *notebook.Notebook, st *CellState) {
	if st.file == nil {
		return
	}
	old := st.file.Environment()
	now, failed := p.current(ctx, nb, nb.Bench(st.Cell))
	st.Env = results.CompareEnv(old, now)
	st.Unchecked = unchecked(old, now, failed)
	if len(st.Env) > 0 && st.Kind == KindFresh {
		st.Kind = KindStaleEnv
		st.Reason = "environment changed since the stored run: " + results.JoinEnvDiffs(st.Env)
	}
}

// unchecked lists the facts of old that this machine could not tell, as
// "what (guest): why", the facts of one reason together.
func unchecked(old, now, failed results.Environment) []string {
	var reasons []string
	keys := map[string][]string{}
	for _, k := range old.Keys() {
		why, ok := failed[k]
		if _, known := now[k]; known || !ok {
			continue
		}
		if keys[why] == nil {
			reasons = append(reasons, why)
		}
		keys[why] = append(keys[why], describeKey(k))
	}
	out := make([]string, len(reasons))
	for i, why := range reasons {
		out[i] = strings.Join(keys[why], ", ") + ": " + why
	}
	return out
}

func describeKey(k results.EnvKey) string {
	if k.Guest == "" {
		return k.What
	}
	return k.What + " (" + k.Guest + ")"
}

// prober finds out what this machine has now, each thing once per prober:
// a status of many cells, or one run, probes a program or hashes a file
// only once.
type prober struct {
	image image.BuildOptions
	memo  map[string]probed
	env   *results.Env

	images map[string]probedImage // the built-in images', once asked, by options
}

type probed struct {
	v   string
	err error
}

func newProber(im image.BuildOptions) *prober {
	return &prober{image: im, memo: map[string]probed{}, images: map[string]probedImage{}}
}

func (p *prober) once(key string, f func() (string, error)) (string, error) {
	if r, ok := p.memo[key]; ok {
		return r.v, r.err
	}
	v, err := f()
	p.memo[key] = probed{v, err}
	return v, err
}

// current is what this machine has now for cell c, keyed as the stored
// results key theirs (both go through results.File.Environment), and why
// the facts that could not be found are missing, keyed the same way.
func (p *prober) current(ctx context.Context, nb *notebook.Notebook, c *notebook.Cell) (now, failed results.Environment) {
	if p.env == nil {
		env := machine.Collect(ctx, "")
		p.env = &env
	}
	nowF := &results.File{Env: results.Env{CPUModel: p.env.CPUModel, Kernel: p.env.Kernel, Tools: map[string]string{}}}
	failF := &results.File{Env: results.Env{CPUModel: "unknown", Tools: map[string]string{}}}
	cr := &cellRun{run: &run{nb: nb}, cell: c, points: sweepPoints(c.Sweep)}
	if tool, err := cr.tool(); err == nil {
		if v, err := p.once("tool "+tool, func() (string, error) { return load.Available(tool) }); err != nil {
			failF.Env.Tools[tool] = firstLine(err)
		} else {
			nowF.Env.Tools[tool] = v
		}
	}
	for _, name := range c.Guests {
		spec, err := cr.envSpec(name)
		if err != nil {
			continue
		}
		facts, why := p.guestFacts(ctx, spec, cr.path, true)
		nowF.Guests = append(nowF.Guests, results.Guest{Name: name, Facts: facts})
		failF.Guests = append(failF.Guests, results.Guest{Name: name, Facts: why})
	}
	return nowF.Environment(), failF.Environment()
}

// tool is the cell's load tool, as prepare finds it.
func (cr *cellRun) tool() (string, error) {
	values, _, err := cr.nb.LoadValues(cr.cell.Load, cr.vars(nil, nil))
	if err != nil {
		return "", err
	}
	return load.Check(values)
}

// envSpec is guest name's table as the first repeat of the cell resolves
// it (its first sweep point), which is when its facts are recorded.
func (cr *cellRun) envSpec(name string) (guest.Spec, error) {
	return cr.guestSpec(name, cr.vars(cr.points[0], map[string]any{"guest": name}))
}

// recordEnvFacts adds to each started guest's facts those staleness
// compares that its launcher does not record: a known program's version,
// the digests of a VM's kernel, initrd and disk files. A fact the guest
// recorded itself (redis_version from INFO, the built-in image's digest)
// is kept: it was read from the guest that ran.
func (cr *cellRun) recordEnvFacts(ctx context.Context) {
	if cr.probe == nil {
		cr.probe = newProber(cr.opt.Image)
	}
	for i := range cr.file.Guests {
		g := &cr.file.Guests[i]
		if g.Facts == nil {
			continue // never started
		}
		spec, err := cr.envSpec(g.Name)
		if err != nil {
			continue
		}
		facts, _ := cr.probe.guestFacts(ctx, spec, cr.path, false)
		for k, v := range facts {
			if _, ok := g.Facts[k]; !ok {
				g.Facts[k] = v
			}
		}
	}
}

// guestFacts are the environment facts of a guest on this machine now,
// named as a run records them, and for those it could not find, why. all
// adds the facts launchers record themselves (qemu's version, the
// built-in image's), which a run need not probe again.
func (p *prober) guestFacts(ctx context.Context, spec guest.Spec, path func(string) string, all bool) (facts, failed map[string]string) {
	facts, failed = map[string]string{}, map[string]string{}
	put := func(key, v string, err error) {
		if err != nil {
			failed[key] = firstLine(err)
			return
		}
		facts[key] = v
	}
	label := func(key, v string) { facts[key], failed[key] = v, v }
	switch spec.Kind {
	case "process":
		if len(spec.Command) == 0 {
			return facts, failed
		}
		prog := spec.Command[0]
		known, ok := knownPrograms[baseName(prog)]
		if !ok || strings.Contains(prog, "{") {
			return facts, failed
		}
		label(results.FactProgram, baseName(prog))
		v, err := p.programVersion(ctx, prog)
		put(known.fact, v, err)
	case "qemu", "libvirt":
		if all && spec.Kind == "qemu" {
			v := guest.QemuVersion()
			put(results.FactQemuVersion, v, nonEmpty(v, guest.QemuBinary+" --version told no version"))
		}
		if spec.Image != "" {
			if all {
				p.imageFacts(ctx, imageOptions(p.image, spec), label, put)
			}
			return facts, failed
		}
		for role, file := range map[string]string{"kernel": spec.Kernel, "initrd": spec.Initrd, "disk": spec.Disk} {
			if file == "" {
				continue
			}
			label(role+"_file", file)
			v, err := p.fileDigest(ctx, path(file))
			put(role+"_digest", v, err)
		}
	}
	return facts, failed
}

// imageFacts are the built-in image's: its digest and kernel as Build
// would make them now, and the version of the host's redis-server that it
// holds.
func (p *prober) imageFacts(ctx context.Context, o image.BuildOptions, label func(k, v string), put func(k, v string, err error)) {
	label(results.FactImage, o.Name())
	id := imageKey(o)
	pi, ok := p.images[id]
	if !ok {
		pi.digest, pi.kernel, pi.err = image.Digest(ctx, o)
		p.images[id] = pi
	}
	put(results.FactImageDigest, pi.digest, pi.err)
	put(results.FactKernelVersion, pi.kernel, pi.err)
	if o.Programs != nil && !slices.Contains(o.Programs, "redis-server") {
		return
	}
	redis := o.RedisServer
	if redis == "" {
		redis = "redis-server"
	}
	v, err := p.programVersion(ctx, redis)
	put(results.FactRedisVersion, v, err)
}

// probedImage is what Digest said of one built-in image.
type probedImage struct {
	digest, kernel string
	err            error
}

func nonEmpty(v, why string) error {
	if v == "" {
		return errors.New(why)
	}
	return nil
}

func baseName(prog string) string { return prog[strings.LastIndexByte(prog, '/')+1:] }

// knownPrograms are the servers whose version benchbook asks for (their
// flag, where the version is in what they print, and the fact it goes
// in). Another program is not run with a flag benchbook cannot know the
// effect of: its version is not recorded, and only the rest of its
// environment is compared.
var knownPrograms = map[string]struct {
	args []string
	re   *regexp.Regexp
	fact string
}{
	"redis-server": {[]string{"--version"}, regexp.MustCompile(`\bv=(\S+)`), results.FactRedisVersion},
	"nginx":        {[]string{"-v"}, regexp.MustCompile(`nginx/(\S+)`), results.FactProgramVersion},
	"memcached":    {[]string{"--version"}, regexp.MustCompile(`(?m)^memcached (\S+)`), results.FactProgramVersion},
	"iperf3":       {[]string{"--version"}, regexp.MustCompile(`(?m)^iperf (\S+)`), results.FactProgramVersion},
}

// probeTimeout bounds one version probe.
const probeTimeout = 10 * time.Second

// programVersion runs a known program's version flag and reads its answer.
func (p *prober) programVersion(ctx context.Context, prog string) (string, error) {
	return p.once("program "+prog, func() (string, error) {
		known := knownPrograms[baseName(prog)]
		path, err := lookPath(prog)
		if err != nil {
			return "", fmt.Errorf("%s not found", prog)
		}
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, known.args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = time.Second
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out // nginx -v answers on stderr
		err = cmd.Run()
		if m := known.re.FindSubmatch(out.Bytes()); m != nil {
			return string(m[1]), nil
		}
		return "", fmt.Errorf("%s %s: no version in its output (%v)", prog, strings.Join(known.args, " "), err)
	})
}

// fileDigest is "sha256:" and the hex SHA-256 of the file at path.
func (p *prober) fileDigest(ctx context.Context, path string) (string, error) {
	return p.once("file "+path, func() (string, error) {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
			return "", fmt.Errorf("digest of %s: %w", path, err)
		}
		return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
	})
}

// ctxReader stops a long read (a disk image of gigabytes) when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
