package inet

import (
	"bytes"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/socket"
)

func TestUDPEchoBetweenStacks(t *testing.T) {
	for _, tc := range []struct {
		fam      int
		srv, cli string
	}{
		{socket.AF_INET, "10.0.0.2:7", "10.0.0.1:0"},
		{socket.AF_INET6, "[fd00::2]:7", "[fd00::1]:0"},
	} {
		a, b, _ := pair(t, 1500)
		srv := b.socket(tc.fam, socket.SOCK_DGRAM, 0)
		if err := srv.Bind(sa(tc.srv)); err != nil {
			t.Fatal(err)
		}
		cli := a.socket(tc.fam, socket.SOCK_DGRAM, 0)
		if err := sendto(cli, []byte("hello"), sa(tc.srv)); err != nil {
			t.Fatalf("sendto: %v", err)
		}
		got, from, err := recvfrom(srv, 100, socket.MSG_DONTWAIT)
		if err != nil || string(got) != "hello" {
			t.Fatalf("server got %q from %v: %v", got, from, err)
		}
		if err := sendto(srv, got, from); err != nil {
			t.Fatal(err)
		}
		got, _, err = recvfrom(cli, 100, socket.MSG_DONTWAIT)
		if err != nil || string(got) != "hello" {
			t.Fatalf("client got %q: %v", got, err)
		}
		if a.s.Stats.UDP.OPackets.Load() != 1 || b.s.Stats.UDP.IPackets.Load() != 1 {
			t.Errorf("counters: a out %d, b in %d", a.s.Stats.UDP.OPackets.Load(), b.s.Stats.UDP.IPackets.Load())
		}
	}
}

func TestUDPLoopback(t *testing.T) {
	h := newHost(t, 1)
	for _, addr := range []string{"127.0.0.1:5000", "[::1]:5000"} {
		fam := socket.AF_INET
		if addr[0] == '[' {
			fam = socket.AF_INET6
		}
		r := h.socket(fam, socket.SOCK_DGRAM, 0)
		if err := r.Bind(sa(addr)); err != nil {
			t.Fatal(err)
		}
		s := h.socket(fam, socket.SOCK_DGRAM, 0)
		if err := s.Connect(sa(addr)); err != nil {
			t.Fatal(err)
		}
		u := socket.UioBuf([]byte("loop"))
		if err := s.Send(bg, nil, &u, nil, nil, 0); err != nil {
			t.Fatal(err)
		}
		got, _, err := recvfrom(r, 10, socket.MSG_DONTWAIT)
		if err != nil || string(got) != "loop" {
			t.Fatalf("%s: %q %v", addr, got, err)
		}
	}
}

func TestPortUnreachableReachesConnectedSocket(t *testing.T) {
	for _, dst := range []string{"10.0.0.2:9", "[fd00::2]:9"} {
		a, _, _ := pair(t, 1500)
		fam := socket.AF_INET
		if dst[0] == '[' {
			fam = socket.AF_INET6
		}
		c := a.socket(fam, socket.SOCK_DGRAM, 0)
		if err := c.Connect(sa(dst)); err != nil {
			t.Fatal(err)
		}
		u := socket.UioBuf([]byte("x"))
		if err := c.Send(bg, nil, &u, nil, nil, 0); err != nil {
			t.Fatal(err)
		}
		_, _, err := recvfrom(c, 10, socket.MSG_DONTWAIT)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("%s: receive after port unreachable: %v, want ECONNREFUSED", dst, err)
		}
	}
}

func TestPing(t *testing.T) {
	for _, tc := range []struct {
		fam   int
		proto int
		dst   string
	}{
		{socket.AF_INET, IPPROTO_ICMP, "10.0.0.2:0"},
		{socket.AF_INET6, IPPROTO_ICMPV6, "[fd00::2]:0"},
	} {
		a, b, _ := pair(t, 1500)
		r := a.socket(tc.fam, socket.SOCK_RAW, tc.proto)
		var pkt []byte
		if tc.fam == socket.AF_INET {
			pkt = make([]byte, header.ICMPv4MinLen+4)
			ic := header.ICMPv4(pkt)
			ic.SetType(header.ICMPv4Echo)
			ic.SetID(7)
			ic.SetSeq(1)
			copy(pkt[8:], "ping")
			ic.ComputeChecksum()
		} else {
			pkt = make([]byte, header.ICMPv6MinLen+4)
			ic := header.ICMPv6(pkt)
			ic.SetType(header.ICMPv6EchoRequest)
			ic.SetID(7)
			ic.SetSeq(1)
			copy(pkt[8:], "ping")
		}
		if err := sendto(r, pkt, sa(tc.dst)); err != nil {
			t.Fatalf("send echo: %v", err)
		}
		for {
			got, _, err := recvfrom(r, 200, socket.MSG_DONTWAIT)
			if err != nil {
				t.Fatalf("no echo reply: %v", err)
			}
			var icmp []byte
			if tc.fam == socket.AF_INET {
				icmp = got[header.IPv4(got).HeaderLen():]
				if header.ICMPv4(icmp).Type() != header.ICMPv4EchoReply {
					continue
				}
			} else {
				icmp = got
				if header.ICMPv6(icmp).Type() != header.ICMPv6EchoReply {
					continue
				}
			}
			if !bytes.Equal(icmp[8:], []byte("ping")) {
				t.Fatalf("reply payload %q", icmp[8:])
			}
			break
		}
		if n := b.s.Stats.ICMP.InEcho.Load() + b.s.Stats.ICMP6.InEcho.Load(); n != 1 {
			t.Errorf("b saw %d echo requests", n)
		}
	}
}

