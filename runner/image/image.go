// Package image builds benchbook's built-in Linux micro-VM, "linux-redis":
// Debian's cloud kernel (unpacked to boot through PVH) and an initramfs
// holding the host's redis-server, the shared libraries it links, the
// virtio network modules, and an init of benchbook's own (package
// guestinit). The image needs nothing but qemu to boot, is reproducible
// (same inputs, same bytes) and is cached under its digest.
//
// Nothing here runs a program: libraries come from the ELF dynamic
// sections, modules from modules.dep, and the archive is written in Go.
package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/benchbook/benchbook/runner/image/guestinit"
)

// Names of the built-in images in notebooks (image = "builtin:NAME").
// Name, linux-redis, holds redis-server; NameLinux holds the programs a
// guest lists (programs = [...]), the modules their disks and IO
// schedulers need, and no program the init starts by itself.
const (
	Name      = "linux-redis"
	NameLinux = "linux"
)

// ImageName is the name of a "builtin:NAME" reference, and whether it is
// one of the built-in images.
func ImageName(ref string) (string, bool) {
	name, ok := strings.CutPrefix(ref, "builtin:")
	return name, ok && (name == Name || name == NameLinux)
}

// GuestRedis is where redis-server is in the guest. redis picks its mode
// from argv[0] (Debian's redis-server is a link to redis-check-rdb), so the
// file keeps this name whatever it is called on the host.
const GuestRedis = "/usr/bin/redis-server"

// DefaultRedisArgs follow GuestRedis in the guest; "{port}" becomes the
// port of the kernel command line. No persistence: the guest's disk is RAM.
var DefaultRedisArgs = []string{
	"--port", "{port}", "--bind", "0.0.0.0", "--protected-mode", "no",
	"--save", "", "--appendonly", "no", "--daemonize", "no",
}

// BuildOptions say what goes into the image. The zero value builds from the
// host: the newest cloud kernel, redis-server from PATH, and InitName
// beside the running executable (or the executable itself) as init.
type BuildOptions struct {
	// CacheDir holds built images, one directory per digest. Default:
	// $BENCHBOOK_CACHE/images, else the user cache dir's benchbook/images
	// (~/.cache/benchbook/images).
	CacheDir string
	// KernelVersion is a directory name of /lib/modules. Default: the
	// newest installed Debian cloud kernel (linux-image-cloud-amd64).
	KernelVersion string
	// Kernel is the kernel image. Default /boot/vmlinuz-<KernelVersion>.
	Kernel string
	// BzImage boots Kernel as it is; by default its payload is unpacked
	// so that qemu boots it through PVH (see extractPVH).
	BzImage bool
	// ModulesDir holds modules.dep. Default /lib/modules/<KernelVersion>.
	ModulesDir string
	// Modules to load in the guest, with their dependencies. Default
	// DefaultModules.
	Modules []string
	// RedisServer is the host's redis-server. Default: found on PATH.
	// Only linux-redis needs it (and linux when Programs names it).
	RedisServer string
	// Programs, when not nil, builds NameLinux instead of Name: each a
	// program on PATH or an absolute path, copied at the path it has on
	// the host (so the argv a load runs on the host runs in the guest)
	// with the libraries it links; redis-server goes to GuestRedis and is
	// then the guest's command. Modules gains what the programs need
	// (ProgramModules) and DiskModules.
	Programs []string
	// RedisArgs follow redis-server. Default DefaultRedisArgs.
	RedisArgs []string
	// InitBinary becomes /init. It must call guestinit.Main when
	// guestinit.IsInit (benchbook does, as does ./runner/image/initrd/init).
	// A dynamically linked one comes with its libraries. Default: InitName
	// beside the running executable if it is there, else the running
	// executable itself.
	InitBinary string
	// LibDirs are searched for shared libraries after DT_RPATH and
	// DT_RUNPATH. Default DefaultLibDirs.
	LibDirs []string
}

// Image is a built image in the cache.
type Image struct {
	Name          string // Name
	Digest        string // "sha256:" and 64 hex digits
	Dir           string // the cache directory holding the files below
	Kernel        string // the kernel: an ELF with a PVH entry, or a bzImage (Manifest.KernelFormat)
	Initrd        string // the initramfs, uncompressed newc cpio
	KernelVersion string
	Manifest      Manifest
	Cached        bool // found in the cache, not written by this Build
}

