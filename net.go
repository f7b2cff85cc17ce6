package bsdnet

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"

	"github.com/bsdnet/bsdnet/socket"
)

// Net is what a program needs of a network to dial and listen: Go's net
// package (HostNet) and a bsdnet Stack both provide it, so a program
// written against Net moves between them in one line.
type Net interface {
	// Dial connects to address on the named network, as net.Dial.
	Dial(network, address string) (net.Conn, error)
	// DialContext is Dial with a context that bounds the connection's
	// establishment, as net.Dialer.DialContext.
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	// Listen announces on a stream network, as net.Listen.
	Listen(network, address string) (net.Listener, error)
	// ListenPacket announces on a datagram network, as net.ListenPacket.
	ListenPacket(network, address string) (net.PacketConn, error)
}

var _ Net = (*Stack)(nil)

// HostNet returns the host's network, through Go's net package.
func HostNet() Net { return hostNet{} }

type hostNet struct{}

// Dial is net.Dial.
func (hostNet) Dial(network, address string) (net.Conn, error) {
	return net.Dial(network, address)
}

// DialContext is net.Dialer.DialContext with the zero Dialer.
func (hostNet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// Listen is net.Listen.
func (hostNet) Listen(network, address string) (net.Listener, error) {
	return net.Listen(network, address)
}

// ListenPacket is net.ListenPacket.
func (hostNet) ListenPacket(network, address string) (net.PacketConn, error) {
	return net.ListenPacket(network, address)
}

// Dial connects to address on the named network with the root credential:
// "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6" (host:port with a literal IP
// or "localhost"), "unix", "unixgram" and "unixpacket" (a path in the
// stack's namespace). The result is a *Conn; errors are *net.OpError, as
// from net.Dial.
func (s *Stack) Dial(network, address string) (net.Conn, error) {
	return s.DialContext(context.Background(), network, address)
}

// DialContext is Dial bounded by ctx: its expiry is a timeout error
// (os.ErrDeadlineExceeded), its cancellation context.Canceled.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := Dialer{Stack: s}
	return d.DialContext(ctx, network, address)
}

// Listen announces on the stream network ("unix", "unixpacket") at address
// with the root credential, returning a *Listener.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	lc := ListenConfig{Stack: s}
	return lc.Listen(context.Background(), network, address)
}

// ListenPacket announces on the datagram network ("udp", "udp4", "udp6",
// "unixgram") at address with the root credential, returning a
// *PacketConn. An empty host or port 0 picks the wildcard address or an
// ephemeral port; "udp" with the wildcard is dual-stack (IPv6 with
// IPV6_V6ONLY off), as in Go.
func (s *Stack) ListenPacket(network, address string) (net.PacketConn, error) {
	lc := ListenConfig{Stack: s}
	return lc.ListenPacket(context.Background(), network, address)
}

// A Dialer holds options for connecting on a Stack, as net.Dialer does for
// the host.
type Dialer struct {
	// Stack is the stack to dial in; it must be set.
	Stack *Stack
	// Cred authorizes the new socket; nil is socket.RootCred().
	Cred *socket.Cred
	// LocalAddr is the address to bind before connecting: a *net.UDPAddr
	// or a *net.UnixAddr matching the network; nil binds nothing (the
	// stack picks an address and port when it needs one).
	LocalAddr net.Addr
}

// Dial connects to address on the named network, as Stack.Dial.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address on the named network; ctx bounds the
// wait for the connection.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.dial(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (d *Dialer) dial(ctx context.Context, network, address string) (*Conn, error) {
	s := d.Stack
	fail := func(laddr, raddr net.Addr, err error) (*Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Source: laddr, Addr: raddr, Err: err}
	}
	k, ok := parseNetwork(network)
	if !ok {
		return fail(nil, nil, net.UnknownNetworkError(network))
	}
	if s == nil {
		return fail(nil, nil, syscall.EINVAL)
	}
	if err := ctx.Err(); err != nil {
		return fail(nil, nil, err)
	}
	var raddr socket.Sockaddr
	fam := k.family
	if k.proto == "unix" {
		if address == "" {
			return fail(nil, nil, errMissingAddress)
		}
		raddr = socket.SockaddrUnix{Path: address}
	} else {
		ap, err := s.resolveInet(k, address)
		if err != nil {
			return fail(nil, nil, err)
		}
		if !ap.Addr().IsValid() {
			// Dialing the wildcard reaches the local host, as in Go.
			ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port())
			if fam == socket.AF_INET6 {
				ap = netip.AddrPortFrom(netip.IPv6Loopback(), ap.Port())
			}
		}
		if fam == 0 {
			fam = socket.AF_INET6
			if ap.Addr().Is4() {
				fam = socket.AF_INET
			}
		}
		raddr = s.inetSockaddr(fam, ap)
	}
	netRaddr := toNetAddr(network, raddr)
	so, err := s.Socket(fam, k.typ, 0, d.cred())
	if err != nil {
		return fail(d.LocalAddr, netRaddr, os.NewSyscallError("socket", err))
	}
	if d.LocalAddr != nil {
		la, err := s.fromNetAddr(fam, d.LocalAddr)
		if err == nil {
			err = so.Bind(la)
		}
		if err != nil {
			so.Close()
			return fail(d.LocalAddr, netRaddr, os.NewSyscallError("bind", err))
		}
	}
	if err := so.Connect(raddr); err != nil {
		so.Close()
		return fail(d.LocalAddr, netRaddr, os.NewSyscallError("connect", err))
	}
	if err := so.WaitConnected(ctx); err != nil {
		so.Close()
		return fail(d.LocalAddr, netRaddr, ctxError(ctx, "connect", err))
	}
	return newConn(s, so, network, fam, netRaddr), nil
}