func TestFragmentation(t *testing.T) {
	for _, tc := range []struct {
		mtu  int
		addr string
		fam  int
	}{
		{1500, "10.0.0.2:7", socket.AF_INET},
		{576, "10.0.0.2:7", socket.AF_INET},
		{1280, "[fd00::2]:7", socket.AF_INET6},
	} {
		a, b, _ := pair(t, tc.mtu)
		srv := b.socket(tc.fam, socket.SOCK_DGRAM, 0)
		srv.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
		if err := srv.Bind(sa(tc.addr)); err != nil {
			t.Fatal(err)
		}
		cli := a.socket(tc.fam, socket.SOCK_DGRAM, 0)
		msg := bytes.Repeat([]byte("0123456789abcdef"), 500) // 8000 bytes
		if err := cli.SetOptInt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536); err != nil {
			t.Fatal(err)
		}
		if err := sendto(cli, msg, sa(tc.addr)); err != nil {
			t.Fatalf("mtu %d: %v", tc.mtu, err)
		}
		got, _, err := recvfrom(srv, 10000, socket.MSG_DONTWAIT)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("mtu %d: got %d bytes, %v", tc.mtu, len(got), err)
		}
		v4, v6 := b.s.Pending()
		if v4+v6 != 0 {
			t.Errorf("reassembly queues left: %d %d", v4, v6)
		}
	}
}

func TestBindErrors(t *testing.T) {
	h := newHost(t, 1)
	a := h.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	if err := a.Bind(sa("127.0.0.1:4000")); err != nil {
		t.Fatal(err)
	}
	b := h.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	if err := b.Bind(sa("127.0.0.1:4000")); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second bind: %v, want EADDRINUSE", err)
	}
	if err := b.Bind(sa("10.9.9.9:4000")); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("foreign address: %v, want EADDRNOTAVAIL", err)
	}
	if err := a.Bind(sa("127.0.0.1:4001")); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("bind twice: %v, want EINVAL", err)
	}
	if err := b.Bind(sa("[::1]:1")); !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("v6 address on v4 socket: %v, want EAFNOSUPPORT", err)
	}
	user, err := h.v.Create(socket.AF_INET, socket.SOCK_DGRAM, 0, socket.UserCred(1000, 1000))
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	if err := user.Bind(sa("0.0.0.0:80")); !errors.Is(err, syscall.EACCES) {
		t.Errorf("port 80 as uid 1000: %v, want EACCES", err)
	}
	if _, err := h.v.Create(socket.AF_INET, socket.SOCK_RAW, IPPROTO_ICMP, socket.UserCred(1000, 1000)); !errors.Is(err, syscall.EPERM) {
		t.Errorf("raw socket as uid 1000: %v, want EPERM", err)
	}
	// SO_REUSEPORT on both lets them share.
	c := h.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	d := h.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	c.SetOptInt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
	d.SetOptInt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
	if err := c.Bind(sa("0.0.0.0:4100")); err != nil {
		t.Fatal(err)
	}
	if err := d.Bind(sa("0.0.0.0:4100")); err != nil {
		t.Errorf("SO_REUSEPORT bind: %v", err)
	}
	// Ephemeral ports come from 10000-65535.
	e := h.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	if err := e.Bind(sa("0.0.0.0:0")); err != nil {
		t.Fatal(err)
	}
	name, _ := e.Sockaddr()
	if p := name.(socket.SockaddrInet4).Port; p < 10000 {
		t.Errorf("ephemeral port %d", p)
	}
	// IPV6_V6ONLY is on by default: a v6 wildcard does not take v4.
	v6 := h.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0)
	if v, _ := v6.GetOptInt(IPPROTO_IPV6, IPV6_V6ONLY); v != 1 {
		t.Errorf("IPV6_V6ONLY default %d", v)
	}
	if err := v6.Bind(sa("[::]:4000")); err != nil {
		t.Errorf("v6 wildcard beside a v4 bind: %v", err)
	}
}

