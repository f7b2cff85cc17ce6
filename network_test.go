package bsdnet_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/socket"
)

// Two hosts and a router between them: a—r—b. Each Connect makes a wire
// and an interface on both hosts (eth0, eth1, ... in order) with the
// addresses given; r forwards, and a and b route through it. A datagram
// from a crosses r to b, which sees a's address as its source.
func ExampleNetwork() {
	n := bsdnet.NewNetwork(1) // every random choice derives from the seed
	defer n.Close()
	a := n.Host("a")
	r := n.Host("r", bsdnet.WithForwarding())
	b := n.Host("b")
	if _, err := n.Connect(a, "10.1.0.1/24, fd01::1/64", r, "10.1.0.254/24, fd01::fe/64", link.Faults{}); err != nil {
		panic(err)
	}
	if _, err := n.Connect(r, "10.2.0.254/24, fd02::fe/64", b, "10.2.0.2/24, fd02::2/64", link.Faults{}); err != nil {
		panic(err)
	}
	for _, rt := range []struct {
		host *bsdnet.Stack
		gw   string
	}{{a, "10.1.0.254"}, {a, "fd01::fe"}, {b, "10.2.0.254"}, {b, "fd02::fe"}} {
		if err := rt.host.AddRoute("default", rt.gw); err != nil {
			panic(err)
		}
	}

	cred := socket.RootCred()
	srv, _ := b.Socket(socket.AF_INET, socket.SOCK_DGRAM, 0, cred)
	if err := srv.Bind(socket.SockaddrInet4{Addr: [4]byte{10, 2, 0, 2}, Port: 7}); err != nil {
		panic(err)
	}
	cli, _ := a.Socket(socket.AF_INET, socket.SOCK_DGRAM, 0, cred)
	if err := cli.Bind(socket.SockaddrInet4{Port: 5000}); err != nil {
		panic(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := socket.UioBuf([]byte("hello across the router"))
	if err := cli.Send(ctx, socket.SockaddrInet4{Addr: [4]byte{10, 2, 0, 2}, Port: 7}, &out, nil, nil, 0); err != nil {
		panic(err)
	}
	buf := make([]byte, 100)
	in := socket.UioBuf(buf)
	var from socket.Sockaddr
	if err := srv.Receive(ctx, &from, &in, nil, nil, nil); err != nil {
		panic(err)
	}
	fmt.Printf("b received %q from %v\n", buf[:len(buf)-in.Resid], from)
	fmt.Println("r forwarded", r.Inet().Stats.IP.Forward.Load(), "packet")
	// Output:
	// b received "hello across the router" from 10.1.0.1.5000
	// r forwarded 1 packet
}

// ---- helpers ----

func nwAddr(s string) socket.Sockaddr {
	return socket.SockaddrFromAddrPort(netip.MustParseAddrPort(s))
}

func nwFam(s string) int {
	if netip.MustParseAddrPort(s).Addr().Is4() {
		return socket.AF_INET
	}
	return socket.AF_INET6
}

func nwSocket(t testing.TB, st *bsdnet.Stack, fam, typ, proto int) *socket.Socket {
	t.Helper()
	so, err := st.Socket(fam, typ, proto, socket.RootCred())
	if err != nil {
		t.Fatalf("socket(%d, %d, %d): %v", fam, typ, proto, err)
	}
	t.Cleanup(func() { so.Close() })
	return so
}

// nwUDP returns a UDP socket with roomy buffers, bound to bind unless it
// is empty.
func nwUDP(t testing.TB, st *bsdnet.Stack, fam int, bind string) *socket.Socket {
	t.Helper()
	so := nwSocket(t, st, fam, socket.SOCK_DGRAM, 0)
	for _, o := range []int{socket.SO_SNDBUF, socket.SO_RCVBUF} {
		if err := so.SetOptInt(socket.SOL_SOCKET, o, 1<<18); err != nil {
			t.Fatal(err)
		}
	}
	if bind != "" {
		if err := so.Bind(nwAddr(bind)); err != nil {
			t.Fatalf("bind %s: %v", bind, err)
		}
	}
	return so
}

func nwSend(so *socket.Socket, b []byte, to socket.Sockaddr) error {
	u := socket.UioBuf(b)
	return so.Send(context.Background(), to, &u, nil, nil, 0)
}

// nwRecv receives one datagram, waiting at most d (of virtual time
// inside a synctest bubble).
func nwRecv(so *socket.Socket, d time.Duration) ([]byte, socket.Sockaddr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return nwRecvCtx(ctx, so)
}

func nwRecvCtx(ctx context.Context, so *socket.Socket) ([]byte, socket.Sockaddr, error) {
	return nwRecvBuf(ctx, so, make([]byte, 65536))
}

// nwRecvBuf receives one datagram into b.
func nwRecvBuf(ctx context.Context, so *socket.Socket, b []byte) ([]byte, socket.Sockaddr, error) {
	u := socket.UioBuf(b)
	var from socket.Sockaddr
	err := so.Receive(ctx, &from, &u, nil, nil, nil)
	return b[:len(b)-u.Resid], from, err
}

func nwAddrPort(sa socket.Sockaddr) netip.AddrPort {
	switch x := sa.(type) {
	case socket.SockaddrInet4:
		return x.AddrPort()
	case socket.SockaddrInet6:
		return x.AddrPort()
	}
	return netip.AddrPort{}
}

func nwMust(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// nwICMP is what a raw ICMP socket read: the ICMP message and the
// address of the host that sent it.
type nwICMP struct {
	typ, code uint8
	body      []byte // the message from its type byte
	from      netip.Addr
}

// nwReadICMP reads a raw ICMP or ICMPv6 socket until a message of type typ
// arrives or d of (virtual) time passes.
func nwReadICMP(so *socket.Socket, v6 bool, typ uint8, d time.Duration) (nwICMP, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		pkt, from, err := nwRecvCtx(ctx, so)
		if err != nil {
			return nwICMP{}, err
		}
		if !v6 {
			if len(pkt) < header.IPv4MinLen {
				continue
			}
			pkt = pkt[header.IPv4(pkt).HeaderLen():]
		}
		if len(pkt) < 8 || pkt[0] != typ {
			continue
		}
		return nwICMP{typ: pkt[0], code: pkt[1], body: pkt, from: nwAddrPort(from).Addr().WithZone("")}, nil
	}
}

// nwRouted is three stacks a—r—b, r forwarding, and the two wires.
type nwRouted struct {
	n      *bsdnet.Network
	a, r   *bsdnet.Stack
	b      *bsdnet.Stack
	ar, rb *link.Wire
}

// newNwRouted builds a—r—b with default routes both ways, for IPv4 and
// IPv6. rb is the r—b wire, made with the given MTU (the default when 0).
func newNwRouted(t testing.TB, seed uint64, rbMTU int) *nwRouted {
	t.Helper()
	n := bsdnet.NewNetwork(seed)
	t.Cleanup(func() { n.Close() })
	rn := &nwRouted{n: n}
	rn.a = n.Host("a")
	rn.r = n.Host("r", bsdnet.WithForwarding())
	rn.b = n.Host("b")
	var err error
	rn.ar, err = n.Connect(rn.a, "10.1.0.1/24, fd01::1/64", rn.r, "10.1.0.254/24, fd01::fe/64", link.Faults{})
	nwMust(t, err)
	if rbMTU == 0 {
		rn.rb, err = n.Connect(rn.r, "10.2.0.254/24, fd02::fe/64", rn.b, "10.2.0.2/24, fd02::2/64", link.Faults{})
		nwMust(t, err)
	} else {
		rn.rb = link.NewWire(link.WireConfig{NameA: "eth1", NameB: "eth0", MTU: rbMTU, Seed: seed + 99})
		t.Cleanup(func() { rn.rb.Close() })
		ra, rb := rn.rb.Ends()
		nwMust(t, rn.r.AddInterface(ra, "10.2.0.254/24", "fd02::fe/64"))
		nwMust(t, rn.b.AddInterface(rb, "10.2.0.2/24", "fd02::2/64"))
	}
	for _, rt := range []struct {
		host *bsdnet.Stack
		gw   string
	}{{rn.a, "10.1.0.254"}, {rn.a, "fd01::fe"}, {rn.b, "10.2.0.254"}, {rn.b, "fd02::fe"}} {
		nwMust(t, rt.host.AddRoute("default", rt.gw))
	}
	return rn
}

// ---- UDP echo under faults ----

const nwEchoCount = 200

// nwEchoPayload is datagram i's contents: its number, then bytes that
// depend on it.
func nwEchoPayload(i int) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b, uint32(i))
	for j := 4; j < len(b); j++ {
		b[j] = byte(i*7 + j*13)
	}
	return b
}

