package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/socket"
)

const pingUsage = `usage: bsdnet ping [flags] [host]

Sends ICMP echo requests from a raw socket (uid 0) on a bsdnet stack and
prints the replies and a summary as ping(8) does. The stack is host a of
the demo topology, built in this process with no root and no setup:

	a (10.1.0.1, fd01::1) -- r (router) -- b (10.2.0.2, fd02::2)

host is an address (an IPv6 one is pinged with ICMPv6) or one of the
names a, r and b; the default is b. Flags may come before or after host.
The exit status is 0 when a reply came back, 2 otherwise.

Flags:
`

// pingOpts are the settings of one ping run.
type pingOpts struct {
	count    int
	interval time.Duration
	size     int
	wait     time.Duration
	v6       bool
	delay    time.Duration
	loss     float64
	seed     uint64
}

func ping(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return pingMain(ctx, args, stdout, stderr)
}

// pingMain is the ping subcommand; ctx ends the run early (an interrupt),
// after which the summary is printed as usual.
func pingMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ping", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), pingUsage)
		fs.PrintDefaults()
	}
	var o pingOpts
	fs.IntVar(&o.count, "c", 0, "stop after sending this many requests (0: until interrupted)")
	fs.DurationVar(&o.interval, "i", time.Second, "wait this long between requests")
	fs.IntVar(&o.size, "s", 56, "bytes of data in each request (the first 8 carry the send time)")
	fs.DurationVar(&o.wait, "W", 2*time.Second, "after the last request, wait this long for replies")
	fs.BoolVar(&o.v6, "6", false, "ping a host named a, r or b at its IPv6 address")
	fs.DurationVar(&o.delay, "delay", 2*time.Millisecond, "one-way delay of each wire")
	fs.Float64Var(&o.loss, "loss", 0, "probability that a wire loses a frame")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of every random choice (IDs, faults)")
	// Flags may follow the host, as ping(8) users type them.
	var hosts []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		hosts = append(hosts, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(hosts) > 1 {
		fs.Usage()
		return fmt.Errorf("ping: more than one host: %q", hosts)
	}
	host := "b"
	if len(hosts) == 1 {
		host = hosts[0]
	}
	dst, err := pingResolve(host, o.v6)
	if err != nil {
		return err
	}
	maxSize := 65535 - header.IPv4MinLen - header.ICMPv4MinLen
	if dst.Is6() {
		maxSize = 65535 - header.ICMPv6MinLen
	}
	switch {
	case o.count < 0:
		return errors.New("ping: -c must not be negative")
	case o.interval <= 0:
		return errors.New("ping: -i must be positive")
	case o.size < 0 || o.size > maxSize:
		return fmt.Errorf("ping: -s must be within 0..%d", maxSize)
	case o.wait <= 0:
		return errors.New("ping: -W must be positive")
	case o.loss < 0 || o.loss >= 1:
		return errors.New("ping: -loss must be in [0,1)")
	case o.delay < 0:
		return errors.New("ping: -delay must not be negative")
	}
	w := wireOpts{delay: o.delay, loss: o.loss, seed: o.seed}
	t, err := newTopology(w.faults(), w.seed)
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	defer t.Close()
	fmt.Fprintf(stdout, "bsdnet ping: from host a of %s\n", topologyLine(w))
	p, err := newPinger(t.a, dst, uint16(o.seed*0x9e37+uint64(os.Getpid())), o.size, stdout)
	if err != nil {
		return err
	}
	defer p.so.Close()
	return p.run(ctx, o)
}

// pingResolve turns a host argument into an address.
func pingResolve(host string, v6 bool) (netip.Addr, error) {
	a, err := resolveHost(host, v6)
	if err != nil {
		return a, fmt.Errorf("ping: %w", err)
	}
	return a, nil
}

// pinger sends echo requests on a raw socket and collects the replies.
type pinger struct {
	so     *socket.Socket
	dst    netip.Addr
	id     uint16
	size   int
	stdout io.Writer
	start  time.Time

	mu       sync.Mutex
	sent     int
	received int // distinct replies
	dups     int
	errs     int                 // ICMP errors about our requests
	seen     map[uint16]struct{} // sequence numbers answered
	rtts     []time.Duration
	allIn    chan struct{} // closed when every request sent has a reply
	expected int           // requests that will be sent (0: unbounded)
}

