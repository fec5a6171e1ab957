package guest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/benchbook/benchbook/runner/placement"
)

// qmpWait bounds the wait for qemu's QMP socket to answer after qemu
// started: it answers once the machine is made, vCPU threads and all.
const qmpWait = 20 * time.Second

// pinVCPUs places a started qemu: the process already runs on the SUT's
// CPUs (it was forked with them); each vCPU thread, which QMP's
// query-cpus-fast names, now gets one of them, in turn (vCPU i on the
// i-th CPU, round the set), so two vCPUs do not queue on one CPU while
// another idles. The other threads (the main loop, I/O) keep the set.
func (q *Qemu) pinVCPUs(ctx context.Context, sock string, exited <-chan struct{}) error {
	cpus := q.cfg.CPUs
	tids, err := vcpuThreads(ctx, sock, exited, qmpWait)
	if err != nil {
		return fmt.Errorf("place vCPUs: %w", err)
	}
	if !distinct(tids) {
		// Single-threaded TCG: one thread runs every vCPU in turn.
		q.facts.set("placement", "one thread for every vCPU (single-threaded TCG), qemu on "+cpus.Describe())
		return nil
	}
	for i, tid := range tids {
		if err := placement.SetThread(tid, placement.Set{cpus[i%len(cpus)]}); err != nil {
			return fmt.Errorf("place vCPU %d: %w", i, err)
		}
	}
	q.facts.set("placement", describeVCPUs(len(tids), cpus))
	return nil
}

// describeVCPUs says where n vCPUs placed on cpus run: "vCPU 0 on CPU 2,
// vCPU 1 on CPU 3, qemu's other threads on CPUs 2-3".
func describeVCPUs(n int, cpus placement.Set) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf("vCPU %d on %s", i, placement.Set{cpus[i%len(cpus)]}.Describe()))
	}
	return strings.Join(append(parts, "qemu's other threads on "+cpus.Describe()), ", ")
}

func distinct(ids []int) bool {
	seen := map[int]bool{}
	for _, id := range ids {
		if seen[id] {
			return false
		}
		seen[id] = true
	}
	return true
}

// vcpuThreads asks qemu over QMP for the thread id of each vCPU, in vCPU
// order, waiting up to wait for the socket to answer (or qemu's end).
func vcpuThreads(ctx context.Context, sock string, exited <-chan struct{}, wait time.Duration) ([]int, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var conn net.Conn
	for {
		var err error
		var d net.Dialer
		if conn, err = d.DialContext(ctx, "unix", sock); err == nil {
			break
		}
		select {
		case <-exited:
			return nil, errors.New("qemu exited before its QMP socket answered")
		case <-ctx.Done():
			return nil, fmt.Errorf("qemu's QMP socket %s did not answer within %s: %w", sock, wait, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	return queryCPUs(bufio.NewReader(conn), json.NewEncoder(conn))
}

// queryCPUs runs QMP's handshake and query-cpus-fast on an open
// connection.
func queryCPUs(r *bufio.Reader, enc *json.Encoder) ([]int, error) {
	if _, err := r.ReadString('\n'); err != nil { // the greeting
		return nil, fmt.Errorf("qmp greeting: %w", err)
	}
	if _, err := qmpCommand(r, enc, "qmp_capabilities"); err != nil {
		return nil, err
	}
	ret, err := qmpCommand(r, enc, "query-cpus-fast")
	if err != nil {
		return nil, err
	}
	var cpus []struct {
		Index  int `json:"cpu-index"`
		Thread int `json:"thread-id"`
	}
	if err := json.Unmarshal(ret, &cpus); err != nil {
		return nil, fmt.Errorf("query-cpus-fast: %w", err)
	}
	if len(cpus) == 0 {
		return nil, errors.New("query-cpus-fast: qemu reports no vCPU")
	}
	tids := make([]int, len(cpus))
	for _, c := range cpus {
		if c.Index < 0 || c.Index >= len(cpus) || c.Thread <= 0 {
			return nil, fmt.Errorf("query-cpus-fast: vCPU %d with thread %d", c.Index, c.Thread)
		}
		tids[c.Index] = c.Thread
	}
	return tids, nil
}

// qmpCommand sends one command and returns its "return", skipping the
// events qemu may send in between.
func qmpCommand(r *bufio.Reader, enc *json.Encoder, cmd string) (json.RawMessage, error) {
	if err := enc.Encode(map[string]string{"execute": cmd}); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("qmp %s: %w", cmd, err)
		}
		var reply struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Desc string `json:"desc"`
			} `json:"error"`
		}
		if err := json.Unmarshal(line, &reply); err != nil {
			return nil, fmt.Errorf("qmp %s: %w", cmd, err)
		}
		switch {
		case reply.Error != nil:
			return nil, fmt.Errorf("qmp %s: %s", cmd, reply.Error.Desc)
		case reply.Return != nil:
			return reply.Return, nil
		}
	}
}
