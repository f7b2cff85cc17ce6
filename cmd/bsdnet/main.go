// Command bsdnet runs bsdnet, FreeBSD's socket layer in Go, and shows what
// it does.
//
// Usage:
//
//	bsdnet demo [flags]           PF_LOCAL, UDP and an HTTP transfer across
//	                              simulated wires, then sockstat and netstat
//	bsdnet ping [flags] [host]    ping(8) from a raw ICMP socket on a bsdnet stack
//	bsdnet nc [flags] host port   nc(1) on a bsdnet stack (TCP or UDP)
//	bsdnet bench [flags]          run the benchmark suite against the kernel's sockets
//	bsdnet tap [flags]            serve echo, discard and HTTP on a TAP device (root)
//	bsdnet help                   print this help
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			// -h asked for the help, as with Go's flag.ExitOnError.
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bsdnet:", err)
		os.Exit(2)
	}
}

const usage = `bsdnet runs FreeBSD's kernel socket layer, socket(9), in Go.

Usage:

	bsdnet <command> [flags]

Commands:

	demo    show bsdnet with no root and no setup: a PF_LOCAL echo server
	        with hundreds of clients, then hosts a -- r -- b joined by
	        wires with delay and loss: a UDP echo and an HTTP transfer
	        (with a progress bar, and -plot draws its time-sequence
	        graph), then sockstat and netstat -an, -s and -i
	ping    send ICMP echo requests from a raw socket on a bsdnet stack
	        (host a of the demo topology a -- r -- b) and print the
	        replies and statistics as ping(8) does
	nc      connect to (or listen on) a TCP or UDP port from a bsdnet
	        stack and copy stdin and stdout, as nc(1) does: in the demo
	        topology, over a UDP tunnel to another bsdnet nc, or on a TAP
	bench   run the benchmark suite (PF_LOCAL, UDP, TCP) beside the kernel
	        and print bsdnet's figures beside the kernel's with the ratio
	tap     attach a stack to a TAP device (Linux, root) and serve echo
	        (port 7) and discard (port 9) over TCP and UDP and HTTP (port
	        80) on it, so that ping, curl and nc on the host talk to bsdnet
	help    print this help

Run "bsdnet <command> -h" for a command's flags.
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "demo":
		return demo(args[1:], stdout, stderr)
	case "ping":
		return ping(args[1:], stdout, stderr)
	case "bench":
		return bench(args[1:], stdout, stderr)
	case "tap":
		return tap(args[1:], stdout, stderr)
	case "nc":
		return nc(args[1:], os.Stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
