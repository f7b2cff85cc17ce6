// Package benchsuite holds the workloads of bsdnet's benchmark suite in a
// form a program can run: each workload has a bsdnet side and a peer side
// (the host kernel's sockets through Go's net package), both run with
// testing.Benchmark, and the figures are printed beside each other with
// their ratio. The bsdnet command's "bench" subcommand is its user.
//
// The benchmarks in bench/ (go test -bench . ./bench/) measure the same
// workloads; gVisor's netstack is measured by the separate module
// bench/peers, which is not linked into the command.
package benchsuite

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"testing"
	"text/tabwriter"
	"unicode/utf8"
)

// A Workload is one figure of the suite, measured on bsdnet and on the
// kernel.
type Workload struct {
	// Name says what is measured ("PF_LOCAL stream, 64 KiB writes").
	Name string
	// Unit is the unit of the figure: "MB/s", "µs/op", "conns/s" or
	// "dgrams/s".
	Unit string
	// LowerIsBetter is set for times (µs/op), clear for rates.
	LowerIsBetter bool
	// Note qualifies the comparison (what the kernel side runs over when
	// it is not quite the same path).
	Note string
	// Bsdnet and Kernel are the two sides, as benchmark functions that
	// return an error instead of calling b.Fatal.
	Bsdnet, Kernel func(b *testing.B) error
}

// Workloads returns the suite: PF_LOCAL stream throughput, 1-byte
// ping-pong, connect+accept+close and 64-byte datagrams against the
// kernel's unix-domain sockets; UDP datagrams of 64 and 1400 bytes on
// one stack's loopback and between two stacks over a wire, against the
// kernel's UDP on 127.0.0.1; and TCP streams (loopback and wire), 1-byte
// ping-pong and connect+accept+close against the kernel's TCP on
// 127.0.0.1.
func Workloads() []Workload {
	ws := []Workload{
		{Name: "PF_LOCAL stream, 64 KiB writes", Unit: "MB/s",
			Bsdnet: localStream(bsdnetStreamPair), Kernel: localStream(kernelStreamPair)},
		{Name: "PF_LOCAL ping-pong, 1 byte", Unit: "µs/op", LowerIsBetter: true,
			Bsdnet: localPingPong(bsdnetStreamPair), Kernel: localPingPong(kernelStreamPair)},
		{Name: "PF_LOCAL connect+accept+close", Unit: "conns/s",
			Bsdnet: connectCycle(newBsdnetAcceptor), Kernel: connectCycle(newKernelAcceptor)},
		{Name: "PF_LOCAL datagrams, 64 B", Unit: "dgrams/s",
			Bsdnet: localDgram(bsdnetDgramPair), Kernel: localDgram(kernelDgramPair)},
	}
	for _, size := range []int{64, 1400} {
		ws = append(ws,
			Workload{Name: fmt.Sprintf("UDP %d B, loopback", size), Unit: "dgrams/s",
				Bsdnet: udpBench(newBsdnetLoopback, size), Kernel: udpBench(newKernelUDP, size)},
			Workload{Name: fmt.Sprintf("UDP %d B, wire", size), Unit: "dgrams/s",
				Note:   "bsdnet: two stacks over a 1500-byte-MTU wire; kernel: 127.0.0.1",
				Bsdnet: udpBench(newBsdnetWire, size), Kernel: udpBench(newKernelUDP, size)})
	}
	return append(ws, tcpWorkloads()...)
}

// Figure is one side's measurement of a workload.
type Figure struct {
	Value float64 // in the workload's unit
	Drop  float64 // percent of datagrams lost (UDP only)
	Err   error   // why there is no value
}

// Result is a workload measured on both sides.
type Result struct {
	Workload
	Bsdnet, Kernel Figure
}

// Ratio is how many times faster bsdnet is than the kernel (below 1:
// slower), or NaN when either side has no figure.
func (r Result) Ratio() float64 {
	b, k := r.Bsdnet.Value, r.Kernel.Value
	if r.Bsdnet.Err != nil || r.Kernel.Err != nil || b <= 0 || k <= 0 {
		return math.NaN()
	}
	if r.LowerIsBetter {
		return k / b
	}
	return b / k
}

// benchtimeMu serializes runs: the benchmark time is the testing package's
// -test.benchtime flag, which is global.
var benchtimeMu sync.Mutex

