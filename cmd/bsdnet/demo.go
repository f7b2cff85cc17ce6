package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/internal/upcallecho"
	"github.com/bsdnet/bsdnet/socket"
)

func demo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	clients := fs.Int("clients", 300, "number of PF_LOCAL clients, all connected at once")
	msgs := fs.Int("messages", 20, "messages each client sends and reads back")
	size := fs.Int("size", 512, "bytes per message")
	workers := fs.Int("workers", 2, "server worker goroutines (the server has no goroutine per connection)")
	rows := fs.Int("rows", 12, "sockstat rows to print (0: all)")
	var ud udpDemo
	fs.DurationVar(&ud.delay, "delay", 2*time.Millisecond, "one-way delay of each wire in the UDP demo")
	fs.Float64Var(&ud.loss, "loss", 0.01, "probability that a wire loses a frame")
	fs.Uint64Var(&ud.seed, "seed", 1, "seed of every random choice (ports, IDs, faults)")
	fs.IntVar(&ud.count, "datagrams", 200, "UDP datagrams to echo over each of IPv4 and IPv6")
	fs.IntVar(&ud.size, "dgsize", 1200, "bytes per UDP datagram (above the MTU means fragments)")
	fs.StringVar(&ud.pcap, "pcap", "", "write a pcap capture of host a's interface to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if ud.loss < 0 || ud.loss >= 1 || ud.count < 1 || ud.size < 12 || ud.size > 9000 {
		return fmt.Errorf("demo: -loss must be in [0,1), -datagrams positive, -dgsize within 12..9000")
	}
	if *clients < 1 || *msgs < 1 || *size < 1 || *workers < 1 {
		return fmt.Errorf("demo: -clients, -messages, -size and -workers must be positive")
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
	sockstat(stdout, v.Xsockets(), *rows)
	for _, c := range conns {
		c.Close()
	}
	return ud.run(stdout)
}

// sockstat prints sockets as sockstat(1) does, with netstat's queue
// columns, built from sotoxsocket.
func sockstat(w io.Writer, xs []socket.Xsocket, rows int) {
	counts := map[string]int{}
	for _, x := range xs {
		counts[protoName(x)]++
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tPROTO\tSTATE\tRECV-Q\tSEND-Q\tLOCAL ADDRESS\tFOREIGN ADDRESS")
	for i, x := range xs {
		if rows > 0 && i == rows {
			fmt.Fprintf(tw, "...\t(%d more)\t\t\t\t\t\n", len(xs)-rows)
			break
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", userName(x.UID), protoName(x), stateName(x),
			x.Rcv.Cc, x.Snd.Cc, socket.FormatSockaddr(x.Local), socket.FormatSockaddr(x.Foreign))
	}
	tw.Flush()
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\n%d sockets:", len(xs))
	for _, n := range names {
		fmt.Fprintf(w, " %d %s", counts[n], n)
	}
	fmt.Fprintln(w)
}

func userName(uid uint32) string {
	if uid == 0 {
		return "root"
	}
	return fmt.Sprint(uid)
}

func protoName(x socket.Xsocket) string {
	switch x.Type {
	case socket.SOCK_STREAM:
		return "stream"
	case socket.SOCK_DGRAM:
		return "dgram"
	case socket.SOCK_SEQPACKET:
		return "seqpac"
	}
	return fmt.Sprintf("type%d", x.Type)
}

func stateName(x socket.Xsocket) string {
	switch {
	case x.Options&socket.SO_ACCEPTCONN != 0:
		return fmt.Sprintf("LISTEN %d/%d", x.Qlen, x.Qlimit)
	case x.State&socket.SS_ISCONNECTED != 0:
		return "CONNECTED"
	case x.State&socket.SS_ISCONNECTING != 0:
		return "CONNECTING"
	case x.State&socket.SS_ISDISCONNECTED != 0:
		return "DISCONNECTED"
	}
	return "-"
}