// nwEchoServer answers every datagram on so with the same bytes, until ctx
// ends. The returned channel closes when it has stopped.
func nwEchoServer(ctx context.Context, so *socket.Socket) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			b, from, err := nwRecvBuf(ctx, so, buf)
			if err != nil {
				return
			}
			nwSend(so, b, from) // a send may fail (a full queue): UDP
		}
	}()
	return done
}

// nwEchoResult is what one run of the echo exchange saw.
type nwEchoResult struct {
	received int // echoes, duplicates included
	unique   int // distinct datagrams echoed
	reorders int // echoes that arrived after one with a higher number
	wire     link.WireStats
	badsum   uint64 // checksum drops on both hosts (IP, UDP)
	elapsed  time.Duration
}

// nwRunEcho joins two hosts of a network with the seed by a wire, primes
// address resolution, applies f, and has a client send nwEchoCount numbered
// datagrams to an echo server on the other host. Every echo must be
// byte-exact, from the server, and of a datagram sent.
func nwRunEcho(t *testing.T, seed uint64, v6 bool, f link.Faults, pace time.Duration) nwEchoResult {
	defer func() {
		if t.Failed() {
			t.Logf("seed %d, IPv6 %v, faults %+v", seed, v6, f)
		}
	}()
	n := bsdnet.NewNetwork(seed)
	defer n.Close()
	a, b := n.Host("a"), n.Host("b")
	w, err := n.Connect(a, "10.0.0.1/24, fd00::1/64", b, "10.0.0.2/24, fd00::2/64", link.Faults{})
	nwMust(t, err)
	fam, srvAddr, cliAddr := socket.AF_INET, "10.0.0.2:7", "10.0.0.1:5000"
	if v6 {
		fam, srvAddr, cliAddr = socket.AF_INET6, "[fd00::2]:7", "[fd00::1]:5000"
	}
	srv := nwUDP(t, b, fam, srvAddr)
	cli := nwUDP(t, a, fam, cliAddr)
	to := nwAddr(srvAddr)

	// Resolve addresses on a perfect wire first so that a lost ARP or ND
	// packet does not hold back the whole run.
	nwMust(t, nwSend(cli, []byte("prime"), to))
	if got, _, err := nwRecv(srv, time.Second); err != nil || string(got) != "prime" {
		t.Fatalf("priming: %q %v", got, err)
	}
	nwMust(t, nwSend(srv, []byte("prime"), nwAddr(cliAddr)))
	if got, _, err := nwRecv(cli, time.Second); err != nil || string(got) != "prime" {
		t.Fatalf("priming reply: %q %v", got, err)
	}
	w.SetFaults(link.Both, f)

	sctx, stop := context.WithCancel(context.Background())
	done := nwEchoServer(sctx, srv)
	defer func() { stop(); <-done }()

	start := time.Now()
	for i := range nwEchoCount {
		if err := nwSend(cli, nwEchoPayload(i), to); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if pace > 0 {
			time.Sleep(pace)
		}
	}
	var res nwEchoResult
	seen := make(map[int]bool)
	last := -1
	want := netip.MustParseAddrPort(srvAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	buf := make([]byte, 2048)
	for {
		got, from, err := nwRecvBuf(ctx, cli, buf)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			break
		}
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if ap := nwAddrPort(from); ap != want {
			t.Fatalf("echo from %v, want %v", ap, want)
		}
		if len(got) != 64 {
			t.Fatalf("echo of %d bytes, want 64: %x", len(got), got)
		}
		i := int(binary.BigEndian.Uint32(got))
		if i >= nwEchoCount || !bytes.Equal(got, nwEchoPayload(i)) {
			t.Fatalf("echo does not match a datagram sent: %x", got)
		}
		res.received++
		if !seen[i] {
			seen[i] = true
			res.unique++
			res.elapsed = time.Since(start)
		}
		if i < last {
			res.reorders++
		}
		last = max(last, i)
	}
	res.wire = w.Stats()
	for _, h := range []*bsdnet.Stack{a, b} {
		st := &h.Inet().Stats
		res.badsum += st.IP.BadSum.Load() + st.UDP.BadSum.Load()
	}
	return res
}

