// Command bsdnet runs bsdnet, FreeBSD's socket layer in Go, and shows what
// it does.
//
// Usage:
//
//	bsdnet demo [flags]   run an upcall-driven PF_LOCAL echo server with
//	                      hundreds of clients and print sockstat
//	bsdnet help           print this help
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
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bsdnet:", err)
		}
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
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