// newPinger opens a raw ICMP (or ICMPv6) socket on st as root.
func newPinger(st *bsdnet.Stack, dst netip.Addr, id uint16, size int, stdout io.Writer) (*pinger, error) {
	fam, proto := socket.AF_INET, inet.IPPROTO_ICMP
	if dst.Is6() {
		fam, proto = socket.AF_INET6, inet.IPPROTO_ICMPV6
	}
	so, err := st.Socket(fam, socket.SOCK_RAW, proto, socket.RootCred())
	if err != nil {
		return nil, fmt.Errorf("ping: raw socket: %w", err)
	}
	return &pinger{so: so, dst: dst, id: id, size: size, stdout: stdout,
		seen: make(map[uint16]struct{}), allIn: make(chan struct{})}, nil
}

// run sends the requests, one per interval, and prints the summary once
// every reply is in, the wait after the last request is over or ctx ends.
func (p *pinger) run(ctx context.Context, o pingOpts) error {
	p.start = time.Now()
	p.expected = o.count
	fmt.Fprintf(p.stdout, "PING %s (%s): %d data bytes\n", p.dst, p.dst, p.size)
	rctx, cancel := context.WithCancel(ctx)
	received := make(chan struct{})
	go func() {
		defer close(received)
		p.receive(rctx)
	}()
	var sendErr error
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
loop:
	for seq := 0; o.count == 0 || seq < o.count; seq++ {
		if err := p.send(uint16(seq)); err != nil {
			// ping(8) reports a failed send and goes on; a send that can
			// never work (no route) ends the run.
			fmt.Fprintf(p.stdout, "ping: sendto: %v\n", err)
			if errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EADDRNOTAVAIL) {
				sendErr = err
				break
			}
		}
		if o.count != 0 && seq == o.count-1 {
			break
		}
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
	}
	if sendErr == nil {
		select {
		case <-ctx.Done():
		case <-p.allIn:
		case <-time.After(o.wait):
		}
	}
	cancel()
	<-received
	return p.summary(sendErr)
}

// send sends echo request seq, with the time since the start in its first
// 8 data bytes.
func (p *pinger) send(seq uint16) error {
	msg := make([]byte, header.ICMPv4MinLen+p.size)
	for i := header.ICMPv4MinLen; i < len(msg); i++ {
		msg[i] = byte(i - header.ICMPv4MinLen)
	}
	if p.size >= 8 {
		binary.BigEndian.PutUint64(msg[header.ICMPv4MinLen:], uint64(time.Since(p.start)))
	}
	if p.dst.Is4() {
		ic := header.ICMPv4(msg)
		ic.SetType(header.ICMPv4Echo)
		ic.SetID(p.id)
		ic.SetSeq(seq)
		ic.ComputeChecksum()
	} else {
		// The stack computes the ICMPv6 checksum (RFC 3542 3.1).
		ic := header.ICMPv6(msg)
		ic.SetType(header.ICMPv6EchoRequest)
		ic.SetID(p.id)
		ic.SetSeq(seq)
	}
	u := socket.UioBuf(msg)
	err := p.so.Send(context.Background(), socket.SockaddrFromAddrPort(netip.AddrPortFrom(p.dst, 0)), &u, nil, nil, 0)
	if err == nil {
		p.mu.Lock()
		p.sent++
		p.mu.Unlock()
	}
	return err
}

// receive reads ICMP messages until ctx ends, printing the replies to our
// requests and the errors about them.
func (p *pinger) receive(ctx context.Context) {
	buf := make([]byte, 65536+header.IPv4MinLen)
	for {
		u := socket.UioBuf(buf)
		var from socket.Sockaddr
		if err := p.so.Receive(ctx, &from, &u, nil, nil, nil); err != nil {
			return
		}
		now := time.Since(p.start)
		pkt := buf[:len(buf)-u.Resid]
		src := netip.Addr{}
		if ap, ok := sockaddrAddrPort(from); ok {
			src = ap.Addr()
		}
		if p.dst.Is4() {
			p.input4(pkt, src, now)
		} else {
			p.input6(pkt, src, now)
		}
	}
}

