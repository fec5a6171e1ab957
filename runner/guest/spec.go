package guest

import (
	"maps"
	"slices"
	"time"

	"github.com/benchbook/benchbook/notebook"
)

// Spec is a [guests.NAME] table as the runner starts it. Its key tags are
// the declaration of the guest keys of every kind (notebook.KeysOf): kinds
// lists the guest kinds a key applies to (every kind when absent). The
// notebook validates from a generated copy of these declarations
// (notebook/catalog_gen.go, made by the runner's catalog test).
type Spec struct {
	Name string `key:"-"` // the table's name, set by the runner

	Kind         string        `key:"kind" required:"" oneof:"process|qemu|libvirt|host" doc:"process, qemu, libvirt or host"`
	Ready        string        `key:"ready" kinds:"process|qemu|libvirt" default:"redis" pattern:"^(redis|tcp|none|http:/.*|log:.+)$" help:"want \"redis\", \"tcp\", \"http:/PATH\", \"log:REGEX\" or \"none\"" doc:"when the guest is ready for its load: redis (PING answers PONG), tcp (a connection to its port succeeds), http:/PATH (a GET of PATH answers 2xx), log:REGEX (a line of its output or console matches) or none (started is ready)"`
	ReadyTimeout time.Duration `key:"ready_timeout" kinds:"process|qemu|libvirt" min:"1ms" doc:"how long the guest may take to become ready (default 30s for processes, 2m for VMs)"`
	Optional     bool          `key:"optional" default:"false" doc:"when the guest's image or program is missing, skip the guest instead of failing the cell; the report says it was skipped"`
	Description  string        `key:"description" noparam:"" doc:"shown in tables and captions"`

	Command []string          `key:"command" kinds:"process" required:"" doc:"the program and its arguments, in the foreground; {port} is replaced by the port allocated for the run, {dir} by a scratch folder of the repeat's"`
	Env     map[string]string `key:"env" kinds:"process" doc:"extra environment variables"`
	Dir     string            `key:"dir" kinds:"process" doc:"working directory, relative to the notebook, or {dir}"`
	Files   []string          `key:"files" kinds:"process" doc:"files beside the notebook copied into the scratch folder {dir} before the command starts, their {port}, {dir} and {param} references filled in (a config file that must name the port)"`
	DirBase string            `key:"dir_base" kinds:"process|host" doc:"the folder the repeat's scratch folder {dir} is made in (default: the temporary folder); for a disk load, where the disk under test is mounted"`

	Flavor    string    `key:"flavor" kinds:"qemu|libvirt" oneof:"linux|osv|rumprun|raw" doc:"the image's conventions: linux, osv, rumprun or raw (default linux)"`
	Image     string    `key:"image" kinds:"qemu|libvirt" doc:"a built-in image: builtin:linux-redis (redis-server), or builtin:linux (the host programs listed in programs, with their libraries and the kernel modules they need)"`
	Programs  []string  `key:"programs" kinds:"qemu|libvirt" doc:"with image = \"builtin:linux\": the host programs the image holds (names on PATH or absolute paths), copied with the libraries they link, like [\"fio\", \"mkfs.xfs\", \"mkfs.ext4\"]; redis-server among them is started as the guest's server"`
	Kernel    string    `key:"kernel" kinds:"qemu|libvirt" doc:"kernel file, relative to the notebook"`
	Initrd    string    `key:"initrd" kinds:"qemu|libvirt" doc:"initial ramdisk, relative to the notebook"`
	Cmdline   []string  `key:"cmdline" kinds:"qemu|libvirt" type:"string-or-strings" doc:"kernel or application command line"`
	Disk      string    `key:"disk" kinds:"qemu|libvirt" doc:"boot disk (qcow2)"`
	Disks     []string  `key:"disks" kinds:"qemu|libvirt" doc:"extra disks"`
	Memory    string    `key:"memory" kinds:"qemu|libvirt" pattern:"^[1-9][0-9]*[KMGT]?$" help:"want a size like \"256M\" or \"1G\"" doc:"guest memory, like \"256M\" (default: the flavor's)"`
	CPUs      int       `key:"cpus" kinds:"qemu|libvirt" default:"1" min:"1" max:"256" doc:"virtual CPUs"`
	Network   string    `key:"network" kinds:"qemu|libvirt" pattern:"^(auto|user|tap|tap-routed|macvtap|passt|loopback|vhost|bridge:[A-Za-z0-9_.-]+|network:[A-Za-z0-9_.-]+|direct:[A-Za-z0-9_.-]+)$" help:"want \"auto\", \"user\", \"tap\", \"tap-routed\", \"macvtap\", \"passt\", \"loopback\" or \"vhost\" (qemu), or \"user\", \"network:NAME\", \"bridge:NAME\" or \"direct:DEVICE\" (libvirt)" doc:"how the guest is reached (see docs/network.md): for qemu auto (the default: tap as root, else user), user, tap, tap-routed, macvtap, passt, loopback (the load inside the guest, over its loopback: no path) or vhost; for libvirt network:NAME (default network:default), bridge:NAME, direct:DEVICE (a macvtap on that host device) or user"`
	Accel     string    `key:"accel" kinds:"qemu|libvirt" oneof:"auto|kvm|tcg" doc:"auto (the default: KVM when it works here, else TCG; TCG for a remote libvirt), kvm or tcg"`
	Machine   string    `key:"machine" kinds:"qemu|libvirt" oneof:"microvm|pc|q35" doc:"qemu machine type: microvm, pc or q35 (default: the flavor's)"`
	Boot      string    `key:"boot" kinds:"qemu|libvirt" oneof:"per-repeat|per-cell" default:"per-repeat" doc:"per-repeat boots a fresh guest for every repeat; per-cell boots it once per sweep point"`
	GuestPort int       `key:"guest_port" kinds:"qemu|libvirt" min:"1" max:"65535" doc:"the port the server listens on inside the guest (default: the flavor's, 6379 for redis)"`
	URI       string    `key:"uri" kinds:"libvirt" doc:"the libvirt connection URI (default qemu:///system)"`
	QemuArgs  []string  `key:"qemu_args" kinds:"qemu|libvirt" doc:"extra qemu arguments"`
	Scratch   []Scratch `key:"scratch" kinds:"qemu|libvirt" noparam:"" doc:"fresh disks, one sparse file per boot outside the notebook (removed however the run ends), attached as virtio-blk, formatted and mounted by the init of image = \"builtin:linux\" ([[guests.NAME.scratch]] tables)"`
}

