package guest_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
	"github.com/benchbook/benchbook/internal/resp"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/load"
)

// byHand is the shell block of docs/network.md marked <!-- by-hand: MODE -->.
func byHand(t *testing.T, mode string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/network.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- by-hand: "+mode+" -->\n```sh\n")
	if !ok {
		t.Fatalf("docs/network.md has no by-hand block for %s", mode)
	}
	block, _, _ := strings.Cut(rest, "```")
	return block
}

// TestNetByHand measures, side by side in one run, benchbook's ops/s and
// boot_ms on user and tap against the same path set up by hand from the
// docs' command lines, with redis-benchmark run by hand where benchbook's
// load runs. BENCHBOOK_NET_FIGURES=N rounds, alternating.
func TestNetByHand(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BENCHBOOK_NET_FIGURES"))
	if n <= 0 {
		t.Skip("set BENCHBOOK_NET_FIGURES=N to measure N rounds of benchbook vs by hand")
	}
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		t.Skip("redis-benchmark is not installed")
	}
	ratios, cmds := map[string][]float64{}, map[string][][]string{}
	rows := []string{"| round | mode | benchbook ops/s | by hand ops/s | ratio | benchbook boot_ms | by hand boot_ms |", "| --- | --- | --- | --- | --- | --- | --- |"}
	for i := range n {
		for _, mode := range []string{"user", "tap"} {
			needMode(t, mode)
			// ABBA: odd rounds run by hand first, so neither side always
			// follows the other.
			// Round 1 runs benchbook first, so the by-hand side knows
			// the commands benchbook runs from then on.
			var bOps, bBoot, hOps, hBoot float64
			if i%2 == 1 {
				hOps, hBoot = viaHand(t, mode, cmds[mode])
				bOps, bBoot, _ = viaBenchbook(t, mode)
			} else {
				bOps, bBoot, cmds[mode] = viaBenchbook(t, mode)
				hOps, hBoot = viaHand(t, mode, cmds[mode])
			}
			rows = append(rows, fmt.Sprintf("| %d | %s | %.0f | %.0f | %.2f | %.0f | %.0f |", i+1, mode, bOps, hOps, bOps/hOps, bBoot, hBoot))
			ratios[mode] = append(ratios[mode], bOps/hOps)
		}
	}
	for _, mode := range []string{"user", "tap"} {
		r := ratios[mode]
		slices.Sort(r)
		rows = append(rows, fmt.Sprintf("median of %d rounds' ratios, %s: %.3f", len(r), mode, (r[(len(r)-1)/2]+r[len(r)/2])/2))
	}
	t.Logf("micro-VM under TCG, redis-benchmark as benchbook runs it for 4 clients x %d requests:\n%s", netRequests(), strings.Join(rows, "\n"))
}

// netRequests is each client's requests per pass: BENCHBOOK_NET_REQUESTS,
// 500 by default (a pass of under a second here, whose figure this shared
// machine moves by 2x; several thousand make passes of seconds).
func netRequests() int {
	if n, _ := strconv.Atoi(os.Getenv("BENCHBOOK_NET_REQUESTS")); n > 0 {
		return n
	}
	return 500
}

func viaBenchbook(t *testing.T, mode string) (ops, bootMs float64, cmds [][]string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	q := newMode(t, mode, nil)
	defer q.Stop(context.Background())
	ep, err := q.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, err := load.New("redis-benchmark")
	if err != nil {
		t.Fatal(err)
	}
	// Twice, the first discarded, as by hand: under TCG the guest's first
	// requests also pay for translating redis's code.
	spec := load.Spec{Clients: 4, Requests: netRequests()}.WithDefaults()
	spec.Warmup = 0
	var m load.Measurement
	for range 2 {
		if m, err = l.Run(ctx, load.Target{Addr: ep.Addr, Netns: ep.Netns}, spec); err != nil {
			t.Fatal(err)
		}
	}
	cmds = m.Commands
	if len(cmds) == 0 {
		cmds = [][]string{m.Command}
	}
	t.Logf("benchbook %s: %s\n%v", mode, strings.Join(q.Command(), " "), cmds)
	return m.Totals.OpsPerSec, q.BootMs(), cmds
}