func sockaddrAddrPort(sa socket.Sockaddr) (netip.AddrPort, bool) {
	switch a := sa.(type) {
	case socket.SockaddrInet4:
		return a.AddrPort(), true
	case *socket.SockaddrInet4:
		return a.AddrPort(), true
	case socket.SockaddrInet6:
		return a.AddrPort(), true
	case *socket.SockaddrInet6:
		return a.AddrPort(), true
	}
	return netip.AddrPort{}, false
}

// input4 handles an IPv4 packet (raw IPv4 sockets get the IP header).
func (p *pinger) input4(pkt []byte, src netip.Addr, now time.Duration) {
	if len(pkt) < header.IPv4MinLen {
		return
	}
	ip := header.IPv4(pkt)
	hl := ip.HeaderLen()
	if ip.Version() != 4 || hl < header.IPv4MinLen || len(pkt) < hl+header.ICMPv4MinLen {
		return
	}
	if !src.IsValid() {
		src = ip.Src()
	}
	ic := header.ICMPv4(pkt[hl:])
	switch ic.Type() {
	case header.ICMPv4EchoReply:
		if ic.ID() != p.id || !ic.ChecksumValid() {
			return
		}
		p.reply(len(ic), src, ic.Seq(), fmt.Sprintf(" ttl=%d", ip.TTL()), ic.Payload(), now)
	case header.ICMPv4DestUnreachable, header.ICMPv4TimeExceeded, header.ICMPv4ParamProblem, header.ICMPv4Redirect:
		// The error quotes our request's IP header and first 8 bytes.
		q := ic.Payload()
		if len(q) < header.IPv4MinLen {
			return
		}
		qip := header.IPv4(q)
		qhl := qip.HeaderLen()
		if qhl < header.IPv4MinLen || len(q) < qhl+header.ICMPv4MinLen || qip.Protocol() != header.ProtoICMP {
			return
		}
		qic := header.ICMPv4(q[qhl:])
		if qic.Type() != header.ICMPv4Echo || qic.ID() != p.id {
			return
		}
		p.icmpError(len(ic), src, icmp4Text(ic.Type(), ic.Code()), qic.Seq())
	}
}

// input6 handles an ICMPv6 message (raw IPv6 sockets get no IP header).
func (p *pinger) input6(pkt []byte, src netip.Addr, now time.Duration) {
	if len(pkt) < header.ICMPv6MinLen {
		return
	}
	ic := header.ICMPv6(pkt)
	switch ic.Type() {
	case header.ICMPv6EchoReply:
		if ic.ID() != p.id {
			return
		}
		// The hop limit of IPv6 replies is not shown: bsdnet has no
		// IPV6_RECVHOPLIMIT yet.
		p.reply(len(ic), src, ic.Seq(), "", ic.Payload(), now)
	case header.ICMPv6DestUnreachable, header.ICMPv6PacketTooBig, header.ICMPv6TimeExceeded, header.ICMPv6ParamProblem:
		q := ic.Payload()
		if len(q) < header.IPv6Len+header.ICMPv6MinLen || q[6] != header.ProtoICMPv6 {
			return
		}
		qic := header.ICMPv6(q[header.IPv6Len:])
		if qic.Type() != header.ICMPv6EchoRequest || qic.ID() != p.id {
			return
		}
		p.icmpError(len(ic), src, icmp6Text(ic.Type(), ic.Code()), qic.Seq())
	}
}

// reply records and prints an echo reply.
func (p *pinger) reply(n int, src netip.Addr, seq uint16, extra string, data []byte, now time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, dup := p.seen[seq]
	timing := ""
	if p.size >= 8 && len(data) >= 8 {
		rtt := now - time.Duration(binary.BigEndian.Uint64(data))
		timing = fmt.Sprintf(" time=%.3f ms", float64(rtt)/1e6)
		if !dup {
			p.rtts = append(p.rtts, rtt)
		}
	}
	if dup {
		p.dups++
		timing += " (DUP!)"
	} else {
		p.seen[seq] = struct{}{}
		p.received++
		if p.expected > 0 && p.received == p.expected {
			close(p.allIn)
		}
	}
	fmt.Fprintf(p.stdout, "%d bytes from %s: icmp_seq=%d%s%s\n", n, src, seq, extra, timing)
}