// Scratch is one [[guests.NAME.scratch]] table: a disk made for each boot
// and formatted by the guest.
type Scratch struct {
	Size         string   `key:"size" required:"" pattern:"^[1-9][0-9]*[KMGT]?$" help:"want a size like \"2G\" or \"512M\"" doc:"the disk's size, like \"2G\" (a sparse file: only what the guest writes takes room)"`
	FS           string   `key:"fs" default:"ext4" oneof:"ext4|ext4-nojournal|xfs|btrfs|raw" doc:"the file system the guest makes on it: ext4, ext4-nojournal (ext4 without its journal), xfs, btrfs, or raw (the bare block device, /dev/scratchN in the guest)"`
	Mount        string   `key:"mount" default:"/data" pattern:"^/[A-Za-z0-9_./-]*$" help:"want an absolute path in the guest like \"/data\"" doc:"where the guest mounts it"`
	Mkfs         []string `key:"mkfs" doc:"extra options of mkfs, like [\"-m\", \"0\"]"`
	MountOptions []string `key:"mount_options" doc:"mount options, like [\"noatime\"]"`
	Cache        string   `key:"cache" default:"none" oneof:"none|writeback|writethrough|directsync|unsafe" doc:"qemu's cache mode for the disk: none (O_DIRECT on the host), writeback, writethrough, directsync or unsafe"`
	AIO          string   `key:"aio" default:"threads" oneof:"threads|native|io_uring" doc:"qemu's I/O backend for the disk: threads, native (Linux AIO; needs cache none or directsync) or io_uring"`
	Scheduler    string   `key:"scheduler" oneof:"none|mq-deadline|bfq|kyber" doc:"the IO scheduler the guest sets on the disk: none, mq-deadline, bfq or kyber (default: the kernel's choice, recorded)"`
}

// Kinds of guest, in the order users see them.
var kinds = []struct{ name, doc string }{
	{"process", "a program started on the host"},
	{"qemu", "a virtual machine started with qemu"},
	{"libvirt", "a virtual machine run through libvirt"},
	{"host", "this machine itself, with a fresh scratch folder {dir} per repeat, for loads that need no server (fio, sysbench, command)"},
}

// Keys declares every guest key, each with the kinds it applies to. The
// network modes a flavor cannot use come from QemuNetModes, where each
// mode is declared.
func Keys() []notebook.Key {
	keys := notebook.KeysOf(Spec{})
	for i := range keys {
		if keys[i].Name != "network" {
			continue
		}
		for _, m := range QemuNetModes {
			for _, flavor := range slices.Sorted(maps.Keys(m.Refuses)) {
				keys[i].Refuses = append(keys[i].Refuses, notebook.Refusal{Value: m.Name, Key: "flavor", Is: flavor, Why: m.Refuses[flavor]})
			}
		}
	}
	return keys
}

// KindDocs lists the guest kinds with what each is (no keys).
func KindDocs() []notebook.Decl {
	out := make([]notebook.Decl, len(kinds))
	for i, k := range kinds {
		out[i] = notebook.Decl{Name: k.name, Doc: k.doc}
	}
	return out
}

// Decls declares the keys of every guest kind, for the notebook's
// validation, the docs and the schema.
func Decls() []notebook.Decl { return notebook.DeclsByKind(KindDocs(), Keys()) }

// DecodeSpec makes the Spec of a guest table whose params are resolved (as
// notebook.Notebook.GuestValues gives it), checking each value as `check`
// does.
func DecodeSpec(name string, values notebook.Values) (Spec, error) {
	s := Spec{Name: name}
	if err := notebook.Decode(values, &s); err != nil {
		return s, err
	}
	// The pattern checks the shape; a bad regular expression or path only
	// shows here.
	_, err := s.ReadyCheck()
	return s, err
}

// ReadyCheck is the guest's ready key, parsed; a host guest has none to
// wait for.
func (s Spec) ReadyCheck() (Ready, error) {
	if s.Kind == "host" {
		return Ready{Check: ReadyNone}, nil
	}
	return ParseReady(s.Ready)
}