// Manifest describes an image; it is stored beside it as manifest.json.
type Manifest struct {
	Name          string           `json:"name"`
	Digest        string           `json:"digest"`
	KernelVersion string           `json:"kernel_version"`
	KernelFormat  string           `json:"kernel_format"` // KernelPVH or KernelBzImage
	KernelSHA256  string           `json:"kernel_sha256"`
	InitrdSHA256  string           `json:"initrd_sha256"`
	InitrdSize    int64            `json:"initrd_size"`
	Init          guestinit.Config `json:"init"`
	Files         []ManifestFile   `json:"files"`
}

// ManifestFile is one file of the initramfs and where it came from.
type ManifestFile struct {
	Path string `json:"path"`
	From string `json:"from,omitempty"`
	Size int64  `json:"size"`
}

// Facts are the image's properties for stored results.
func (im *Image) Facts() map[string]string {
	f := map[string]string{
		"image":          im.Name,
		"image_digest":   im.Digest,
		"kernel_version": im.KernelVersion,
		"kernel_format":  im.Manifest.KernelFormat,
	}
	if im.Name == NameLinux {
		f["image_programs"] = strings.Join(im.Programs(), " ")
	}
	return f
}

// Programs are the programs the image holds (not the init, libraries or
// modules), as their paths in the guest.
func (im *Image) Programs() []string {
	var out []string
	for _, f := range im.Manifest.Files {
		if strings.Contains(f.Path, "/bin/") || strings.Contains(f.Path, "/sbin/") {
			out = append(out, f.Path)
		}
	}
	return out
}

// Build assembles the image, or finds it in the cache. The initramfs is
// always regenerated (it is cheap) because its digest is what identifies
// the image; it replaces nothing already cached.
func Build(ctx context.Context, opts BuildOptions) (*Image, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", opts.Name(), err)
	}
	im, err := build(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", opts.Name(), err)
	}
	return im, nil
}

// DefaultCacheDir is where images go when BuildOptions.CacheDir is empty.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("BENCHBOOK_CACHE"); d != "" {
		return filepath.Join(d, "images"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set BENCHBOOK_CACHE): %w", err)
	}
	return filepath.Join(d, "benchbook", "images"), nil
}

func (o BuildOptions) withDefaults() (BuildOptions, error) {
	var err error
	if o.CacheDir == "" {
		if o.CacheDir, err = DefaultCacheDir(); err != nil {
			return o, err
		}
	}
	if o.KernelVersion == "" {
		if o.KernelVersion, err = NewestCloudKernel("/boot", "/lib/modules"); err != nil {
			return o, err
		}
	}
	if o.Kernel == "" {
		o.Kernel = "/boot/vmlinuz-" + o.KernelVersion
	}
	if o.ModulesDir == "" {
		o.ModulesDir = "/lib/modules/" + o.KernelVersion
	}
	if o.Programs != nil {
		o.Programs = slices.Compact(slices.Sorted(slices.Values(o.Programs)))
	}
	if o.RedisServer == "" && o.wantsRedis() {
		if o.RedisServer, err = exec.LookPath("redis-server"); err != nil {
			return o, fmt.Errorf("redis-server not found (apt-get install redis-server): %w", err)
		}
	}
	if o.RedisArgs == nil {
		o.RedisArgs = DefaultRedisArgs
	}
	if o.InitBinary == "" {
		if o.InitBinary, err = defaultInit(); err != nil {
			return o, err
		}
	}
	if o.LibDirs == nil {
		o.LibDirs = DefaultLibDirs
	}
	return o, nil
}

// InitName is the small init program that `make build` puts beside
// benchbook (CGO_ENABLED=0 go build -o bin/benchbook-init
// ./runner/image/initrd/init). It is preferred to benchbook itself as /init
// for two reasons: under TCG the guest boots seconds sooner (a third of the
// initramfs to unpack, and no package initialisation of the renderer, the
// plotter and the highlighter in an emulated CPU), and the image digest
// stays the same across benchbook builds that do not change the init.
const InitName = "benchbook-init"

// defaultInit picks /init: InitName beside the executable, else the
// executable itself.
func defaultInit() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the running executable for /init: %w", err)
	}
	return initBeside(exe)
}

func initBeside(exe string) (string, error) {
	exe, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return "", fmt.Errorf("finding the running executable for /init: %w", err)
	}
	sibling := filepath.Join(filepath.Dir(exe), InitName)
	if isStatic(sibling) == nil {
		return sibling, nil
	}
	return exe, nil
}

// initrdFiles collects the initramfs: the archive (not yet written) and
// the manifest entries describing it. A file wanted twice (libc, needed by
// the init and by every program) is added once.
type initrdFiles struct {
	a     *archive
	files []ManifestFile
	seen  map[string]string // guest path -> host path
}

