// Package bsdnet is FreeBSD's kernel socket layer, socket(9), and the
// protocols under it, in Go and in user space.
//
// A Stack is one isolated network stack (a VNET) with every domain
// attached: PF_LOCAL (stream, datagram and seqpacket sockets) and IPv4 and
// IPv6 (UDP and raw sockets, ICMP, ARP and neighbor discovery), reached
// through the socket(9) API of package socket. Stacks share nothing; many
// may live in one process, joined by wires (see Network).
package bsdnet

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/socket"
)

// Stack is one network stack: a socket layer and its domains.
type Stack struct {
	name  string
	vnet  *socket.Vnet
	local *local.Domain
	inet  *inet.Stack

	closed atomic.Bool // set by Close before it closes the sockets
}

// Option configures a Stack.
type Option func(*config)

type config struct {
	name  string
	local local.Tunables
	inet  inet.Config
}

// WithSeed fixes the stack's randomness (ephemeral ports, IP IDs): a seeded
// run sends the same packets every time.
func WithSeed(seed uint64) Option {
	return func(c *config) { c.inet.Seed = seed }
}

// WithForwarding makes the stack a router for IPv4 and IPv6.
func WithForwarding() Option {
	return func(c *config) { c.inet.Forwarding4, c.inet.Forwarding6 = true, true }
}

// WithName names the stack (for tables and errors).
func WithName(name string) Option {
	return func(c *config) { c.name = name }
}

// WithLocalTunables sets the PF_LOCAL buffer sizes (net.local.*).
func WithLocalTunables(t local.Tunables) Option {
	return func(c *config) { c.local = t }
}

// NewStack returns a stack with the PF_LOCAL, AF_INET and AF_INET6
// domains attached and a loopback interface lo0 (127.0.0.1/8, ::1/128).
func NewStack(opts ...Option) *Stack {
	c := config{local: local.DefaultTunables()}
	for _, o := range opts {
		o(&c)
	}
	v := socket.NewVnet()
	d, err := local.Attach(v, c.local)
	if err != nil {
		// A fresh Vnet has no domain yet: attaching cannot collide.
		panic(err)
	}
	in, err := inet.Attach(v, c.inet)
	if err != nil {
		panic(err)
	}
	return &Stack{name: c.name, vnet: v, local: d, inet: in}
}

// Name returns the stack's name.
func (s *Stack) Name() string { return s.name }

// Inet returns the stack's IPv4 and IPv6 layer: interfaces, addresses,
// routes, counters.
func (s *Stack) Inet() *inet.Stack { return s.inet }

// AddInterface attaches a link interface to the stack and gives it
// addresses in CIDR form ("10.0.0.1/24", "fd00::1/64").
func (s *Stack) AddInterface(ifp *link.Ifnet, addrs ...string) error {
	if _, err := s.inet.AddInterface(ifp); err != nil {
		return err
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(a))
		if err != nil {
			return fmt.Errorf("bsdnet: address %q: %w", a, err)
		}
		if err := s.inet.AddAddress(ifp, p); err != nil {
			return fmt.Errorf("bsdnet: address %s on %s: %w", p, ifp.Name(), err)
		}
	}
	return nil
}

// AddRoute adds a route: dst in CIDR form ("0.0.0.0/0" or "default" for
// both families' default route with a gateway of that family) through the
// gateway gw.
func (s *Stack) AddRoute(dst, gw string) error {
	g, err := netip.ParseAddr(gw)
	if err != nil {
		return fmt.Errorf("bsdnet: gateway %q: %w", gw, err)
	}
	if dst == "default" {
		dst = "0.0.0.0/0"
		if g.Is6() {
			dst = "::/0"
		}
	}
	p, err := netip.ParsePrefix(dst)
	if err != nil {
		return fmt.Errorf("bsdnet: destination %q: %w", dst, err)
	}
	return s.inet.AddRoute(p, g, nil)
}

// Vnet returns the stack's socket layer, where socket(9) begins.
func (s *Stack) Vnet() *socket.Vnet { return s.vnet }

// Local returns the stack's PF_LOCAL domain.
func (s *Stack) Local() *local.Domain { return s.local }

// Socket is socreate(9) on the stack: a new socket authorized by cred.
func (s *Stack) Socket(domain, typ, proto int, cred *socket.Cred) (*socket.Socket, error) {
	return s.vnet.Create(domain, typ, proto, cred)
}

// Socketpair makes two connected sockets of the domain and type, as
// socketpair(2): EOPNOTSUPP for a domain that cannot pair.
func (s *Stack) Socketpair(domain, typ, proto int, cred *socket.Cred) (*socket.Socket, *socket.Socket, error) {
	so1, err := s.vnet.Create(domain, typ, proto, cred)
	if err != nil {
		return nil, nil, err
	}
	so2, err := s.vnet.Create(domain, typ, proto, cred)
	if err != nil {
		so1.Close()
		return nil, nil, err
	}
	if err := socket.Connect2(so1, so2); err != nil {
		so1.Close()
		so2.Close()
		return nil, nil, err
	}
	if typ == socket.SOCK_DGRAM {
		if err := socket.Connect2(so2, so1); err != nil {
			so1.Close()
			so2.Close()
			return nil, nil, err
		}
	}
	return so1, so2, nil
}

// Close closes every socket the stack holds and refuses new ones. Calls on
// the stack's Conns, PacketConns and Listeners, blocked ones included,
// then fail with net.ErrClosed, as after their own Close.
//
// TCP connections still open are reset (as with SO_LINGER 0), not closed
// gracefully: the stack is going away, so nothing should linger after it
// (no FIN to retransmit, no TIME_WAIT, no timer); their peers' calls fail
// with ECONNRESET. Connections the program closed before are left to end
// as TCP ends them.
func (s *Stack) Close() error {
	s.closed.Store(true)
	linger0 := socket.Linger{Onoff: 1}.Bytes()
	for _, so := range s.vnet.Sockets() {
		if so.Type() == socket.SOCK_STREAM && so.Proto().Protocol == inet.IPPROTO_TCP {
			sopt := socket.Sockopt{Level: socket.SOL_SOCKET, Name: socket.SO_LINGER, Val: linger0, Valsize: len(linger0)}
			_ = so.SetOpt(&sopt) // a socket closing already may refuse: it closes anyway
		}
	}
	err := s.vnet.Close()
	s.inet.Close() // what the sockets left behind: closing connections, TIME_WAIT, caches
	return err
}