// viaHand runs the docs' block for mode, waits for a PONG and runs
// redis-benchmark where the docs say, with the arguments benchbook gave it
// (cmds), pointed at this guest.
func viaHand(t *testing.T, mode string, cmds [][]string) (ops, bootMs float64) {
	b := linuxBoot(t, microVM(t))
	port, _ := guest.FreePort()
	byHandN++                                                               // a namespace of its own each time: a deleted one may linger in the kernel
	ns := fmt.Sprintf("%sbyhand-%d-%d", netns.Prefix, os.Getpid(), byHandN) // Delete takes benchbook's prefix only
	cmd := exec.Command("sh", "-ec", byHand(t, mode))
	cmd.Env = append(os.Environ(), "KERNEL="+b.Kernel, "INITRD="+b.Initrd,
		"APPEND="+strings.TrimSpace(b.Append+" "+strings.Join(b.AppendTCG, " ")), "NS="+ns, "PORT="+strconv.Itoa(port))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		netns.Delete(context.Background(), ns)
	}()
	addr, inNS := fmt.Sprintf("127.0.0.1:%d", port), ""
	if mode == "tap" {
		addr, inNS = "10.0.2.15:6379", ns
	}
	deadline := time.Now().Add(5 * time.Minute)
	for !pong(inNS, addr) {
		if time.Now().After(deadline) {
			t.Fatalf("by hand %s: no PONG in 5m:\n%s", mode, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	bootMs = float64(time.Since(begin).Microseconds()) / 1000
	host, p, _ := strings.Cut(addr, ":")
	var total, sec float64
	for i, c := range append(cmds, cmds...) { // the first pass is discarded
		argv := append([]string{}, c...)
		n := 0
		for i := 1; i+1 < len(argv); i++ {
			switch argv[i] {
			case "-h":
				argv[i+1] = host
			case "-p":
				argv[i+1] = p
			case "-n":
				n, _ = strconv.Atoi(argv[i+1])
			}
		}
		if inNS != "" {
			argv = append([]string{"ip", "netns", "exec", inNS}, argv...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		csvOut, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(argv, " "), err)
		}
		t.Logf("by hand %s: %s", mode, strings.Join(argv, " "))
		if i >= len(cmds) {
			o, s := rows(t, csvOut, n)
			total, sec = total+o, sec+s
		}
	}
	return total / sec, bootMs
}

var byHandN int

func pong(ns, addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := netns.Dial(ctx, ns, addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	v, err := resp.DoConn(ctx, conn, "PING")
	return err == nil && v == "PONG"
}

// rows are the requests of redis-benchmark's rows (each ran n) and the
// seconds they took, which benchbook sums the same way: all requests over
// the sum of each test's time.
func rows(t *testing.T, out []byte, n int) (ops, sec float64) {
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("redis-benchmark csv: %v\n%s", err, out)
	}
	for _, r := range recs {
		rps, err := strconv.ParseFloat(r[1], 64)
		if err != nil || rps <= 0 {
			continue // the header
		}
		ops += float64(n)
		sec += float64(n) / rps
	}
	if sec == 0 {
		t.Fatalf("no rows in\n%s", out)
	}
	return ops, sec
}

// The docs' by-hand blocks are the command lines benchbook runs, flag for
// flag: a by-hand figure compared with benchbook's is only worth something
// when the two VMs are the same (one differed in -smp once, and TCG then
// translates a different guest).
func TestNetByHandMatchesBenchbook(t *testing.T) {
	b, err := guest.PlanBoot(guest.VMSpec{Name: "linux", Flavor: "linux", Kernel: "/k", Initrd: "/i"})
	if err != nil {
		t.Fatal(err)
	}
	app := strings.TrimSpace(b.Append + " " + strings.Join(b.AppendTCG, " "))
	for _, mode := range []string{"user", "tap"} {
		t.Run(mode, func(t *testing.T) {
			n, _ := guest.PlanQemuNetwork(mode)
			n.HostPort, n.Tap = 40001, "tap0"
			want := append([]string{guest.QemuBinary}, guest.QemuArgs(b, "tcg", n, "")...)
			var got []string
			for _, f := range strings.Fields(docQemuLine(t, byHand(t, mode))) {
				f = strings.Trim(f, `"`)
				f = strings.NewReplacer("$KERNEL", "/k", "$INITRD", "/i", "$APPEND", app, "$PORT", "40001").Replace(f)
				got = append(got, f)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("docs/network.md's %s block runs\n  %q\nbenchbook runs\n  %q", mode, got, want)
			}
		})
	}
}

// docQemuLine is the qemu command of a by-hand block, its continuation
// lines joined and what runs it (exec, ip netns exec) cut off.
func docQemuLine(t *testing.T, block string) string {
	t.Helper()
	joined := strings.ReplaceAll(block, "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		if _, q, ok := strings.Cut(line, guest.QemuBinary+" "); ok {
			return guest.QemuBinary + " " + q
		}
	}
	t.Fatalf("no %s line in\n%s", guest.QemuBinary, block)
	return ""
}