func (c *initrdFiles) add(guest, host string) error {
	name, err := cleanName(guest)
	if err != nil {
		return err
	}
	if prev, ok := c.seen[name]; ok {
		if prev == host {
			return nil
		}
		return fmt.Errorf("initramfs: /%s wanted from both %s and %s", name, prev, host)
	}
	e, err := fileEntry(name, host)
	if err != nil {
		return err
	}
	if err := c.a.add(e); err != nil {
		return err
	}
	c.seen[name] = host
	c.files = append(c.files, ManifestFile{Path: "/" + e.name, From: host, Size: e.size})
	return nil
}

// addProgram adds a program at guest with the libraries it links.
func (c *initrdFiles) addProgram(guest, host string, libDirs []string) error {
	if err := c.add(guest, host); err != nil {
		return err
	}
	libs, err := elfDeps(host, libDirs)
	if err != nil {
		return err
	}
	for _, l := range libs {
		if err := c.add(l.Guest, l.Host); err != nil {
			return err
		}
	}
	return nil
}

// addInit adds /init. A static init goes alone; a dynamically linked one
// (benchbook built by a plain `go build`, whose cgo links libc) brings its
// loader and libraries, as a program does: the kernel runs /init through
// its PT_INTERP like any other executable.
func (c *initrdFiles) addInit(init string, libDirs []string) error {
	if err := isStatic(init); err != nil {
		if !errors.Is(err, errDynamic) {
			return fmt.Errorf("init: %w", err)
		}
		return c.addProgram(guestinit.Path, init, libDirs)
	}
	return c.add(guestinit.Path, init)
}

// contents lists what goes into the initramfs: the archive (not yet
// written) and the manifest entries describing it.
func contents(o BuildOptions) (*archive, guestinit.Config, []ManifestFile, error) {
	c := &initrdFiles{a: newArchive(), seen: map[string]string{}}
	fail := func(err error) (*archive, guestinit.Config, []ManifestFile, error) {
		return nil, guestinit.Config{}, nil, err
	}
	if err := c.addInit(o.InitBinary, o.LibDirs); err != nil {
		return fail(err)
	}
	cfg := guestinit.Config{Version: guestinit.ConfigVersion}
	progs, err := o.programFiles()
	if err != nil {
		return fail(err)
	}
	for _, p := range progs {
		if err := c.addProgram(p.Guest, p.Host, o.LibDirs); err != nil {
			return fail(err)
		}
		if p.Guest == GuestRedis {
			cfg.Command = append([]string{GuestRedis}, o.RedisArgs...)
		}
	}
	mods, err := resolveModules(o.ModulesDir, "/lib/modules/"+o.KernelVersion, o.modules())
	if err != nil {
		return fail(err)
	}
	for _, m := range mods {
		if err := c.add(m.Guest, m.Host); err != nil {
			return fail(err)
		}
		cfg.Modules = append(cfg.Modules, m.Guest)
	}
	if err := c.addSkeleton(cfg); err != nil {
		return fail(err)
	}
	slices.SortFunc(c.files, func(x, y ManifestFile) int { return strings.Compare(x.Path, y.Path) })
	return c.a, cfg, c.files, nil
}

// addSkeleton adds the init's configuration, the mount points, and the
// console the kernel opens for init before any devtmpfs exists (the
// kernel's own built-in initramfs has one too; this one does not rely on
// it).
func (c *initrdFiles) addSkeleton(cfg guestinit.Config) error {
	cfgJSON, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	cfgJSON = append(cfgJSON, '\n')
	if err := c.a.add(bytesEntry(guestinit.ConfigPath, cfgJSON, 0o644)); err != nil {
		return err
	}
	c.files = append(c.files, ManifestFile{Path: guestinit.ConfigPath, Size: int64(len(cfgJSON))})
	for _, d := range []string{"proc", "sys", "dev", "tmp", "root"} {
		if err := c.a.add(archiveEntry{name: d, kind: kindDir, perm: 0o755}); err != nil {
			return err
		}
	}
	return c.a.add(archiveEntry{name: "dev/console", kind: kindCharDev, perm: 0o600, major: 5, minor: 1})
}

// fileEntry is the host file host (symlinks followed) at guest. Files that
// anyone may execute stay executable; every other mode is normalised so the
// host's umask does not leak into the digest.
func fileEntry(guest, host string) (archiveEntry, error) {
	st, err := os.Stat(host)
	if err != nil {
		return archiveEntry{}, err
	}
	if !st.Mode().IsRegular() {
		return archiveEntry{}, fmt.Errorf("%s is not a regular file", host)
	}
	perm := fs.FileMode(0o644)
	if st.Mode().Perm()&0o111 != 0 {
		perm = 0o755
	}
	return archiveEntry{
		name: guest,
		kind: kindFile,
		perm: perm,
		size: st.Size(),
		data: func() (io.ReadCloser, error) { return os.Open(host) },
	}, nil
}

