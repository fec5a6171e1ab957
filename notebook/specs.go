package notebook

import (
	"cmp"
	"fmt"
	"time"
)

// GuestSpec is a guest table with its {param} references resolved.
type GuestSpec struct {
	Name         string
	Kind         string
	Description  string
	Optional     bool
	ReadyTimeout time.Duration

	// process
	Command []string
	Env     map[string]string
	Dir     string

	// qemu and libvirt
	Flavor    string
	Image     string
	Kernel    string
	Initrd    string
	Cmdline   []string
	Disk      string
	Disks     []string
	Memory    string
	CPUs      int
	Network   string
	Accel     string
	Machine   string
	Boot      string
	GuestPort int
	URI       string
	QemuArgs  []string
}

// Guest returns the typed guest name with references resolved from vars
// (params plus runtime variables such as "port").
func (nb *Notebook) Guest(name string, vars map[string]any) (GuestSpec, error) {
	t, ok := nb.Guests[name]
	if !ok {
		return GuestSpec{}, fmt.Errorf("no guest %q", name)
	}
	m, _ := Resolve(t.Values, vars).(map[string]any)
	g := getter{m: m, where: "guest " + name}
	s := GuestSpec{
		Name:         name,
		Kind:         g.str("kind"),
		Description:  g.str("description"),
		Optional:     g.bool("optional"),
		ReadyTimeout: g.duration("ready_timeout"),
		Command:      g.strs("command"),
		Env:          g.strMap("env"),
		Dir:          g.str("dir"),
		Flavor:       g.str("flavor"),
		Image:        g.str("image"),
		Kernel:       g.str("kernel"),
		Initrd:       g.str("initrd"),
		Cmdline:      g.strs("cmdline"),
		Disk:         g.str("disk"),
		Disks:        g.strs("disks"),
		Memory:       g.str("memory"),
		CPUs:         g.int("cpus"),
		Network:      g.str("network"),
		Accel:        g.str("accel"),
		Machine:      g.str("machine"),
		Boot:         g.str("boot"),
		GuestPort:    g.int("guest_port"),
		URI:          g.str("uri"),
		QemuArgs:     g.strs("qemu_args"),
	}
	return s, g.err
}

// LoadValues returns the load table called name with its references
// resolved from vars, and the declaration of its tool. The values are
// those the runner decodes (load.Decode) into what it runs: a value that
// reached a key through a param was checked by Parse like a written one.
func (nb *Notebook) LoadValues(name string, vars map[string]any) (Values, *Decl, error) {
	t, ok := nb.Loads[name]
	if !ok {
		return nil, nil, fmt.Errorf("no load %q", name)
	}
	m, _ := Resolve(t.Values, vars).(map[string]any)
	tool, _ := m["tool"].(string)
	d := LoadTool(cmp.Or(tool, defaultLoadTool))
	if d == nil {
		return nil, nil, fmt.Errorf("load %s: unknown tool %q (want one of %s)", name, tool, quoteList(LoadTools()))
	}
	return Values(m), d, nil
}

// Values is a table with its {param} references resolved. Its getters
// return the zero value for an absent key or one of another type.
type Values map[string]any

// String returns the string value of key.
func (v Values) String(key string) string { s, _ := v[key].(string); return s }

// Int returns the integer value of key.
func (v Values) Int(key string) int { n, _ := v[key].(int64); return int(n) }

// Duration returns the duration value of key.
func (v Values) Duration(key string) time.Duration {
	d, _ := time.ParseDuration(v.String(key))
	return d
}

// getter reads typed values and remembers the first type problem; after
// validation only a param overridden to a wrong type can cause one.
type getter struct {
	m     map[string]any
	where string
	err   error
}

func (g *getter) fail(key string, v any, want string) {
	if g.err == nil {
		g.err = fmt.Errorf("%s: %s is %s, want %s", g.where, key, typeName(v), want)
	}
}

func (g *getter) str(key string) string {
	v, ok := g.m[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		g.fail(key, v, "a string")
	}
	return s
}

func (g *getter) int(key string) int {
	v, ok := g.m[key]
	if !ok {
		return 0
	}
	n, ok := v.(int64)
	if !ok {
		g.fail(key, v, "an integer")
	}
	return int(n)
}

func (g *getter) bool(key string) bool {
	v, ok := g.m[key]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		g.fail(key, v, "true or false")
	}
	return b
}

func (g *getter) duration(key string) time.Duration {
	s := g.str(key)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil && g.err == nil {
		g.err = fmt.Errorf("%s: %s = %q is not a duration", g.where, key, s)
	}
	return d
}

func (g *getter) strs(key string) []string {
	v, ok := g.m[key]
	if !ok {
		return nil
	}
	if s, ok := v.(string); ok {
		return []string{s}
	}
	arr, ok := v.([]any)
	if !ok {
		g.fail(key, v, "an array of strings")
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		out = append(out, format(e))
	}
	return out
}

func (g *getter) strMap(key string) map[string]string {
	v, ok := g.m[key]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		g.fail(key, v, "a table of strings")
		return nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		out[k] = format(e)
	}
	return out
}