func (d *Dialer) cred() *socket.Cred {
	if d.Cred != nil {
		return d.Cred
	}
	return socket.RootCred()
}

// A ListenConfig holds options for listening on a Stack, as
// net.ListenConfig does for the host.
type ListenConfig struct {
	// Stack is the stack to listen in; it must be set.
	Stack *Stack
	// Cred authorizes the new socket; nil is socket.RootCred().
	Cred *socket.Cred
	// Backlog is the listen queue's limit; 0 is the stack's somaxconn.
	Backlog int
}

// Listen announces on the stream network at address, as Stack.Listen.
// The context is not used: binding and listening do not block.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	l, err := lc.listen(network, address)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ListenPacket announces on the datagram network at address, as
// Stack.ListenPacket. The context is not used.
func (lc *ListenConfig) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	c, err := lc.listenPacket(network, address)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (lc *ListenConfig) cred() *socket.Cred {
	if lc.Cred != nil {
		return lc.Cred
	}
	return socket.RootCred()
}

// bindNew makes a socket of kind k and binds it to address (the local
// address of Listen and ListenPacket). It returns the socket and its
// family; errors are those to wrap in the *net.OpError.
func (lc *ListenConfig) bindNew(k netKind, address string) (*socket.Socket, int, net.Addr, error) {
	s := lc.Stack
	if s == nil {
		return nil, 0, nil, syscall.EINVAL
	}
	var la socket.Sockaddr
	fam, v6only := k.family, k.family == socket.AF_INET6
	if k.proto == "unix" {
		if address != "" {
			la = socket.SockaddrUnix{Path: address}
		}
	} else {
		var ap netip.AddrPort
		if address != "" {
			var err error
			if ap, err = s.resolveInet(k, address); err != nil {
				return nil, 0, nil, err
			}
		}
		if fam == 0 {
			// Go's choice: the wildcard is dual-stack IPv6, an IPv4
			// address IPv4, else IPv6.
			fam = socket.AF_INET6
			if ap.Addr().Is4() {
				fam = socket.AF_INET
			}
		}
		la = s.inetSockaddr(fam, ap)
	}
	so, err := s.Socket(fam, k.typ, 0, lc.cred())
	if err != nil {
		return nil, 0, nil, os.NewSyscallError("socket", err)
	}
	if fam == socket.AF_INET6 {
		if err := so.SetOptInt(ipprotoIPv6, ipv6V6only, boolInt(v6only)); err != nil {
			so.Close()
			return nil, 0, nil, os.NewSyscallError("setsockopt", err)
		}
	}
	if la != nil {
		if err := so.Bind(la); err != nil {
			so.Close()
			return nil, 0, toNetAddr(k.netName(), la), os.NewSyscallError("bind", err)
		}
	}
	return so, fam, nil, nil
}

// IPPROTO_IPV6 and IPV6_V6ONLY, FreeBSD's values (as in package inet).
const (
	ipprotoIPv6 = 41
	ipv6V6only  = 27
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// netName is a network name good enough for the addresses of errors.
func (k netKind) netName() string {
	if k.proto == "unix" {
		return "unix"
	}
	return k.proto
}

func (lc *ListenConfig) listen(network, address string) (*Listener, error) {
	fail := func(addr net.Addr, err error) (*Listener, error) {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	k, ok := parseNetwork(network)
	if !ok {
		return fail(nil, net.UnknownNetworkError(network))
	}
	if k.typ == socket.SOCK_DGRAM {
		return fail(nil, net.UnknownNetworkError(network))
	}
	if k.proto == "unix" && address == "" {
		return fail(nil, errMissingAddress)
	}
	so, _, addr, err := lc.bindNew(k, address)
	if err != nil {
		return fail(addr, err)
	}
	backlog := lc.Backlog
	if backlog <= 0 {
		backlog = lc.Stack.vnet.Somaxconn()
	}
	if err := so.Listen(backlog); err != nil {
		so.Close()
		return fail(nil, os.NewSyscallError("listen", err))
	}
	return newListener(lc.Stack, so, network), nil
}

func (lc *ListenConfig) listenPacket(network, address string) (*PacketConn, error) {
	fail := func(addr net.Addr, err error) (*PacketConn, error) {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	k, ok := parseNetwork(network)
	if !ok || k.typ != socket.SOCK_DGRAM {
		return fail(nil, net.UnknownNetworkError(network))
	}
	so, fam, addr, err := lc.bindNew(k, address)
	if err != nil {
		return fail(addr, err)
	}
	return newPacketConn(lc.Stack, so, network, fam), nil
}

// ctxError is the error of a blocking call that ended with err while
// sleeping with ctx: the context's own errors for its expiry (a timeout,
// os.ErrDeadlineExceeded) or cancellation, otherwise err as a
// *os.SyscallError of the call named name.
func ctxError(ctx context.Context, name string, err error) error {
	switch {
	case err == syscall.EWOULDBLOCK && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return os.ErrDeadlineExceeded
	case err == syscall.EINTR && ctx.Err() != nil:
		return ctx.Err()
	}
	return os.NewSyscallError(name, err)
}
