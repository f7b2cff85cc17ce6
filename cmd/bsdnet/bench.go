package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"

	"github.com/bsdnet/bsdnet/internal/benchsuite"
)

const benchUsage = `usage: bsdnet bench [flags]

Runs bsdnet's benchmark suite and prints each figure beside the kernel's
(the host's sockets through Go's net package) with the ratio: PF_LOCAL
stream throughput, 1-byte ping-pong, connect+accept+close and 64-byte
datagrams against unix-domain sockets in a temporary directory, and UDP
datagrams of 64 and 1400 bytes on a stack's loopback and between two
stacks over a wire, against UDP on 127.0.0.1; TCP streams on a loopback and
over a wire, 1-byte ping-pong and connect+accept+close, against TCP on
127.0.0.1. gVisor's netstack is measured by the separate module bench/peers,
which this command does not link: -gvisor bench/peers builds and runs its TCP
benchmarks with the go command and prints their table.

Flags:
`

func bench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	quick := fs.Bool("quick", false, "a short run (-benchtime 100ms): figures are rougher")
	benchtime := fs.String("benchtime", "1s", "how long to run each side of each workload, or Nx for N operations (as go test's -benchtime)")
	run := fs.String("run", "", "run only the workloads whose names match this regular expression")
	peers := fs.String("gvisor", "", "also run the TCP benchmarks of the bench/peers module in `DIR` (bsdnet, gVisor's netstack and the kernel in one run; needs the go command and the source tree) and print their table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	bt := *benchtime
	if *quick && !flagSet(fs, "benchtime") {
		bt = "100ms"
	}
	var re *regexp.Regexp
	if *run != "" {
		var err error
		if re, err = regexp.Compile(*run); err != nil {
			return fmt.Errorf("bench: -run: %w", err)
		}
	}
	var ws []benchsuite.Workload
	for _, w := range benchsuite.Workloads() {
		if re == nil || re.MatchString(w.Name) {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return fmt.Errorf("bench: no workload matches -run %q", *run)
	}
	fmt.Fprintf(stdout, "bsdnet bench: %d workloads, %s per side, GOMAXPROCS=%d, %s/%s\n\n",
		len(ws), bt, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	var results []benchsuite.Result
	failed := 0
	for _, w := range ws {
		r, err := benchsuite.Run(w, bt)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if r.Bsdnet.Err != nil || r.Kernel.Err != nil {
			failed++
		}
		results = append(results, r)
	}
	benchsuite.Print(stdout, results)
	if *peers != "" {
		if err := benchPeers(*peers, bt, stdout, stderr); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("bench: %d workloads failed", failed)
	}
	return nil
}

// benchPeers runs bench/peers' TCP benchmarks in dir (a module of its own,
// which links gVisor) with the go command, and prints the table its
// tcptable tool makes of them: bsdnet, gVisor and the kernel side by side.
func benchPeers(dir, benchtime string, stdout, stderr io.Writer) error {
	if _, err := os.Stat(filepath.Join(dir, "tcptable")); err != nil {
		return fmt.Errorf("bench: -gvisor %s: not the bench/peers module: %w", dir, err)
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("bench: -gvisor needs the go command: %w", err)
	}
	fmt.Fprintf(stdout, "\nbench/peers (%s): TCP beside gVisor's netstack and the kernel, building and running...\n", dir)
	test := exec.Command(gotool, "test", "-run", "XXX", "-bench", "TCPStream|TCPPingPong|TCPWire|TCPConnRate",
		"-benchtime", benchtime, "-timeout", "1h", ".")
	test.Dir = dir
	test.Stderr = stderr
	table := exec.Command(gotool, "run", "./tcptable")
	table.Dir = dir
	table.Stdout = stdout
	table.Stderr = io.Discard // tcptable echoes the benchmark output there
	pipe, err := table.StdinPipe()
	if err != nil {
		return err
	}
	test.Stdout = pipe
	if err := table.Start(); err != nil {
		return fmt.Errorf("bench: -gvisor: %w", err)
	}
	terr := test.Run()
	pipe.Close()
	if err := table.Wait(); err != nil {
		return fmt.Errorf("bench: -gvisor: tcptable: %w", err)
	}
	if terr != nil {
		return fmt.Errorf("bench: -gvisor: go test: %w", terr)
	}
	return nil
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