func TestDualStackMapped(t *testing.T) {
	h := newHost(t, 1)
	srv := h.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0)
	if err := srv.SetOptInt(IPPROTO_IPV6, IPV6_V6ONLY, 0); err != nil {
		t.Fatal(err)
	}
	if err := srv.Bind(sa("[::]:6000")); err != nil {
		t.Fatal(err)
	}
	cli := h.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	if err := sendto(cli, []byte("v4"), sa("127.0.0.1:6000")); err != nil {
		t.Fatal(err)
	}
	got, from, err := recvfrom(srv, 10, socket.MSG_DONTWAIT)
	if err != nil || string(got) != "v4" {
		t.Fatalf("%q %v", got, err)
	}
	f := from.(socket.SockaddrInet6)
	if ap := f.AddrPort(); !ap.Addr().Is4In6() {
		t.Errorf("source %v, want a v4-mapped address", ap)
	}
}

func TestForwardingAndTTL(t *testing.T) {
	a, b, r := newHost(t, 1), newHost(t, 2), newHost(t, 3)
	c1, c2 := newCable(1500, "eth0", "eth0"), newCable(1500, "eth1", "eth0")
	a.attach(c1.ends[0], "10.1.0.1/24")
	r.attach(c1.ends[1], "10.1.0.254/24")
	r.attach(c2.ends[0], "10.2.0.254/24")
	b.attach(c2.ends[1], "10.2.0.2/24")
	r.s.SetForwarding(true, true)
	must(t, a.s.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr("10.1.0.254"), nil))
	must(t, b.s.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr("10.2.0.254"), nil))
	srv := b.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	must(t, srv.Bind(sa("10.2.0.2:7")))
	cli := a.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	must(t, sendto(cli, []byte("routed"), sa("10.2.0.2:7")))
	got, from, err := recvfrom(srv, 10, socket.MSG_DONTWAIT)
	if err != nil || string(got) != "routed" {
		t.Fatalf("%q %v", got, err)
	}
	if f := from.(socket.SockaddrInet4); f.Addr != [4]byte{10, 1, 0, 1} {
		t.Errorf("source %v", f)
	}
	if r.s.Stats.IP.Forward.Load() != 1 {
		t.Errorf("forwarded %d", r.s.Stats.IP.Forward.Load())
	}
	// TTL 1 dies at the router with time exceeded, which a raw socket sees.
	raw := a.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_ICMP)
	must(t, cli.SetOptInt(IPPROTO_IP, IP_TTL, 1))
	must(t, sendto(cli, []byte("dies"), sa("10.2.0.2:7")))
	pkt, _, err := recvfrom(raw, 200, socket.MSG_DONTWAIT)
	if err != nil {
		t.Fatalf("no ICMP: %v", err)
	}
	ic := header.ICMPv4(pkt[header.IPv4(pkt).HeaderLen():])
	if ic.Type() != header.ICMPv4TimeExceeded {
		t.Errorf("ICMP type %d, want time exceeded", ic.Type())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMulticast(t *testing.T) {
	a, b, _ := pair(t, 1500)
	var members []*socket.Socket
	for i := 0; i < 2; i++ {
		m := b.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
		must(t, m.SetOptInt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1))
		must(t, m.Bind(sa("239.1.2.3:5353")))
		mreq := append(netip.MustParseAddr("239.1.2.3").AsSlice(), 10, 0, 0, 2)
		must(t, m.SetOpt(&socket.Sockopt{Level: IPPROTO_IP, Name: IP_ADD_MEMBERSHIP, Val: mreq, Valsize: len(mreq)}))
		members = append(members, m)
	}
	s := a.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	must(t, sendto(s, []byte("to the group"), sa("239.1.2.3:5353")))
	for i, m := range members {
		got, _, err := recvfrom(m, 100, socket.MSG_DONTWAIT)
		if err != nil || string(got) != "to the group" {
			t.Errorf("member %d: %q %v", i, got, err)
		}
	}
}

// ARP gives up after its retries (in virtual time) and sends then fail
// with EHOSTDOWN for a while.
func TestARPResolutionFailure(t *testing.T) {
	synctest.Test(t, testARPResolutionFailure)
}

func testARPResolutionFailure(t *testing.T) {
	a, _, c := pair(t, 1500)
	c.hook = func(int, []byte) bool { return false } // the wire is cut
	s := a.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	must(t, sendto(s, []byte("x"), sa("10.0.0.9:7")))
	time.Sleep(10 * time.Second)
	synctest.Wait()
	if a.s.Stats.ARP.Timeouts.Load() != 1 || a.s.Stats.ARP.Dropped.Load() != 1 {
		t.Fatalf("timeouts %d dropped %d", a.s.Stats.ARP.Timeouts.Load(), a.s.Stats.ARP.Dropped.Load())
	}
	if err := sendto(s, []byte("x"), sa("10.0.0.9:7")); !errors.Is(err, syscall.EHOSTDOWN) {
		t.Errorf("send after resolution failed: %v, want EHOSTDOWN", err)
	}
}
