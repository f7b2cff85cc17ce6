// Package bsdnet is FreeBSD's kernel socket layer, socket(9), and the
// protocols under it, in Go and in user space.
//
// A Stack is one isolated network stack (a VNET) with every domain
// attached. Today that is PF_LOCAL: stream, datagram and seqpacket sockets
// with FreeBSD's semantics, reached through the socket(9) API of package
// socket. Stacks share nothing; many may live in one process.
package bsdnet

import (
	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/socket"
)

// Stack is one network stack: a socket layer and its domains.
type Stack struct {
	vnet  *socket.Vnet
	local *local.Domain
}

// Option configures a Stack.
type Option func(*config)

type config struct {
	local local.Tunables
}

// WithLocalTunables sets the PF_LOCAL buffer sizes (net.local.*).
func WithLocalTunables(t local.Tunables) Option {
	return func(c *config) { c.local = t }
}

// NewStack returns a stack with the PF_LOCAL domain attached.
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
	return &Stack{vnet: v, local: d}
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

// Close closes every socket the stack holds and refuses new ones.
func (s *Stack) Close() error { return s.vnet.Close() }
