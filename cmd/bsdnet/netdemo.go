package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/socket"
)

// udpDemo builds hosts a and b joined through router r by wires with the
// given faults, echoes count datagrams of size bytes from a to b over IPv4
// and IPv6, and prints netstat's views of the hosts.
type udpDemo struct {
	delay time.Duration
	loss  float64
	seed  uint64
	count int
	size  int
	pcap  string
	open  []*socket.Socket // sockets kept open for the tables
}

func (d *udpDemo) run(stdout io.Writer) error {
	n := bsdnet.NewNetwork(d.seed)
	defer n.Close()
	a, r, b := n.Host("a"), n.Host("r", bsdnet.WithForwarding()), n.Host("b")
	f := link.Faults{Delay: d.delay, Loss: d.loss}
	wa, err := n.Connect(a, "10.1.0.1/24, fd01::1/64", r, "10.1.0.254/24, fd01::fe/64", f)
	if err != nil {
		return err
	}
	if _, err := n.Connect(r, "10.2.0.254/24, fd02::fe/64", b, "10.2.0.2/24, fd02::2/64", f); err != nil {
		return err
	}
	for _, rt := range []struct {
		h   *bsdnet.Stack
		gw4 string
		gw6 string
	}{{a, "10.1.0.254", "fd01::fe"}, {b, "10.2.0.254", "fd02::fe"}} {
		if err := rt.h.AddRoute("default", rt.gw4); err != nil {
			return err
		}
		if err := rt.h.AddRoute("default", rt.gw6); err != nil {
			return err
		}
	}
	if d.pcap != "" {
		fh, err := os.Create(d.pcap)
		if err != nil {
			return err
		}
		defer fh.Close()
		ea, _ := wa.Ends()
		stop, err := link.Capture(ea, fh)
		if err != nil {
			return err
		}
		defer stop()
	}
	fmt.Fprintf(stdout, "\nUDP: a (10.1.0.1, fd01::1) -- r (router) -- b (10.2.0.2, fd02::2); each wire: delay %v, loss %.1f%%, seed %d\n",
		d.delay, d.loss*100, d.seed)
	for _, dst := range []string{"10.2.0.2:7", "[fd02::2]:7"} {
		sent, got, rtt, err := d.echo(a, b, netip.MustParseAddrPort(dst))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %-13s %d datagrams of %d bytes sent, %d echoed back intact, mean round trip %v\n",
			dst, sent, d.size, got, rtt.Round(time.Microsecond))
	}
	fmt.Fprintln(stdout)
	netstatA(stdout, map[string]*bsdnet.Stack{"a": a, "b": b})
	fmt.Fprintln(stdout)
	netstatS(stdout, map[string]*bsdnet.Stack{"a": a, "r": r, "b": b})
	fmt.Fprintln(stdout)
	netstatI(stdout, []*bsdnet.Stack{a, r, b})
	for _, so := range d.open {
		so.Close()
	}
	return nil
}

