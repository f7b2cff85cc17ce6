package sys

import (
	"context"

	"github.com/bsdnet/bsdnet/socket"
)

// Socket makes a socket and returns its descriptor (socket(2)). typ may
// carry SOCK_NONBLOCK (the socket starts non-blocking) and SOCK_CLOEXEC
// (FD_CLOEXEC on the descriptor). A full table is EMFILE, checked first as
// falloc is; then socreate's errors: EAFNOSUPPORT, EPROTOTYPE,
// EPROTONOSUPPORT, EPERM (raw sockets for non-root).
func (p *Proc) Socket(domain, typ, proto int) (fd int, err error) {
	flags := typ & (SOCK_NONBLOCK | SOCK_CLOEXEC)
	typ &^= flags
	fds, err := p.reserve(1)
	if err != nil {
		return -1, err
	}
	so, err := p.vnet.Create(domain, typ, proto, p.cred)
	if err != nil {
		p.unreserve(fds...)
		return -1, err
	}
	if flags&SOCK_NONBLOCK != 0 {
		so.SetNonblocking(true)
	}
	p.fill(fds[0], so, flags&SOCK_CLOEXEC != 0)
	return fds[0], nil
}

// Socketpair makes two connected sockets and returns their descriptors
// (socketpair(2)): two socreate and soconnect2, both ways for datagram
// sockets. SOCK_NONBLOCK and SOCK_CLOEXEC apply to both. A domain that
// cannot pair (AF_INET) is EOPNOTSUPP; nothing is left open on failure.
func (p *Proc) Socketpair(domain, typ, proto int) (fds [2]int, err error) {
	flags := typ & (SOCK_NONBLOCK | SOCK_CLOEXEC)
	typ &^= flags
	r, err := p.reserve(2)
	if err != nil {
		return [2]int{-1, -1}, err
	}
	fail := func(err error, socks ...*socket.Socket) ([2]int, error) {
		for _, so := range socks {
			so.Close()
		}
		p.unreserve(r...)
		return [2]int{-1, -1}, err
	}
	so1, err := p.vnet.Create(domain, typ, proto, p.cred)
	if err != nil {
		return fail(err)
	}
	so2, err := p.vnet.Create(domain, typ, proto, p.cred)
	if err != nil {
		return fail(err, so1)
	}
	if err := socket.Connect2(so1, so2); err != nil {
		return fail(err, so1, so2)
	}
	if typ == SOCK_DGRAM {
		if err := socket.Connect2(so2, so1); err != nil {
			return fail(err, so1, so2)
		}
	}
	for _, so := range []*socket.Socket{so1, so2} {
		if flags&SOCK_NONBLOCK != 0 {
			so.SetNonblocking(true)
		}
	}
	p.fill(r[0], so1, flags&SOCK_CLOEXEC != 0)
	p.fill(r[1], so2, flags&SOCK_CLOEXEC != 0)
	return [2]int{r[0], r[1]}, nil
}

// Bind binds a local address to the socket (bind(2), sobind).
func (p *Proc) Bind(fd int, sa Sockaddr) error {
	so, err := p.get(fd)
	if err != nil {
		return err
	}
	defer put(so)
	nam, err := toStack(sa)
	if err != nil {
		return err
	}
	if nam == nil {
		return EINVAL
	}
	return so.Bind(nam)
}

// Listen makes the socket a listener with the backlog (listen(2),
// solisten): a backlog below 0 or above the stack's somaxconn means
// somaxconn.
func (p *Proc) Listen(fd int, backlog int) error {
	so, err := p.get(fd)
	if err != nil {
		return err
	}
	defer put(so)
	return so.Listen(backlog)
}

// Accept takes a connection from a listener and returns a new descriptor
// for it and the peer's address (accept(2)). As on FreeBSD, the new socket
// inherits the listener's O_NONBLOCK (Linux's does not).
func (p *Proc) Accept(fd int) (nfd int, sa Sockaddr, err error) {
	return p.accept(context.Background(), fd, socket.ACCEPT4_INHERIT)
}