func TestUDPEchoUnderFaults(t *testing.T) {
	type totals struct {
		received, unique, reorders int
		wire                       link.DirStats // both directions summed
		badsum                     uint64
	}
	for _, tc := range []struct {
		name  string
		f     link.Faults
		pace  time.Duration
		check func(t *testing.T, r nwEchoResult)
		all   func(t *testing.T, sum totals)
	}{
		{
			name: "loss10",
			f:    link.Faults{Loss: 0.10},
			check: func(t *testing.T, r nwEchoResult) {
				// 0.9² = 81% expected; 60% is more than seven sigmas away.
				if r.unique < nwEchoCount*60/100 || r.received != r.unique {
					t.Errorf("received %d (%d unique) of %d", r.received, r.unique, nwEchoCount)
				}
			},
			all: func(t *testing.T, s totals) {
				if s.wire.Lost == 0 {
					t.Error("no frame was lost")
				}
			},
		},
		{
			name: "dup10",
			f:    link.Faults{Duplicate: 0.10},
			check: func(t *testing.T, r nwEchoResult) {
				// No loss: every datagram comes back, some more than once.
				if r.unique != nwEchoCount || r.received < nwEchoCount || r.received > 2*2*nwEchoCount {
					t.Errorf("received %d (%d unique) of %d", r.received, r.unique, nwEchoCount)
				}
			},
			all: func(t *testing.T, s totals) {
				if s.received <= s.unique || s.wire.Duplicated == 0 {
					t.Errorf("no duplicate arrived: %d received, %d unique, %d duplicated", s.received, s.unique, s.wire.Duplicated)
				}
			},
		},
		{
			name: "reorder20",
			f:    link.Faults{Reorder: 0.20, ReorderDelay: 3 * time.Millisecond},
			check: func(t *testing.T, r nwEchoResult) {
				if r.unique != nwEchoCount || r.received != nwEchoCount {
					t.Errorf("received %d (%d unique) of %d", r.received, r.unique, nwEchoCount)
				}
				if r.reorders == 0 {
					t.Error("echoes arrived in order")
				}
			},
		},
		{
			name: "corrupt5",
			f:    link.Faults{Corrupt: 0.05},
			check: func(t *testing.T, r nwEchoResult) {
				// 0.95² = 90% expected: a damaged frame is dropped, never
				// delivered (checked in nwRunEcho).
				if r.unique < nwEchoCount*75/100 || r.received != r.unique {
					t.Errorf("received %d (%d unique) of %d", r.received, r.unique, nwEchoCount)
				}
			},
			all: func(t *testing.T, s totals) {
				if s.wire.Corrupted == 0 || s.badsum == 0 {
					t.Errorf("%d frames corrupted, %d checksum drops", s.wire.Corrupted, s.badsum)
				}
			},
		},
		{
			name: "gilbert-elliott",
			// Bad periods of about 3 frames losing 80%, entered 5% of the
			// time: about 11% loss each way, in bursts.
			f: link.Faults{GE: &link.GilbertElliott{P: 0.05, R: 0.3, LossGood: 0, LossBad: 0.8}},
			check: func(t *testing.T, r nwEchoResult) {
				if r.unique < nwEchoCount*50/100 || r.received != r.unique {
					t.Errorf("received %d (%d unique) of %d", r.received, r.unique, nwEchoCount)
				}
			},
			all: func(t *testing.T, s totals) {
				if s.wire.Lost == 0 {
					t.Error("no frame was lost")
				}
			},
		},
		{
			name: "delay-jitter",
			f:    link.Faults{Delay: 20 * time.Millisecond, Jitter: 10 * time.Millisecond},
			pace: time.Millisecond,
			check: func(t *testing.T, r nwEchoResult) {
				if r.unique != nwEchoCount || r.received != nwEchoCount {
					t.Errorf("received %d (%d unique) of %d", r.received, r.unique, nwEchoCount)
				}
				// The last echo left 199 ms after the first datagram and
				// took 20±10 ms each way.
				if lo, hi := 199*time.Millisecond+20*time.Millisecond, 199*time.Millisecond+60*time.Millisecond; r.elapsed < lo || r.elapsed > hi {
					t.Errorf("last echo after %v, want within [%v, %v]", r.elapsed, lo, hi)
				}
				if r.reorders != 0 {
					t.Errorf("%d echoes out of order: jitter must not reorder", r.reorders)
				}
			},
		},
	} {
		for _, v6 := range []bool{false, true} {
			name := tc.name + "/ipv4"
			if v6 {
				name = tc.name + "/ipv6"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var sum totals
				for seed := uint64(1); seed <= 20; seed++ {
					var r nwEchoResult
					synctest.Test(t, func(t *testing.T) {
						r = nwRunEcho(t, seed, v6, tc.f, tc.pace)
					})
					if t.Failed() {
						t.Fatalf("seed %d: %+v", seed, r)
					}
					tc.check(t, r)
					if t.Failed() {
						t.Fatalf("seed %d: %+v", seed, r)
					}
					sum.received += r.received
					sum.unique += r.unique
					sum.reorders += r.reorders
					sum.badsum += r.badsum
					for _, d := range []link.DirStats{r.wire.AtoB, r.wire.BtoA} {
						sum.wire.Lost += d.Lost
						sum.wire.Duplicated += d.Duplicated
						sum.wire.Corrupted += d.Corrupted
						sum.wire.Reordered += d.Reordered
					}
				}
				t.Logf("20 seeds: %d echoes (%d distinct) of %d sent, %d out of order; wire: %d lost, %d duplicated, %d reordered, %d corrupted; %d checksum drops",
					sum.received, sum.unique, 20*nwEchoCount, sum.reorders, sum.wire.Lost, sum.wire.Duplicated, sum.wire.Reordered, sum.wire.Corrupted, sum.badsum)
				if tc.all != nil {
					tc.all(t, sum)
				}
			})
		}
	}
}

