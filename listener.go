package bsdnet

import (
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// Listener is a listening socket as a net.Listener ("unix",
// "unixpacket"). Close wakes blocked Accepts with net.ErrClosed. Unlike
// Go's UnixListener, Close does not need to remove a file: the name lives
// in the stack's namespace and goes with the socket.
type Listener struct {
	// Immutable after creation.
	st   *Stack
	so   *socket.Socket
	net  string
	addr net.Addr

	dl     deadline // the accept deadline
	closed atomic.Bool
}

var _ net.Listener = (*Listener)(nil)

func newListener(st *Stack, so *socket.Socket, network string) *Listener {
	l := &Listener{st: st, so: so, net: network}
	if sa, err := so.Sockaddr(); err == nil {
		l.addr = toNetAddr(network, sa)
	}
	l.dl.init(false)
	return l
}

func (l *Listener) ok() bool { return l != nil && l.so != nil }

// Accept waits for and returns the next connection (solisten_dequeue and
// soaccept), a *Conn.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.AcceptConn()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptConn is Accept returning the *Conn itself.
func (l *Listener) AcceptConn() (*Conn, error) {
	if !l.ok() {
		return nil, syscall.EINVAL
	}
	c, err := l.accept()
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: l.net, Addr: l.addr, Err: err}
	}
	return c, nil
}

func (l *Listener) accept() (*Conn, error) {
	for {
		if l.closed.Load() {
			return nil, net.ErrClosed
		}
		d := l.dl.get()
		if d.expired() {
			return nil, os.ErrDeadlineExceeded
		}
		so, err := l.so.ListenDequeue(d, 0)
		if err != nil {
			if l.closed.Load() || l.st.closed.Load() {
				return nil, net.ErrClosed
			}
			switch {
			case err == syscall.EINTR && d.state.Load() == ctxReplaced:
				continue
			case err == syscall.EWOULDBLOCK && d.expired():
				return nil, os.ErrDeadlineExceeded
			}
			return nil, os.NewSyscallError("accept", err)
		}
		peer, err := so.Accept()
		if err == syscall.ECONNABORTED {
			// The peer went before we took it: take the next, as Go does.
			so.Close()
			continue
		}
		if err != nil {
			so.Close()
			return nil, os.NewSyscallError("accept", err)
		}
		var raddr net.Addr
		if peer != nil {
			raddr = toNetAddr(l.net, peer)
		} else if pa, err := so.Peeraddr(); err == nil {
			raddr = toNetAddr(l.net, pa)
		}
		return newConn(l.st, so, l.net, l.so.Proto().Domain.Family, raddr), nil
	}
}

// Close stops listening (soclose): connections not yet accepted are
// aborted and blocked Accepts return net.ErrClosed, as they do after the
// stack's Close.
func (l *Listener) Close() error {
	if !l.ok() {
		return syscall.EINVAL
	}
	if !l.closed.CompareAndSwap(false, true) {
		return &net.OpError{Op: "close", Net: l.net, Addr: l.addr, Err: net.ErrClosed}
	}
	l.dl.close()
	if err := l.so.Close(); err != nil {
		return &net.OpError{Op: "close", Net: l.net, Addr: l.addr, Err: os.NewSyscallError("close", err)}
	}
	return nil
}

// Addr returns the listener's address, a *net.UnixAddr.
func (l *Listener) Addr() net.Addr {
	if !l.ok() {
		return nil
	}
	return l.addr
}

// SetDeadline sets the deadline for Accept; the zero time means none. A
// deadline set while Accept blocks takes effect.
func (l *Listener) SetDeadline(t time.Time) error {
	if !l.ok() {
		return syscall.EINVAL
	}
	if l.closed.Load() {
		return &net.OpError{Op: "set", Net: l.net, Addr: l.addr, Err: net.ErrClosed}
	}
	l.dl.set(t)
	return nil
}

// Socket returns the underlying listening socket.
func (l *Listener) Socket() *socket.Socket {
	if !l.ok() {
		return nil
	}
	return l.so
}
