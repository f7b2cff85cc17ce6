// Command bsdnet runs bsdnet, FreeBSD's socket layer in Go, and shows what
// it does.
//
// Usage:
//
//	bsdnet demo [flags]        run an upcall-driven PF_LOCAL echo server with
//	                           hundreds of clients and print sockstat
//	bsdnet ping [flags] [host] ping(8) from a raw ICMP socket on a bsdnet stack
//	bsdnet bench [flags]       run the benchmark suite against the kernel's sockets
//	bsdnet tap [flags]         serve UDP echo and discard on a TAP device (root)
//	bsdnet help                print this help
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

	demo    run an upcall-driven PF_LOCAL echo server with hundreds of
	        clients in one stack, then print the stack's sockets as
	        sockstat(1) does
	ping    send ICMP echo requests from a raw socket on a bsdnet stack
	        (host a of the demo topology a -- r -- b) and print the
	        replies and statistics as ping(8) does
	bench   run the benchmark suite (PF_LOCAL, UDP; TCP when TCP lands)
	        and print bsdnet's figures beside the kernel's with the ratio
	tap     attach a stack to a TAP device (Linux, root) and serve UDP
	        echo (port 7) and discard (port 9) on it, so that ping and nc
	        on the host talk to bsdnet (TCP services when TCP lands)
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
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