// ---- routing through a third stack ----

func TestThreeStacksRouting(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "ipv4"
		if v6 {
			name = "ipv6"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { nwThreeStacksRouting(t, v6) })
		})
	}
}

func nwThreeStacksRouting(t *testing.T, v6 bool) {
	rn := newNwRouted(t, 3, 0)
	fam, icmpProto := socket.AF_INET, inet.IPPROTO_ICMP
	srvAddr, cliAddr, rAddr := "10.2.0.2:7", "10.1.0.1:5000", "10.1.0.254"
	fwd := func() uint64 { return rn.r.Inet().Stats.IP.Forward.Load() }
	timeouts := func() uint64 { return rn.r.Inet().Stats.ARP.Timeouts.Load() }
	if v6 {
		fam, icmpProto = socket.AF_INET6, inet.IPPROTO_ICMPV6
		srvAddr, cliAddr, rAddr = "[fd02::2]:7", "[fd01::1]:5000", "fd01::fe"
		fwd = func() uint64 { return rn.r.Inet().Stats.IP6.Forward.Load() }
		timeouts = func() uint64 { return rn.r.Inet().Stats.ND.Timeouts.Load() }
	}
	srv := nwUDP(t, rn.b, fam, srvAddr)
	cli := nwUDP(t, rn.a, fam, cliAddr)
	raw := nwSocket(t, rn.a, fam, socket.SOCK_RAW, icmpProto)

	// exchange sends a datagram a→b and the answer back, through r.
	exchange := func(msg string) {
		t.Helper()
		before := fwd()
		nwMust(t, nwSend(cli, []byte(msg), nwAddr(srvAddr)))
		got, from, err := nwRecv(srv, time.Second)
		if err != nil || string(got) != msg {
			t.Fatalf("b got %q: %v", got, err)
		}
		if ap := nwAddrPort(from); ap != netip.MustParseAddrPort(cliAddr) {
			t.Fatalf("b saw the datagram from %v, want %s", ap, cliAddr)
		}
		nwMust(t, nwSend(srv, []byte("re: "+msg), from))
		got, from, err = nwRecv(cli, time.Second)
		if err != nil || string(got) != "re: "+msg {
			t.Fatalf("a got %q: %v", got, err)
		}
		if ap := nwAddrPort(from); ap != netip.MustParseAddrPort(srvAddr) {
			t.Fatalf("a saw the answer from %v, want %s", ap, srvAddr)
		}
		if d := fwd() - before; d != 2 {
			t.Errorf("r forwarded %d packets for one exchange, want 2", d)
		}
	}
	exchange("first")

	// A TTL (hop limit) of 1 dies at r, which says so with time exceeded.
	ttlOpt, ttlLevel := inet.IP_TTL, inet.IPPROTO_IP
	teType, teCode := uint8(header.ICMPv4TimeExceeded), uint8(header.ICMPv4TTLExceeded)
	if v6 {
		ttlOpt, ttlLevel = inet.IPV6_UNICAST_HOPS, inet.IPPROTO_IPV6
		teType, teCode = header.ICMPv6TimeExceeded, header.ICMPv6HopLimitExceeded
	}
	nwMust(t, cli.SetOptInt(ttlLevel, ttlOpt, 1))
	before := fwd()
	nwMust(t, nwSend(cli, []byte("dies at r"), nwAddr(srvAddr)))
	msg, err := nwReadICMP(raw, v6, teType, time.Second)
	if err != nil {
		t.Fatalf("no time exceeded: %v", err)
	}
	if msg.code != teCode || msg.from != netip.MustParseAddr(rAddr) {
		t.Errorf("time exceeded code %d from %v, want code %d from %s", msg.code, msg.from, teCode, rAddr)
	}
	if fwd() != before {
		t.Errorf("r forwarded a packet whose TTL ran out")
	}
	if _, _, err := nwRecv(srv, 100*time.Millisecond); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("b received a datagram whose TTL ran out: %v", err)
	}
	nwMust(t, cli.SetOptInt(ttlLevel, ttlOpt, 64))
	exchange("second")

	// Cut r—b and let r's entry for b age out: r's resolution fails, and
	// what a sends to b then meets a host unreachable from r.
	rn.rb.Cut()
	time.Sleep(21 * time.Minute) // past ARP's max age and ND's reachable time
	nwMust(t, nwSend(cli, []byte("into the void"), nwAddr(srvAddr)))
	time.Sleep(10 * time.Second) // past the retries
	if timeouts() == 0 {
		t.Fatalf("r's resolution of b did not fail")
	}
	// r's own datagrams to b now fail at once with EHOSTDOWN.
	rs := nwUDP(t, rn.r, fam, "")
	if err := nwSend(rs, []byte("from r"), nwAddr(srvAddr)); !errors.Is(err, syscall.EHOSTDOWN) {
		t.Errorf("r's send to b after resolution failed: %v, want EHOSTDOWN", err)
	}
	// a's datagrams die at r. As FreeBSD's ip_forward and ip6_forward do, r
	// answers an EHOSTDOWN from the link with a host (address) unreachable.
	unType, unCode := uint8(header.ICMPv4DestUnreachable), uint8(header.ICMPv4HostUnreachable)
	if v6 {
		unType, unCode = header.ICMPv6DestUnreachable, header.ICMPv6AddrUnreachable
	}
	nwMust(t, nwSend(cli, []byte("to a host that is down"), nwAddr(srvAddr)))
	msg, err = nwReadICMP(raw, v6, unType, time.Second)
	if err != nil {
		t.Errorf("no destination unreachable from r after its resolution of b failed: %v", err)
	} else if msg.code != unCode || msg.from != netip.MustParseAddr(rAddr) {
		t.Errorf("destination unreachable code %d from %v, want code %d from %s", msg.code, msg.from, unCode, rAddr)
	}
	if _, _, err := nwRecv(srv, 0); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("b received through a cut wire: %v", err)
	}

	// Heal: once the failure's hold time is over, traffic flows again.
	rn.rb.Heal()
	time.Sleep(30 * time.Second)
	for {
		if _, _, err := nwRecv(srv, 0); err != nil {
			break // drain what arrived
		}
	}
	exchange("after healing")
}

