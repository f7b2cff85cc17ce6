package inet

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

var bg = context.Background()

// cable is the simplest wire for these tests: what one end sends, the
// other receives, in the sender's goroutine. A hook may drop or change
// frames.
type cable struct {
	mu   sync.Mutex
	ends [2]*link.Ifnet
	hook func(from int, frame []byte) bool // false drops
}

type cableEnd struct {
	c *cable
	i int
}

func (e cableEnd) Output(ifp *link.Ifnet, m *mbuf.Mbuf) error {
	e.c.mu.Lock()
	hook, peer := e.c.hook, e.c.ends[1-e.i]
	e.c.mu.Unlock()
	if hook != nil && !hook(e.i, mbuf.Bytes(m)) {
		mbuf.FreeChain(m)
		return nil
	}
	peer.Input(m)
	return nil
}

func (cableEnd) Close() error { return nil }

// newCable makes a cable whose ends are named names[0] and names[1]
// (eth0 by default).
func newCable(mtu int, names ...string) *cable {
	c := &cable{}
	for i := range c.ends {
		mac := net.HardwareAddr{0x02, 0, 0, 0, byte(len(names)), byte(i + 1)}
		name := "eth0"
		if i < len(names) {
			name = names[i]
		}
		c.ends[i] = link.New(name, link.Ethernet, mtu, mac, cableEnd{c, i})
		c.ends[i].Checksum.Store(true)
	}
	return c
}

type host struct {
	t   testing.TB
	v   *socket.Vnet
	s   *Stack
	if0 *link.Ifnet
}

func newHost(t testing.TB, seed uint64) *host {
	t.Helper()
	v := socket.NewVnet()
	s, err := Attach(v, Config{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return &host{t: t, v: v, s: s}
}

func (h *host) attach(ifp *link.Ifnet, addrs ...string) {
	h.t.Helper()
	if _, err := h.s.AddInterface(ifp); err != nil {
		h.t.Fatal(err)
	}
	for _, a := range addrs {
		if err := h.s.AddAddress(ifp, netip.MustParsePrefix(a)); err != nil {
			h.t.Fatal(err)
		}
	}
	if h.if0 == nil {
		h.if0 = ifp
	}
}

// pair returns two hosts joined by a cable: a is 10.0.0.1 and fd00::1,
// b is 10.0.0.2 and fd00::2.
func pair(t testing.TB, mtu int) (a, b *host, c *cable) {
	a, b = newHost(t, 1), newHost(t, 2)
	c = newCable(mtu)
	a.attach(c.ends[0], "10.0.0.1/24", "fd00::1/64")
	b.attach(c.ends[1], "10.0.0.2/24", "fd00::2/64")
	return a, b, c
}

func (h *host) socket(fam, typ, proto int) *socket.Socket {
	h.t.Helper()
	so, err := h.v.Create(fam, typ, proto, socket.RootCred())
	if err != nil {
		h.t.Fatalf("socket(%d, %d, %d): %v", fam, typ, proto, err)
	}
	h.t.Cleanup(func() { so.Close() })
	return so
}

func sa(s string) socket.Sockaddr {
	return socket.SockaddrFromAddrPort(netip.MustParseAddrPort(s))
}

func sendto(so *socket.Socket, b []byte, to socket.Sockaddr) error {
	u := socket.UioBuf(b)
	return so.Send(bg, to, &u, nil, nil, 0)
}

func recvfrom(so *socket.Socket, n int, flags int) ([]byte, socket.Sockaddr, error) {
	b := make([]byte, n)
	u := socket.UioBuf(b)
	var from socket.Sockaddr
	f := flags
	err := so.Receive(bg, &from, &u, nil, nil, &f)
	return b[:n-u.Resid], from, err
}
