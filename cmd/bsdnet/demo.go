package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/internal/upcallecho"
	"github.com/bsdnet/bsdnet/socket"
)

const demoUsage = `usage: bsdnet demo [flags]

Shows what bsdnet is, with no root and no setup, in three parts:

 1. PF_LOCAL: an echo server driven by socket upcalls (no goroutine per
    connection) with hundreds of clients in one stack, then the stack's
    sockets as sockstat(1) prints them.
 2. A network in this process, hosts a and b joined through router r by
    wires that delay, lose and reorder frames at random (seeded):

	a (10.1.0.1, fd01::1) -- r (router) -- b (10.2.0.2, fd02::2)

    a UDP echo from a to b over IPv4 and IPv6, then an HTTP transfer:
    net/http's server on b, its client on a, -size bytes from b to a,
    with a progress bar on a terminal and, with -plot, the connection's
    time-sequence graph (sequence numbers, ACKs and window, cwnd and
    smoothed RTT) drawn as an SVG file.
 3. The hosts as FreeBSD's tools show them, while the sockets exist:
    sockstat, netstat -an, netstat -s and netstat -i, and what the wires
    did to the frames.

Flags:
`

func demo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), demoUsage)
		fs.PrintDefaults()
	}
	clients := fs.Int("clients", 300, "number of PF_LOCAL clients, all connected at once")
	msgs := fs.Int("messages", 20, "messages each PF_LOCAL client sends and reads back")
	size := fs.Int("msgsize", 512, "bytes per PF_LOCAL message")
	workers := fs.Int("workers", 2, "PF_LOCAL server worker goroutines (the server has no goroutine per connection)")
	rows := fs.Int("rows", 8, "PF_LOCAL sockstat rows to print (0: all)")
	nd := netDemo{wires: wireOpts{delay: 2 * time.Millisecond, loss: 0.01, seed: 1}}
	nd.wires.addFlags(fs, true)
	fs.IntVar(&nd.count, "datagrams", 200, "UDP datagrams to echo over each of IPv4 and IPv6")
	fs.IntVar(&nd.size, "dgsize", 1200, "bytes per UDP datagram (above the MTU means fragments)")
	fs.StringVar(&nd.pcap, "pcap", "", "write a pcap capture of host a's interface to this file")
	body := byteSize(2 << 20)
	fs.Var(&body, "size", "bytes of the HTTP body, such as 512KiB or 4MiB")
	fs.StringVar(&nd.http.plot, "plot", "", "draw the HTTP connection's time-sequence graph in this SVG file")
	progress := fs.Bool("progress", false, "draw the progress bar on stderr even when it is not a terminal")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	if err := nd.wires.check(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if nd.count < 1 || nd.size < 12 || nd.size > 9000 {
		return fmt.Errorf("demo: -datagrams must be positive, -dgsize within 12..9000")
	}
	if *clients < 1 || *msgs < 1 || *size < 1 || *workers < 1 {
		return fmt.Errorf("demo: -clients, -messages, -msgsize and -workers must be positive")
	}
	if body < 1 || body > maxBytes {
		return fmt.Errorf("demo: -size must be within 1..%d", int64(maxBytes))
	}
	nd.http.size = int64(body)
	if *progress || isTerminal(stderr) {
		nd.http.progress = stderr
	}
	st := bsdnet.NewStack()
	defer st.Close()
	v := st.Vnet()
	if err := v.SetSomaxconn(max(*clients, socket.SOMAXCONN)); err != nil {
		return err
	}
	root := socket.RootCred()
	ls, err := st.Socket(socket.PF_LOCAL, socket.SOCK_STREAM, 0, root)
	if err != nil {
		return err
	}
	const path = "/var/run/echo.sock"
	if err := ls.Bind(socket.SockaddrUnix{Path: path}); err != nil {
		return err
	}
	if err := ls.Listen(-1); err != nil {
		return err
	}
	g0 := runtime.NumGoroutine()
	srv, err := upcallecho.Serve(ls, *workers)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "bsdnet demo: upcall-driven PF_LOCAL echo server on %s, %d worker goroutines\n", path, *workers)

	user := socket.UserCred(1001, 1001)
	conns := make([]*socket.Socket, *clients)
	for i := range conns {
		c, err := st.Socket(socket.PF_LOCAL, socket.SOCK_STREAM, 0, user)
		if err != nil {
			return err
		}
		if err := c.Connect(socket.SockaddrUnix{Path: path}); err != nil {
			return fmt.Errorf("client %d: connect: %w", i, err)
		}
		conns[i] = c
	}
	start := time.Now()
	// A lost echo would be a bug; a deadline turns it into an error
	// instead of a hang.
	ctx, cancelAll := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelAll()
	var wg sync.WaitGroup
	errc := make(chan error, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := bytes.Repeat([]byte{byte('a' + i%26)}, *size)
			got := make([]byte, *size)
			for range *msgs {
				u := socket.UioBuf(msg)
				if err := c.Send(ctx, nil, &u, nil, nil, 0); err != nil {
					errc <- err
					return
				}
				r := socket.UioBuf(got)
				f := socket.MSG_WAITALL
				if err := c.Receive(ctx, nil, &r, nil, nil, &f); err != nil || r.Resid != 0 || !bytes.Equal(got, msg) {
					errc <- fmt.Errorf("client %d: echo mismatch (%v)", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	elapsed := time.Since(start)
	total := int64(*clients) * int64(*msgs) * int64(*size)
	fmt.Fprintf(stdout, "%d clients x %d messages x %d bytes echoed in %v (%.1f MB/s each way, %d round trips)\n",
		*clients, *msgs, *size, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds()/1e6, *clients**msgs)
	// A client may read its last echo before the server's worker has
	// counted it: give the counter a moment to catch up.
	for wait := time.Now().Add(5 * time.Second); srv.Echoed.Load() != total && time.Now().Before(wait); {
		time.Sleep(time.Millisecond)
	}
	fmt.Fprintf(stdout, "server: %d connections accepted, %d bytes echoed, %d server goroutines for %d connections\n\n",
		srv.Accepted.Load(), srv.Echoed.Load(), runtime.NumGoroutine()-g0, srv.Conns())
	if srv.Echoed.Load() != total {
		return fmt.Errorf("server echoed %d bytes, clients sent %d", srv.Echoed.Load(), total)
	}
	rs := sockRows("", st)
	fmt.Fprintf(stdout, "sockstat (%d sockets)\n", len(rs))
	sockstat(stdout, rs, *rows)
	for _, c := range conns {
		c.Close()
	}
	return nd.run(stdout)
}