// ---- fragmentation ----

// nwPattern is n bytes that differ from one datagram to the next.
func nwPattern(n, salt int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + salt + i>>8)
	}
	return b
}

func TestFragmentationMTU1280(t *testing.T) {
	a := bsdnet.NewStack(bsdnet.WithName("a"), bsdnet.WithSeed(1))
	b := bsdnet.NewStack(bsdnet.WithName("b"), bsdnet.WithSeed(2))
	defer a.Close()
	defer b.Close()
	w := link.NewWire(link.WireConfig{MTU: 1280, Seed: 5})
	defer w.Close()
	ea, eb := w.Ends()
	nwMust(t, a.AddInterface(ea, "10.0.0.1/24", "fd00::1/64"))
	nwMust(t, b.AddInterface(eb, "10.0.0.2/24", "fd00::2/64"))
	// Checksums on, as on a link that can damage frames: the fragments'
	// checksums are then computed and checked.
	ea.Checksum.Store(true)
	eb.Checksum.Store(true)

	sizes := []int{1, 2, 7, 8, 100, 1000, 1231, 1232, 1233, 1240, 1252, 1253, 1260, 1400,
		2000, 2463, 2464, 2465, 2500, 3000, 4096, 5000, 6000, 7000, 7999, 8000}
	for _, tc := range []struct {
		srv, cli string
		maxWhole int // the largest payload sent without fragmenting
	}{
		{"10.0.0.2:7", "10.0.0.1:5000", 1280 - header.IPv4MinLen - header.UDPLen},
		{"[fd00::2]:7", "[fd00::1]:5000", 1280 - header.IPv6Len - header.UDPLen},
	} {
		fam := nwFam(tc.srv)
		srv := nwUDP(t, b, fam, tc.srv)
		cli := nwUDP(t, a, fam, tc.cli)
		st := &a.Inet().Stats.IP
		if fam == socket.AF_INET6 {
			st = &a.Inet().Stats.IP6
		}
		for i, n := range sizes {
			msg := nwPattern(n, i)
			frag0 := st.Fragmented.Load()
			if err := nwSend(cli, msg, nwAddr(tc.srv)); err != nil {
				t.Fatalf("%s: send %d bytes: %v", tc.srv, n, err)
			}
			got, from, err := nwRecv(srv, time.Second)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%s: sent %d bytes, received %d: %v", tc.srv, n, len(got), err)
			}
			if ap := nwAddrPort(from); ap != netip.MustParseAddrPort(tc.cli) {
				t.Errorf("%s: from %v", tc.srv, ap)
			}
			if frag := st.Fragmented.Load() - frag0; (n > tc.maxWhole) != (frag == 1) {
				t.Errorf("%s: %d bytes: fragmented %d times (largest whole payload %d)", tc.srv, n, frag, tc.maxWhole)
			}
		}
		if ms := w.Stats(); ms.AtoB.MTUDrops+ms.BtoA.MTUDrops != 0 {
			t.Errorf("the wire dropped frames larger than its MTU: %+v", ms)
		}
	}
	if v4, v6 := b.Inet().Pending(); v4+v6 != 0 {
		t.Errorf("reassembly queues left: %d IPv4, %d IPv6", v4, v6)
	}
	bs := &b.Inet().Stats
	if bs.IP.Reassembled.Load() == 0 || bs.IP6.Reassembled.Load() == 0 {
		t.Errorf("reassembled %d IPv4 and %d IPv6 packets", bs.IP.Reassembled.Load(), bs.IP6.Reassembled.Load())
	}
	if d := bs.IP.FragDropped.Load() + bs.IP6.FragDropped.Load() + bs.IP.BadSum.Load() + bs.UDP.BadSum.Load(); d != 0 {
		t.Errorf("b dropped %d fragments or bad checksums", d)
	}
}

