package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/internal/inputfile"
	"github.com/benchbook/benchbook/results"
)

// The noise floor is the machine's, not a notebook's: calibrate keeps it
// in the user's cache folder, one file per machine, named by an id that
// hides the host name ($XDG_CACHE_HOME/benchbook/noise/ID.json, by default
// ~/.cache/benchbook/noise/ID.json). A home folder shared by several
// machines keeps each one's apart. run and verify read it and copy what a
// cell's tools have into its results, which is what reports show.

// noisePath is where this machine's noise floor is kept.
func noisePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("noise floor: no cache folder: %w (set XDG_CACHE_HOME)", err)
	}
	return filepath.Join(dir, "benchbook", "noise", machineID()+".json"), nil
}

// machineID names this machine without its host name: a hash of its
// systemd machine id (the host name where it has none) and its CPU count,
// since a machine given more CPUs is noisy differently.
func machineID() string {
	var id string
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if data, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(data))) > 0 {
			id = strings.TrimSpace(string(data))
			break
		}
	}
	if id == "" {
		id, _ = os.Hostname()
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("benchbook noise floor\n%s\n%d\n", id, runtime.NumCPU())))
	return hex.EncodeToString(sum[:6])
}

// loadNoise reads this machine's noise floor: nil when it was never
// calibrated. A floor that cannot be read is said on stderr and ignored:
// it must not stop a run.
func loadNoise(env *cmdEnv) *results.Noise {
	path, err := noisePath()
	if err != nil {
		return nil
	}
	n, err := readNoise(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(env.stderr, "benchbook: %v: ignored\n", err)
	}
	return n
}

func readNoise(path string) (*results.Noise, error) {
	data, err := inputfile.Read(path, 1<<20, "a noise floor")
	if err != nil {
		return nil, err
	}
	return results.DecodeNoise(path, data)
}

// saveNoise merges the tools of n into the floor kept at path: a tool
// calibrated again replaces its old floor, the others stay.
func saveNoise(path string, n *results.Noise) error {
	merged := &results.Noise{Schema: results.NoiseSchema, Machine: n.Machine, Tools: map[string]results.ToolNoise{}}
	if old, err := readNoise(path); err == nil && old.Machine == n.Machine {
		for k, v := range old.Tools {
			merged.Tools[k] = v
		}
	}
	for k, v := range n.Tools {
		merged.Tools[k] = v
	}
	data, err := results.EncodeNoise(merged)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, atomicfile.Durable()); err != nil {
		return fmt.Errorf("store the noise floor: %w", err)
	}
	return nil
}
