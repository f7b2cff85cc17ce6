package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/socket"
)

// netDemo builds the demo topology, echoes datagrams from a to b over
// IPv4 and IPv6, transfers a body over HTTP from b to a, and prints
// sockstat's and netstat's views of the hosts while the sockets exist.
type netDemo struct {
	wires wireOpts
	count int    // UDP datagrams each way
	size  int    // bytes per UDP datagram
	pcap  string // capture host a's interface to this file
	http  httpDemo

	mu   sync.Mutex
	open []*socket.Socket // sockets kept open for the tables
}

func (d *netDemo) run(stdout io.Writer) error {
	t, err := newTopology(d.wires.faults(), d.wires.seed)
	if err != nil {
		return err
	}
	defer t.Close()
	if d.pcap != "" {
		fh, err := os.Create(d.pcap)
		if err != nil {
			return err
		}
		defer fh.Close()
		ea, _ := t.wa.Ends()
		stop, err := link.Capture(ea, fh)
		if err != nil {
			return err
		}
		defer stop()
	}
	defer func() {
		for _, so := range d.open {
			so.Close()
		}
	}()
	fmt.Fprintf(stdout, "\nNetwork: %s\n", topologyLine(d.wires))
	fmt.Fprintf(stdout, "\nUDP echo from a to b, %d datagrams of %d bytes each way:\n", d.count, d.size)
	// IPv4 and IPv6 at once: each waits out its losses.
	dsts := []string{"10.2.0.2:7", "[fd02::2]:7"}
	type result struct {
		sent, got int
		rtt       time.Duration
		err       error
	}
	res := make([]result, len(dsts))
	var wg sync.WaitGroup
	for i, dst := range dsts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &res[i]
			r.sent, r.got, r.rtt, r.err = d.echo(t.a, t.b, netip.MustParseAddrPort(dst))
		}()
	}
	wg.Wait()
	for i, r := range res {
		if r.err != nil {
			return r.err
		}
		fmt.Fprintf(stdout, "  %-13s %d datagrams of %d bytes sent, %d echoed back intact, mean round trip %v\n",
			dsts[i], r.sent, d.size, r.got, r.rtt.Round(time.Microsecond))
	}
	d.http.wires = d.wires
	defer d.http.close()
	if err := d.http.run(t, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	rows := append(sockRows("a", t.a), sockRows("b", t.b)...)
	fmt.Fprintln(stdout, "sockstat -46 (hosts a and b)")
	sockstat(stdout, rows, 0)
	fmt.Fprintln(stdout)
	netstatA(stdout, t.a, t.b)
	fmt.Fprintln(stdout)
	netstatS(stdout, t.a, t.r, t.b)
	fmt.Fprintln(stdout)
	netstatI(stdout, t.hosts()...)
	fmt.Fprintln(stdout)
	wireStats(stdout, t)
	return nil
}

// echo runs a UDP echo server on b and sends count datagrams from a,
// reading the echoes back with a deadline so that losses do not hang.
func (d *netDemo) echo(a, b *bsdnet.Stack, dst netip.AddrPort) (sent, got int, rtt time.Duration, err error) {
	fam := socket.AF_INET
	if dst.Addr().Is6() {
		fam = socket.AF_INET6
	}
	root := socket.RootCred()
	srv, err := b.Socket(fam, socket.SOCK_DGRAM, 0, root)
	if err != nil {
		return 0, 0, 0, err
	}
	d.keep(srv)
	// Room for a whole burst, as a UDP server would ask for.
	srv.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1<<20)
	if err := srv.Bind(socket.SockaddrFromAddrPort(netip.AddrPortFrom(netip.IPv4Unspecified(), dst.Port()))); fam == socket.AF_INET && err != nil {
		return 0, 0, 0, err
	}
	if fam == socket.AF_INET6 {
		if err := srv.Bind(socket.SockaddrFromAddrPort(netip.AddrPortFrom(netip.IPv6Unspecified(), dst.Port()))); err != nil {
			return 0, 0, 0, err
		}
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			u := socket.UioBuf(buf)
			var from socket.Sockaddr
			if err := srv.Receive(context.Background(), &from, &u, nil, nil, nil); err != nil {
				return
			}
			out := socket.UioBuf(buf[:len(buf)-u.Resid])
			srv.Send(context.Background(), from, &out, nil, nil, 0)
		}
	}()
	cli, err := a.Socket(fam, socket.SOCK_DGRAM, 0, root)
	if err != nil {
		return 0, 0, 0, err
	}
	d.keep(cli)
	cli.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1<<20)
	cli.SetOptInt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65535)
	if err := cli.Connect(socket.SockaddrFromAddrPort(dst)); err != nil {
		return 0, 0, 0, err
	}
	// Resolve the neighbors along the path first (ARP and ND hold only a
	// few packets while they resolve, as FreeBSD's do): one datagram at a
	// time until one comes back.
	warm := make([]byte, d.size+1)
	for try := 0; try < 8; try++ {
		u := socket.UioBuf([]byte("warm-up"))
		cli.Send(context.Background(), nil, &u, nil, nil, 0)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		w := socket.UioBuf(warm)
		err := cli.Receive(ctx, nil, &w, nil, nil, nil)
		cancel()
		if err == nil {
			break
		}
	}
	msg := make([]byte, d.size)
	start := time.Now()
	var total time.Duration
	for i := 0; i < d.count; i++ {
		binary.BigEndian.PutUint32(msg, uint32(i))
		binary.BigEndian.PutUint64(msg[4:], uint64(time.Since(start)))
		u := socket.UioBuf(msg)
		if err := cli.Send(context.Background(), nil, &u, nil, nil, 0); err == nil {
			sent++
		}
	}
	buf := make([]byte, d.size+1)
	// Read echoes until every datagram is back or none has come for a
	// while (losses); a loaded machine may be slow, so the wait is long.
	for got < sent {
		ctx, cancel := context.WithTimeout(context.Background(), 20*d.wires.delay+time.Second)
		u := socket.UioBuf(buf)
		err := cli.Receive(ctx, nil, &u, nil, nil, nil)
		cancel()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			break
		}
		if err != nil {
			return sent, got, 0, err
		}
		if n := len(buf) - u.Resid; n == d.size {
			got++
			total += time.Since(start) - time.Duration(binary.BigEndian.Uint64(buf[4:]))
		}
	}
	if got > 0 {
		rtt = total / time.Duration(got)
	}
	return sent, got, rtt, nil
}

// keep holds so open until the demo ends, for the tables.
func (d *netDemo) keep(so *socket.Socket) {
	d.mu.Lock()
	d.open = append(d.open, so)
	d.mu.Unlock()
}