// Run measures w on both sides with testing.Benchmark, each run lasting
// about benchtime (a duration such as "200ms", or "100x" for a fixed count
// of operations, as go test's -benchtime takes).
func Run(w Workload, benchtime string) (Result, error) {
	benchtimeMu.Lock()
	defer benchtimeMu.Unlock()
	testing.Init()
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return Result{}, errors.New("benchsuite: the testing package has no -test.benchtime flag")
	}
	old := f.Value.String()
	if err := f.Value.Set(benchtime); err != nil {
		return Result{}, fmt.Errorf("benchsuite: benchtime %q: %w", benchtime, err)
	}
	defer f.Value.Set(old)
	return Result{Workload: w, Bsdnet: measure(w, w.Bsdnet), Kernel: measure(w, w.Kernel)}, nil
}

// measure runs one side of a workload and turns the result into the
// workload's figure.
func measure(w Workload, fn func(b *testing.B) error) Figure {
	var mu sync.Mutex
	var first error
	r := testing.Benchmark(func(b *testing.B) {
		if err := fn(b); err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
			b.FailNow()
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if first != nil {
		return Figure{Err: first}
	}
	if r.N == 0 || r.T <= 0 {
		return Figure{Err: errors.New("no measurement")}
	}
	fig := Figure{Drop: r.Extra["drop%"]}
	secs := r.T.Seconds()
	switch w.Unit {
	case "MB/s":
		fig.Value = float64(r.Bytes) * float64(r.N) / 1e6 / secs
	case "µs/op":
		fig.Value = secs * 1e6 / float64(r.N)
	default:
		if v, ok := r.Extra[w.Unit]; ok {
			fig.Value = v
		} else {
			fig.Value = float64(r.N) / secs
		}
	}
	return fig
}

// Print writes the results as a table: workload, bsdnet's figure, the
// kernel's, and the ratio (above 1: bsdnet is faster), then the notes and
// where gVisor's figures are.
func Print(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	// Names are padded to one width, so that they read left-aligned in
	// a table whose figures are right-aligned.
	var notes []string
	names := make([]string, len(results))
	width := 0
	for i, r := range results {
		names[i] = r.Name
		if r.Note != "" {
			k := slices.Index(notes, r.Note)
			if k < 0 {
				notes = append(notes, r.Note)
				k = len(notes) - 1
			}
			names[i] += fmt.Sprintf(" [%d]", k+1)
		}
		width = max(width, utf8.RuneCountInString(names[i]))
	}
	fmt.Fprintf(tw, "%-*s\tBSDNET\tKERNEL\tRATIO\t\n", width, "WORKLOAD")
	for i, r := range results {
		name := fmt.Sprintf("%-*s", width, names[i])
		ratio := "-"
		if x := r.Ratio(); !math.IsNaN(x) {
			ratio = fmt.Sprintf("%.2fx", x)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, format(r.Bsdnet, r.Unit), format(r.Kernel, r.Unit), ratio)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nRATIO is bsdnet's speed over the kernel's: above 1, bsdnet is faster.")
	for i, n := range notes {
		fmt.Fprintf(w, "[%d] %s\n", i+1, n)
	}
	for _, r := range results {
		for _, s := range []struct {
			side string
			f    Figure
		}{{"bsdnet", r.Bsdnet}, {"kernel", r.Kernel}} {
			if s.f.Err != nil {
				fmt.Fprintf(w, "%s, %s: %v\n", r.Name, s.side, s.f.Err)
			}
		}
	}
	fmt.Fprintln(w, "gVisor: see bench/peers (a module of its own, not linked into this command):")
	fmt.Fprintln(w, "        cd bench/peers && go test -run XXX -bench .")
}

// format writes a figure with its unit, and the loss rate of UDP runs.
func format(f Figure, unit string) string {
	if f.Err != nil {
		return "error"
	}
	var s string
	switch {
	case unit == "µs/op":
		s = fmt.Sprintf("%.2f µs", f.Value)
	case unit == "MB/s":
		s = fmt.Sprintf("%.0f MB/s", f.Value)
	default:
		s = human(f.Value) + " " + unit
	}
	if f.Drop >= 0.05 {
		s += fmt.Sprintf(" (%.1f%% lost)", f.Drop)
	}
	return s
}

// human writes a rate with a k or M suffix.
func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