// echo runs a UDP echo server on b and sends count datagrams from a,
// reading the echoes back with a deadline so that losses do not hang.
func (d *udpDemo) echo(a, b *bsdnet.Stack, dst netip.AddrPort) (sent, got int, rtt time.Duration, err error) {
	fam := socket.AF_INET
	if dst.Addr().Is6() {
		fam = socket.AF_INET6
	}
	root := socket.RootCred()
	srv, err := b.Socket(fam, socket.SOCK_DGRAM, 0, root)
	if err != nil {
		return 0, 0, 0, err
	}
	d.open = append(d.open, srv)
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
	d.open = append(d.open, cli)
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
		ctx, cancel := context.WithTimeout(context.Background(), 20*d.delay+time.Second)
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

// netstatA prints the inet sockets of each host as netstat -an does.
func netstatA(w io.Writer, hosts map[string]*bsdnet.Stack) {
	fmt.Fprintln(w, "netstat -an -f inet (hosts a and b)")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tPROTO\tRECV-Q\tSEND-Q\tLOCAL ADDRESS\tFOREIGN ADDRESS\t(STATE)")
	names := sortedKeys(hosts)
	for _, name := range names {
		for _, x := range hosts[name].Vnet().Xsockets() {
			if x.Family != socket.AF_INET && x.Family != socket.AF_INET6 {
				continue
			}
			proto := "udp4"
			if x.Family == socket.AF_INET6 {
				proto = "udp6"
			}
			if x.Type == socket.SOCK_RAW {
				proto = "raw" + proto[3:]
			}
			state := ""
			if x.State&socket.SS_ISCONNECTED != 0 {
				state = "CONNECTED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", name, proto, x.Rcv.Cc, x.Snd.Cc,
				socket.FormatSockaddr(x.Local), foreign(x.Foreign), state)
		}
	}
	tw.Flush()
}

func foreign(sa socket.Sockaddr) string {
	if sa == nil {
		return "*.*"
	}
	return socket.FormatSockaddr(sa)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// netstatS prints the protocol counters that moved, as netstat -s does.
func netstatS(w io.Writer, hosts map[string]*bsdnet.Stack) {
	fmt.Fprintln(w, "netstat -s (counters that moved)")
	for _, name := range sortedKeys(hosts) {
		st := &hosts[name].Inet().Stats
		fmt.Fprintf(w, "%s:\n", name)
		lines := []struct {
			v    uint64
			what string
		}{
			{st.IP.Total.Load() + st.IP6.Total.Load(), "IP packets received"},
			{st.IP.Delivered.Load() + st.IP6.Delivered.Load(), "packets for this host"},
			{st.IP.Forward.Load() + st.IP6.Forward.Load(), "packets forwarded"},
			{st.IP.LocalOut.Load() + st.IP6.LocalOut.Load(), "packets sent from this host"},
			{st.IP.Fragments.Load() + st.IP6.Fragments.Load(), "fragments received"},
			{st.IP.Reassembled.Load() + st.IP6.Reassembled.Load(), "packets reassembled ok"},
			{st.IP.OFragments.Load() + st.IP6.OFragments.Load(), "fragments created"},
			{st.UDP.IPackets.Load(), "UDP datagrams received"},
			{st.UDP.OPackets.Load(), "UDP datagrams output"},
			{st.UDP.NoPort.Load(), "UDP datagrams with no socket"},
			{st.UDP.BadSum.Load(), "UDP datagrams with bad checksum"},
			{st.ICMP.Error.Load() + st.ICMP6.Error.Load(), "ICMP errors sent"},
			{st.ARP.TxRequests.Load(), "ARP requests sent"},
			{st.ARP.RxReplies.Load(), "ARP replies received"},
			{st.ND.TxRequests.Load(), "neighbor solicitations sent"},
			{st.ND.RxReplies.Load(), "neighbor advertisements received"},
		}
		for _, l := range lines {
			if l.v != 0 {
				fmt.Fprintf(w, "\t%d %s\n", l.v, l.what)
			}
		}
	}
}

// netstatI prints the interfaces of each host as netstat -i does.
func netstatI(w io.Writer, hosts []*bsdnet.Stack) {
	fmt.Fprintln(w, "netstat -i")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tNAME\tMTU\tNETWORK\tADDRESS\tIPKTS\tIERRS\tIDROP\tOPKTS\tOERRS\tODROP")
	for _, h := range hosts {
		for _, ifa := range h.Inet().Interfaces() {
			ifp := ifa.Ifnet()
			network, addr := "<Link>", ifp.HWAddr().String()
			if addr == "" {
				addr = "-"
			}
			for _, p := range ifa.Addrs() {
				if p.Addr().Is4() {
					network, addr = p.Masked().String(), p.Addr().String()
					break
				}
			}
			s := &ifp.Stats
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", h.Name(), ifp.Name(), ifp.MTU(), network, addr,
				s.Ipackets.Load(), s.Ierrors.Load(), s.Iqdrops.Load(), s.Opackets.Load(), s.Oerrors.Load(), s.Oqdrops.Load())
		}
	}
	tw.Flush()
}