func bytesEntry(name string, b []byte, perm fs.FileMode) archiveEntry {
	return archiveEntry{
		name: name, kind: kindFile, perm: perm, size: int64(len(b)),
		data: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil },
	}
}

func build(ctx context.Context, o BuildOptions) (_ *Image, err error) {
	a, cfg, files, err := contents(o)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	removeStaleStaging(o.CacheDir, time.Hour)
	// Stage in a private directory of the cache (same file system, so the
	// final rename is atomic and concurrent builds never see half an image).
	tmp, err := os.MkdirTemp(o.CacheDir, ".build-")
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = fmt.Errorf("cache: %w", rerr)
		}
	}()

	initrdSum, initrdSize, err := writeHashed(ctx, filepath.Join(tmp, "initrd.img"), func(w io.Writer) error {
		_, err := a.writeTo(w)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("writing initramfs: %w", err)
	}
	kernel, format, err := readKernel(o)
	if err != nil {
		return nil, err
	}
	kernelSum, _, err := writeHashed(ctx, filepath.Join(tmp, "kernel"), func(w io.Writer) error {
		_, err := w.Write(kernel)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("writing kernel: %w", err)
	}

	digest := imageDigest(kernelSum, initrdSum)
	m := Manifest{
		Name:          o.Name(),
		Digest:        digest,
		KernelVersion: o.KernelVersion,
		KernelFormat:  format,
		KernelSHA256:  kernelSum,
		InitrdSHA256:  initrdSum,
		InitrdSize:    initrdSize,
		Init:          cfg,
		Files:         files,
	}
	final := filepath.Join(o.CacheDir, o.Name()+"-"+strings.TrimPrefix(digest, "sha256:")[:24])
	im := &Image{
		Name:          o.Name(),
		Digest:        digest,
		Dir:           final,
		Kernel:        filepath.Join(final, "kernel"),
		Initrd:        filepath.Join(final, "initrd.img"),
		KernelVersion: o.KernelVersion,
		Manifest:      m,
	}
	if complete(final) {
		im.Cached = true
		return im, nil
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "manifest.json"), append(mj, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	// A directory left by a build that died between its files is replaced.
	if _, err := os.Stat(final); err == nil {
		if err := os.RemoveAll(final); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if complete(final) { // another build won the race with the same bytes
			im.Cached = true
			return im, nil
		}
		return nil, fmt.Errorf("cache: %w", err)
	}
	if err := os.Chmod(final, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return im, nil
}

// Kernel formats in the manifest.
const (
	KernelPVH     = "elf-pvh" // the unpacked kernel, booted at its PVH entry
	KernelBzImage = "bzimage" // as installed
)

// readKernel returns the kernel to boot and its format.
func readKernel(o BuildOptions) ([]byte, string, error) {
	bz, err := os.ReadFile(o.Kernel)
	if err != nil {
		return nil, "", fmt.Errorf("kernel: %w (is linux-image-cloud-amd64 installed?)", err)
	}
	if o.BzImage {
		return bz, KernelBzImage, nil
	}
	elfKernel, err := extractPVH(bz)
	if errors.Is(err, errNotExtractable) {
		return bz, KernelBzImage, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("kernel %s: %w", o.Kernel, err)
	}
	return elfKernel, KernelPVH, nil
}

// removeStaleStaging removes staging directories that builds killed
// midway left behind. A live build finishes in seconds, so anything older
// than age is abandoned.
func removeStaleStaging(cache string, age time.Duration) {
	dirs, _ := filepath.Glob(filepath.Join(cache, ".build-*"))
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > age {
			_ = os.RemoveAll(d)
		}
	}
}

// imageDigest names an image by its two boot inputs: the SHA-256 of the
// lines "kernel <sha256 of the kernel>" and "initrd <sha256 of the
// initramfs>". It changes when any byte of either changes.
func imageDigest(kernelSum, initrdSum string) string {
	h := sha256.Sum256([]byte("kernel " + kernelSum + "\ninitrd " + initrdSum + "\n"))
	return "sha256:" + hex.EncodeToString(h[:])
}

func complete(dir string) bool {
	for _, f := range []string{"kernel", "initrd.img", "manifest.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// writeHashed writes a new file at p with fill and returns the SHA-256 (hex)
// and size of what was written. Cancelling ctx stops the copy.
func writeHashed(ctx context.Context, p string, fill func(io.Writer) error) (sum string, size int64, err error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	err = fill(ctxWriter{ctx, cw})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), cw.n, nil
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
