package inet

import (
	"errors"
	"net/netip"
	"slices"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/socket"
)

// checkPCBTable verifies the table's indexes against its port lists once
// the lists are adopted: every block is indexed and knows its place in the
// list, connected blocks are in the hash under their four-tuple,
// unconnected ones are on the port's wild list, and nothing else is
// indexed.
func checkPCBTable(t *testing.T, tb *pcbTable) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	nconns := 0
	for port, l := range tb.ports {
		tb.adoptLocked(port)
		var wild []*inpcb
		for i, p := range l {
			if p.lport != port || !p.indexed || int(p.pidx) != i {
				t.Errorf("port %d lists block %p at %d: on port %d, index %d, indexed %v", port, p, i, p.lport, p.pidx, p.indexed)
			}
			if !p.faddr.IsValid() {
				wild = append(wild, p)
				continue
			}
			nconns++
			if tb.conns.find(p.laddr, p.lport, p.faddr, p.fport) != p {
				t.Errorf("port %d: connected block %p not in the hash", port, p)
			}
		}
		if len(wild) != len(tb.wild[port]) || slices.ContainsFunc(wild, func(p *inpcb) bool { return !slices.Contains(tb.wild[port], p) }) {
			t.Errorf("port %d: wild list %v, want %v in any order", port, tb.wild[port], wild)
		}
	}
	for port := range tb.wild {
		if _, ok := tb.ports[port]; !ok {
			t.Errorf("wild list for port %d, which has no blocks", port)
		}
	}
	n := 0
	for _, p := range tb.conns.buckets {
		for ; p != nil; p = p.hnext {
			n++
		}
	}
	if n != nconns || tb.conns.n != nconns {
		t.Errorf("hash holds %d blocks (counted %d), %d connected blocks", n, tb.conns.n, nconns)
	}
}

// TestPCBEphemeralPortPerDestination: as in_pcb_lport_dest, connect on an
// unbound socket may reuse a local port that connections to other
// destinations hold, never one that makes an existing four-tuple, and bind
// to port 0 still wants a port nobody holds.
func TestPCBEphemeralPortPerDestination(t *testing.T) {
	a, b, _ := pair(t, 1500)
	a.s.Tunables.PortFirst, a.s.Tunables.PortLast = 40000, 40000 // one ephemeral port
	u1 := a.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	u2 := a.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	u3 := a.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	u4 := a.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	steps := []struct {
		name string
		err  error
		want syscall.Errno
	}{
		{"u1 connects to 10.0.0.2:7", u1.Connect(sa("10.0.0.2:7")), 0},
		{"u2 connects to 10.0.0.2:9, sharing the port", u2.Connect(sa("10.0.0.2:9")), 0},
		{"u3 connects to 10.0.0.2:7 again", u3.Connect(sa("10.0.0.2:7")), syscall.EADDRNOTAVAIL},
		{"u4 binds port 0", u4.Bind(sa("0.0.0.0:0")), syscall.EADDRNOTAVAIL},
	}
	for _, s := range steps {
		var got syscall.Errno
		if s.err != nil && !errors.As(s.err, &got) {
			t.Fatalf("%s: %v", s.name, s.err)
		}
		if got != s.want {
			t.Errorf("%s: error %v, want %v", s.name, s.err, s.want)
		}
	}
	for _, u := range []*socket.Socket{u1, u2} {
		if got, err := u.Sockaddr(); err != nil || got.(socket.SockaddrInet4).Port != 40000 {
			t.Errorf("local address %v, %v; want port 40000", got, err)
		}
	}
	checkPCBTable(t, &a.s.udp)
	// Each peer's datagram reaches the socket connected to it.
	for _, c := range []struct {
		from string
		to   *socket.Socket
	}{{"10.0.0.2:7", u1}, {"10.0.0.2:9", u2}} {
		s := b.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
		if err := s.Bind(sa(c.from)); err != nil {
			t.Fatal(err)
		}
		if err := sendto(s, []byte(c.from), sa("10.0.0.1:40000")); err != nil {
			t.Fatal(err)
		}
		got, _, err := recvfrom(c.to, 64, socket.MSG_DONTWAIT)
		if err != nil || string(got) != c.from {
			t.Errorf("datagram from %s: got %q, %v", c.from, got, err)
		}
	}
}