// ---- path MTU discovery ----

func TestPathMTUAndICMPErrors(t *testing.T) {
	t.Run("ipv4", func(t *testing.T) { synctest.Test(t, nwPathMTU4) })
	t.Run("ipv6", func(t *testing.T) { synctest.Test(t, nwPathMTU6) })
}

func nwPathMTU4(t *testing.T) {
	rn := newNwRouted(t, 4, 1280)
	srv := nwUDP(t, rn.b, socket.AF_INET, "10.2.0.2:7")
	cli := nwUDP(t, rn.a, socket.AF_INET, "10.1.0.1:5000")
	raw := nwSocket(t, rn.a, socket.AF_INET, socket.SOCK_RAW, inet.IPPROTO_ICMP)
	nwMust(t, cli.Connect(nwAddr("10.2.0.2:7")))
	nwMust(t, cli.SetOptInt(inet.IPPROTO_IP, inet.IP_DONTFRAG, 1))
	dst := netip.MustParseAddr("10.2.0.2")
	send := func(msg []byte) error {
		u := socket.UioBuf(msg)
		return cli.Send(context.Background(), nil, &u, nil, nil, 0)
	}

	// Small enough for every link: it arrives.
	nwMust(t, send([]byte("small")))
	if got, _, err := nwRecv(srv, time.Second); err != nil || string(got) != "small" {
		t.Fatalf("b got %q: %v", got, err)
	}
	if m := rn.a.Inet().PathMTU(dst); m != 0 {
		t.Errorf("path MTU %d before any ICMP, want 0 (unknown)", m)
	}

	// 1400 bytes with DF fit a's link but not r—b: r says fragmentation
	// needed, with the next hop's MTU.
	big := nwPattern(1400, 1)
	nwMust(t, send(big))
	msg, err := nwReadICMP(raw, false, header.ICMPv4DestUnreachable, time.Second)
	if err != nil {
		t.Fatalf("no ICMP from r: %v", err)
	}
	if msg.code != header.ICMPv4FragNeeded || msg.from != netip.MustParseAddr("10.1.0.254") {
		t.Errorf("unreachable code %d from %v, want frag needed from r", msg.code, msg.from)
	}
	if m := binary.BigEndian.Uint16(msg.body[6:]); m != 1280 {
		t.Errorf("next-hop MTU %d in the ICMP, want 1280", m)
	}
	if rn.r.Inet().Stats.IP.CantFrag.Load() != 1 {
		t.Errorf("r CantFrag %d", rn.r.Inet().Stats.IP.CantFrag.Load())
	}
	if _, _, err := nwRecv(srv, 100*time.Millisecond); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("b received the DF datagram too big for its link: %v", err)
	}
	// The connected socket learns of it: its next receive fails with
	// EMSGSIZE, and the stack holds the new path MTU.
	if _, _, err := nwRecv(cli, 100*time.Millisecond); !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("receive after frag needed: %v, want EMSGSIZE", err)
	}
	if m := rn.a.Inet().PathMTU(dst); m != 1280 {
		t.Errorf("path MTU %d, want 1280", m)
	}
	// Now a refuses a DF datagram over the path MTU itself.
	if err := send(big); !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("DF send over the path MTU: %v, want EMSGSIZE", err)
	}
	// One that fits the path goes through.
	fits := nwPattern(1280-header.IPv4MinLen-header.UDPLen, 2)
	nwMust(t, send(fits))
	if got, _, err := nwRecv(srv, time.Second); err != nil || !bytes.Equal(got, fits) {
		t.Fatalf("b got %d bytes: %v", len(got), err)
	}
	// Without DF, a fragments at the source to the path MTU; r forwards
	// the fragments whole.
	nwMust(t, cli.SetOptInt(inet.IPPROTO_IP, inet.IP_DONTFRAG, 0))
	rfrag := rn.r.Inet().Stats.IP.Fragmented.Load()
	nwMust(t, send(big))
	if got, _, err := nwRecv(srv, time.Second); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("b got %d bytes of %d: %v", len(got), len(big), err)
	}
	if rn.a.Inet().Stats.IP.Fragmented.Load() != 1 || rn.r.Inet().Stats.IP.Fragmented.Load() != rfrag {
		t.Errorf("fragmented by a %d times, by r %d times: want a to fragment",
			rn.a.Inet().Stats.IP.Fragmented.Load(), rn.r.Inet().Stats.IP.Fragmented.Load()-rfrag)
	}
}