// Accept4 is accept4(2): as Accept, but the new descriptor's O_NONBLOCK and
// FD_CLOEXEC come from flags (SOCK_NONBLOCK, SOCK_CLOEXEC) only; other
// flags are EINVAL.
func (p *Proc) Accept4(fd int, flags int) (nfd int, sa Sockaddr, err error) {
	return p.Accept4Context(context.Background(), fd, flags)
}

// Accept4Context is Accept4 whose wait for a connection ends with ctx
// (EINTR when cancelled, EWOULDBLOCK at its deadline).
func (p *Proc) Accept4Context(ctx context.Context, fd int, flags int) (nfd int, sa Sockaddr, err error) {
	if flags&^(SOCK_NONBLOCK|SOCK_CLOEXEC) != 0 {
		return -1, nil, EINVAL
	}
	return p.accept(ctx, fd, flags)
}

// accept is kern_accept4: EINVAL unless the socket listens, then the
// descriptor is allocated (EMFILE, the connection stays queued), then the
// wait (EWOULDBLOCK when non-blocking), then soaccept.
func (p *Proc) accept(ctx context.Context, fd int, flags int) (int, Sockaddr, error) {
	head, err := p.get(fd)
	if err != nil {
		return -1, nil, err
	}
	defer put(head)
	if !head.Listening() {
		return -1, nil, EINVAL
	}
	r, err := p.reserve(1)
	if err != nil {
		return -1, nil, err
	}
	so, err := head.ListenDequeue(ctx, flags&(SOCK_NONBLOCK|socket.ACCEPT4_INHERIT))
	if err != nil {
		p.unreserve(r...)
		return -1, nil, err
	}
	nam, err := so.Accept()
	if err != nil {
		so.Close()
		p.unreserve(r...)
		return -1, nil, err
	}
	p.fill(r[0], so, flags&SOCK_CLOEXEC != 0)
	return r[0], fromStack(nam), nil
}

// Connect connects the socket to sa (connect(2)) and, for a blocking
// socket, waits until the connection is made or fails. A non-blocking
// socket still connecting returns EINPROGRESS (POLLOUT and SO_ERROR tell
// the outcome); a socket already connecting returns EALREADY.
func (p *Proc) Connect(fd int, sa Sockaddr) error {
	return p.ConnectContext(context.Background(), fd, sa)
}

// ConnectContext is Connect whose wait ends with ctx: cancellation is
// EINTR and leaves the connection going on (a later connect is EALREADY),
// as a signal does.
func (p *Proc) ConnectContext(ctx context.Context, fd int, sa Sockaddr) error {
	so, err := p.get(fd)
	if err != nil {
		return err
	}
	defer put(so)
	nam, err := toStack(sa)
	if err != nil {
		return err
	}
	if nam == nil {
		return EINVAL
	}
	if so.State()&socket.SS_ISCONNECTING != 0 {
		return EALREADY
	}
	if err := so.Connect(nam); err != nil {
		return err
	}
	return so.WaitConnected(ctx)
}

// Shutdown shuts down part or all of a connection (shutdown(2),
// soshutdown): how is SHUT_RD, SHUT_WR or SHUT_RDWR (else EINVAL); an
// unconnected socket is ENOTCONN.
func (p *Proc) Shutdown(fd int, how int) error {
	so, err := p.get(fd)
	if err != nil {
		return err
	}
	defer put(so)
	return so.Shutdown(how)
}

// Getsockname returns the socket's local address (getsockname(2)).
func (p *Proc) Getsockname(fd int) (sa Sockaddr, err error) {
	so, err := p.get(fd)
	if err != nil {
		return nil, err
	}
	defer put(so)
	nam, err := so.Sockaddr()
	if err != nil {
		return nil, err
	}
	return fromStack(nam), nil
}

// Getpeername returns the connected peer's address (getpeername(2)).
// A socket not connected is ENOTCONN, checked here as kern_getpeername
// does, whatever the protocol would answer.
func (p *Proc) Getpeername(fd int) (sa Sockaddr, err error) {
	so, err := p.get(fd)
	if err != nil {
		return nil, err
	}
	defer put(so)
	if so.State()&(socket.SS_ISCONNECTED|socket.SS_ISCONFIRMING) == 0 {
		return nil, ENOTCONN
	}
	nam, err := so.Peeraddr()
	if err != nil {
		return nil, err
	}
	return fromStack(nam), nil
}