// icmpError prints an ICMP error about one of our requests.
func (p *pinger) icmpError(n int, src netip.Addr, text string, seq uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs++
	fmt.Fprintf(p.stdout, "%d bytes from %s: %s (icmp_seq=%d)\n", n, src, text, seq)
}

// summary prints the statistics as ping(8) does; it fails when no reply
// came back.
func (p *pinger) summary(sendErr error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.stdout, "\n--- %s ping statistics ---\n", p.dst)
	fmt.Fprintf(p.stdout, "%d packets transmitted, %d packets received, ", p.sent, p.received)
	if p.dups > 0 {
		fmt.Fprintf(p.stdout, "+%d duplicates, ", p.dups)
	}
	if p.errs > 0 {
		fmt.Fprintf(p.stdout, "+%d errors, ", p.errs)
	}
	loss := 0.0
	if p.sent > 0 {
		loss = float64(p.sent-p.received) * 100 / float64(p.sent)
	}
	fmt.Fprintf(p.stdout, "%.1f%% packet loss\n", loss)
	if len(p.rtts) > 0 {
		lo, hi := p.rtts[0], p.rtts[0]
		var sum, sum2 float64
		for _, r := range p.rtts {
			lo, hi = min(lo, r), max(hi, r)
			ms := float64(r) / 1e6
			sum += ms
			sum2 += ms * ms
		}
		n := float64(len(p.rtts))
		avg := sum / n
		sd := math.Sqrt(max(0, sum2/n-avg*avg))
		fmt.Fprintf(p.stdout, "round-trip min/avg/max/stddev = %.3f/%.3f/%.3f/%.3f ms\n",
			float64(lo)/1e6, avg, float64(hi)/1e6, sd)
	}
	switch {
	case sendErr != nil:
		return fmt.Errorf("ping: %s: %w", p.dst, sendErr)
	case p.received == 0:
		return fmt.Errorf("ping: no reply from %s", p.dst)
	}
	return nil
}

// icmp4Text says what an ICMP error means, as ping(8) prints it.
func icmp4Text(typ, code uint8) string {
	switch typ {
	case header.ICMPv4DestUnreachable:
		switch code {
		case header.ICMPv4NetUnreachable:
			return "Destination Net Unreachable"
		case header.ICMPv4HostUnreachable:
			return "Destination Host Unreachable"
		case header.ICMPv4ProtoUnreachable:
			return "Destination Protocol Unreachable"
		case header.ICMPv4PortUnreachable:
			return "Destination Port Unreachable"
		case header.ICMPv4FragNeeded:
			return "Frag needed and DF set"
		case header.ICMPv4AdminProhibited:
			return "Communication Administratively Prohibited"
		}
		return fmt.Sprintf("Destination Unreachable, code %d", code)
	case header.ICMPv4TimeExceeded:
		if code == header.ICMPv4ReassemblyTimeExceeded {
			return "Frag reassembly time exceeded"
		}
		return "Time to live exceeded"
	case header.ICMPv4ParamProblem:
		return "Parameter problem"
	case header.ICMPv4Redirect:
		return "Redirect"
	}
	return fmt.Sprintf("ICMP type %d code %d", typ, code)
}

// icmp6Text says what an ICMPv6 error means.
func icmp6Text(typ, code uint8) string {
	switch typ {
	case header.ICMPv6DestUnreachable:
		switch code {
		case header.ICMPv6NoRoute:
			return "Destination Unreachable: no route"
		case header.ICMPv6AdminProhibited:
			return "Destination Unreachable: administratively prohibited"
		case header.ICMPv6AddrUnreachable:
			return "Destination Unreachable: address unreachable"
		case header.ICMPv6PortUnreachable:
			return "Destination Unreachable: port unreachable"
		}
		return fmt.Sprintf("Destination Unreachable, code %d", code)
	case header.ICMPv6PacketTooBig:
		return "Packet too big"
	case header.ICMPv6TimeExceeded:
		if code == header.ICMPv6ReassemblyTimeExceeded {
			return "Fragment reassembly time exceeded"
		}
		return "Hop limit exceeded"
	case header.ICMPv6ParamProblem:
		return "Parameter problem"
	}
	return fmt.Sprintf("ICMPv6 type %d code %d", typ, code)
}