func nwPathMTU6(t *testing.T) {
	rn := newNwRouted(t, 6, 1280)
	srv := nwUDP(t, rn.b, socket.AF_INET6, "[fd02::2]:7")
	cli := nwUDP(t, rn.a, socket.AF_INET6, "[fd01::1]:5000")
	raw := nwSocket(t, rn.a, socket.AF_INET6, socket.SOCK_RAW, inet.IPPROTO_ICMPV6)
	nwMust(t, cli.Connect(nwAddr("[fd02::2]:7")))
	dst := netip.MustParseAddr("fd02::2")
	send := func(msg []byte) error {
		u := socket.UioBuf(msg)
		return cli.Send(context.Background(), nil, &u, nil, nil, 0)
	}
	nwMust(t, send([]byte("small")))
	if got, _, err := nwRecv(srv, time.Second); err != nil || string(got) != "small" {
		t.Fatalf("b got %q: %v", got, err)
	}

	// IPv6 routers never fragment: r answers Packet Too Big.
	big := nwPattern(1400, 3)
	nwMust(t, send(big))
	msg, err := nwReadICMP(raw, true, header.ICMPv6PacketTooBig, time.Second)
	if err != nil {
		t.Fatalf("no Packet Too Big from r: %v", err)
	}
	if msg.from != netip.MustParseAddr("fd01::fe") {
		t.Errorf("Packet Too Big from %v, want r", msg.from)
	}
	if m := binary.BigEndian.Uint32(msg.body[4:]); m != 1280 {
		t.Errorf("MTU %d in Packet Too Big, want 1280", m)
	}
	if rn.r.Inet().Stats.IP6.Fragmented.Load() != 0 {
		t.Error("r fragmented an IPv6 packet")
	}
	if _, _, err := nwRecv(srv, 100*time.Millisecond); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("b received the datagram too big for its link: %v", err)
	}
	if m := rn.a.Inet().PathMTU(dst); m != 1280 {
		t.Errorf("path MTU %d, want 1280", m)
	}
	if _, _, err := nwRecv(cli, 100*time.Millisecond); !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("receive after Packet Too Big: %v, want EMSGSIZE", err)
	}

	// The next send is fragmented at the source and arrives.
	nwMust(t, send(big))
	if got, _, err := nwRecv(srv, time.Second); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("b got %d bytes of %d: %v", len(got), len(big), err)
	}
	if rn.a.Inet().Stats.IP6.Fragmented.Load() != 1 {
		t.Errorf("a fragmented %d packets, want 1", rn.a.Inet().Stats.IP6.Fragmented.Load())
	}
	// With IPV6_DONTFRAG, a refuses instead.
	nwMust(t, cli.SetOptInt(inet.IPPROTO_IPV6, inet.IPV6_DONTFRAG, 1))
	if err := send(big); !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("IPV6_DONTFRAG send over the path MTU: %v, want EMSGSIZE", err)
	}
	// The learned MTU expires (10 minutes), and the path is probed again.
	time.Sleep(11 * time.Minute)
	if m := rn.a.Inet().PathMTU(dst); m != 0 {
		t.Errorf("path MTU %d after its expiry, want 0", m)
	}
}

// ---- replay: a seed fixes every packet ----