// TestPCBLookup: a lookup finds the connected block for a four-tuple, else
// the best unconnected block on the port, including connections that were
// appended to the port list directly (as TCP's insertConnected does) and
// blocks that disconnect or leave.
func TestPCBLookup(t *testing.T) {
	h := newHost(t, 1)
	tb := &h.s.udp
	mk := func() *inpcb { return pcbOf(h.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)) }
	addr := netip.MustParseAddr
	lo := addr("127.0.0.1")

	any80, lo80 := mk(), mk()
	if err := tb.bind(any80, netip.Addr{}, 80); err != nil {
		t.Fatal(err)
	}
	if err := lo80.so.SetOptInt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); err != nil {
		t.Fatal(err)
	}
	if err := tb.bind(lo80, lo, 80); err != nil {
		t.Fatal(err)
	}
	// Three connections on port 80 appended as insertConnected does, and
	// one made by connect.
	conns := []*inpcb{mk(), mk(), mk()}
	tb.mu.Lock()
	for i, p := range conns {
		p.laddr, p.lport, p.faddr, p.fport, p.explicit = lo, 80, lo, uint16(1000+i), true
		tb.ports[80] = append(tb.ports[80], p)
	}
	tb.mu.Unlock()
	c80 := mk()
	if err := tb.bind(c80, lo, 80); err == nil {
		t.Fatal("bind 127.0.0.1:80 without SO_REUSEPORT succeeded")
	}
	c81 := mk()
	if err := tb.connect(c81, lo, 81); err != nil {
		t.Fatal(err)
	}
	_, c81port, _, _ := c81.addrs()

	type want struct {
		name     string
		src      string
		sport    uint16
		dst      string
		dport    uint16
		expected *inpcb
	}
	check := func(ws []want) {
		t.Helper()
		for _, w := range ws {
			if got := tb.lookup(addr(w.src), w.sport, addr(w.dst), w.dport); got != w.expected {
				t.Errorf("%s: lookup %s:%d -> %s:%d found %p, want %p", w.name, w.src, w.sport, w.dst, w.dport, got, w.expected)
			}
		}
		checkPCBTable(t, tb)
	}
	check([]want{
		{"first connection", "127.0.0.1", 1000, "127.0.0.1", 80, conns[0]},
		{"last connection", "127.0.0.1", 1002, "127.0.0.1", 80, conns[2]},
		{"unknown peer to the bound address", "127.0.0.1", 999, "127.0.0.1", 80, lo80},
		{"other local address: the wildcard", "10.9.9.9", 1000, "10.1.1.1", 80, any80},
		{"reply to connect", "127.0.0.1", 81, "127.0.0.1", c81port, c81},
		{"nothing on the port", "127.0.0.1", 1, "127.0.0.1", 9, nil},
	})

	tb.detach(conns[1])
	tb.disconnect(conns[0])
	tb.detach(lo80)
	check([]want{
		{"detached: the best unconnected, now the disconnected one", "127.0.0.1", 1001, "127.0.0.1", 80, conns[0]},
		{"disconnected, still bound to 127.0.0.1", "127.0.0.1", 1000, "127.0.0.1", 80, conns[0]},
		{"still connected", "127.0.0.1", 1002, "127.0.0.1", 80, conns[2]},
		{"other local address: still the wildcard", "10.9.9.9", 1000, "10.1.1.1", 80, any80},
	})
	for _, p := range []*inpcb{any80, conns[0], conns[2], c81} {
		tb.detach(p)
	}
	checkPCBTable(t, tb)
	if len(tb.ports) != 0 || tb.conns.n != 0 || len(tb.wild) != 0 {
		t.Errorf("empty table holds %d ports, %d four-tuples, %d wild lists", len(tb.ports), tb.conns.n, len(tb.wild))
	}
}

// TestPCBHashResizes: the connection hash grows with its connections and
// shrinks as they go, and finds every one throughout.
func TestPCBHashResizes(t *testing.T) {
	h := newHost(t, 1)
	tb := &h.s.udp
	lo := netip.MustParseAddr("127.0.0.1")
	var ps []*inpcb
	for i := range 1000 {
		p := pcbOf(h.socket(socket.AF_INET, socket.SOCK_DGRAM, 0))
		if err := tb.connect(p, lo, uint16(1+i%7)); err != nil {
			t.Fatalf("connect %d: %v", i, err)
		}
		ps = append(ps, p)
	}
	checkPCBTable(t, tb)
	grown := len(tb.conns.buckets)
	if grown < 1000 {
		t.Errorf("%d buckets for 1000 connections", grown)
	}
	for i, p := range ps {
		la, lp, fa, fp := p.addrs()
		if got := tb.lookup(fa, fp, la, lp); got != p {
			t.Fatalf("connection %d: lookup found %p, want %p", i, got, p)
		}
	}
	for _, p := range ps[10:] {
		tb.detach(p)
	}
	checkPCBTable(t, tb)
	if len(tb.conns.buckets) >= grown {
		t.Errorf("%d buckets for 10 connections, as many as for 1000", len(tb.conns.buckets))
	}
	for i, p := range ps[:10] {
		la, lp, fa, fp := p.addrs()
		if got := tb.lookup(fa, fp, la, lp); got != p {
			t.Errorf("connection %d after the shrink: lookup found %p, want %p", i, got, p)
		}
	}
}