// nwSeededScenario runs a fixed exchange over a faulty wire in a network
// with the seed and returns a pcap of what a's interface sent and
// received. It must run in a synctest bubble: the timestamps are virtual.
//
// Everything happens in this goroutine or in the wire's timers, and the
// sends are spaced so that none falls at the instant a timer fires: the
// order of events, and so every random draw, is the same each run.
func nwSeededScenario(t *testing.T, seed uint64) []byte {
	n := bsdnet.NewNetwork(seed)
	defer n.Close()
	a, b := n.Host("a"), n.Host("b")
	w, err := n.Connect(a, "10.0.0.1/24, fd00::1/64", b, "10.0.0.2/24, fd00::2/64", link.Faults{
		Delay: 2 * time.Millisecond, Jitter: 1 * time.Millisecond,
		Loss: 0.1, Duplicate: 0.1, Reorder: 0.2, ReorderDelay: 3 * time.Millisecond,
	})
	nwMust(t, err)
	ea, _ := w.Ends()
	var buf bytes.Buffer
	stop, err := link.Capture(ea, &buf)
	nwMust(t, err)

	type pair struct{ a, b *socket.Socket }
	var socks []pair
	for _, addrs := range [][2]string{{"10.0.0.1:5000", "10.0.0.2:7"}, {"[fd00::1]:5000", "[fd00::2]:7"}} {
		fam := nwFam(addrs[0])
		socks = append(socks, pair{nwUDP(t, a, fam, addrs[0]), nwUDP(t, b, fam, addrs[1])})
	}
	pings := []*socket.Socket{
		nwSocket(t, a, socket.AF_INET, socket.SOCK_RAW, inet.IPPROTO_ICMP),
		nwSocket(t, a, socket.AF_INET6, socket.SOCK_RAW, inet.IPPROTO_ICMPV6),
	}
	step := 7*time.Millisecond + 313*time.Microsecond // shares no period with the stack's timers
	for i := range 40 {
		p := socks[i%2]
		nwMust(t, nwSend(p.a, nwPattern(50+i*31, i), nwAddr([]string{"10.0.0.2:7", "[fd00::2]:7"}[i%2])))
		time.Sleep(step)
		nwMust(t, nwSend(p.b, nwPattern(20+i*17, -i), nwAddr([]string{"10.0.0.1:5000", "[fd00::1]:5000"}[i%2])))
		time.Sleep(step)
		if i%8 == 0 {
			var echo []byte
			if i%16 == 0 {
				echo = make([]byte, 8+16)
				ic := header.ICMPv4(echo)
				ic.SetType(header.ICMPv4Echo)
				ic.SetID(7)
				ic.SetSeq(uint16(i))
				ic.ComputeChecksum()
				nwMust(t, nwSend(pings[0], echo, nwAddr("10.0.0.2:0")))
			} else {
				echo = make([]byte, 8+16)
				ic := header.ICMPv6(echo)
				ic.SetType(header.ICMPv6EchoRequest)
				ic.SetID(7)
				ic.SetSeq(uint16(i))
				nwMust(t, nwSend(pings[1], echo, nwAddr("[fd00::2]:0")))
			}
			time.Sleep(step)
		}
	}
	time.Sleep(5 * time.Second) // past every delay and retry
	nwMust(t, stop())
	// Some datagrams must have come through.
	got := 0
	for _, p := range socks {
		for {
			if _, _, err := nwRecv(p.a, 0); err != nil {
				break
			}
			got++
		}
	}
	if got == 0 {
		t.Errorf("seed %d: nothing arrived", seed)
	}
	return buf.Bytes()
}

func TestSeededCaptureIdentical(t *testing.T) {
	var runs [3][]byte
	for i, seed := range []uint64{7, 7, 8} {
		synctest.Test(t, func(t *testing.T) { runs[i] = nwSeededScenario(t, seed) })
	}
	if len(runs[0]) < 24+100*16 {
		t.Fatalf("capture of %d bytes: too little traffic", len(runs[0]))
	}
	if !bytes.Equal(runs[0], runs[1]) {
		n := 0
		for n < min(len(runs[0]), len(runs[1])) && runs[0][n] == runs[1][n] {
			n++
		}
		t.Errorf("two runs with seed 7 differ from byte %d (lengths %d and %d)", n, len(runs[0]), len(runs[1]))
	}
	if bytes.Equal(runs[0], runs[2]) {
		t.Error("seeds 7 and 8 gave the same capture")
	}
}

// ---- virtual time ----

func TestVirtualTimeDelay(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(map[bool]string{false: "ipv4", true: "ipv6"}[v6], func(t *testing.T) { nwVirtualTimeDelay(t, v6) })
	}
}

func nwVirtualTimeDelay(t *testing.T, v6 bool) {
	realStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		n := bsdnet.NewNetwork(9)
		defer n.Close()
		a, b := n.Host("a"), n.Host("b")
		w, err := n.Connect(a, "10.0.0.1/24, fd00::1/64", b, "10.0.0.2/24, fd00::2/64", link.Faults{})
		nwMust(t, err)
		srvAddr, cliAddr := "10.0.0.2:7", "10.0.0.1:5000"
		if v6 {
			srvAddr, cliAddr = "[fd00::2]:7", "[fd00::1]:5000"
		}
		srv := nwUDP(t, b, nwFam(srvAddr), srvAddr)
		cli := nwUDP(t, a, nwFam(cliAddr), cliAddr)
		roundTrip := func() time.Duration {
			start := time.Now()
			nwMust(t, nwSend(cli, []byte("ping"), nwAddr(srvAddr)))
			got, from, err := nwRecv(srv, time.Minute)
			if err != nil || string(got) != "ping" {
				t.Fatalf("server got %q: %v", got, err)
			}
			nwMust(t, nwSend(srv, []byte("pong"), from))
			got, _, err = nwRecv(cli, time.Minute)
			if err != nil || string(got) != "pong" {
				t.Fatalf("client got %q: %v", got, err)
			}
			return time.Since(start)
		}
		// A perfect wire takes no time at all, address resolution
		// included.
		if d := roundTrip(); d != 0 {
			t.Errorf("round trip on a perfect wire took %v", d)
		}
		w.SetFaults(link.Both, link.Faults{Delay: 100 * time.Millisecond})
		for range 3 {
			if d := roundTrip(); d != 200*time.Millisecond {
				t.Errorf("round trip took %v, want 200ms", d)
			}
		}
	})
	// Real time is reported, not asserted: a loaded machine may be slow.
	t.Logf("0.6 s of virtual delays took %v of real time", time.Since(realStart))
}
