package local_test

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// inetAddr is a foreign (AF_INET) address, for the EAFNOSUPPORT checks.
type inetAddr struct{}

func (inetAddr) Family() int { return socket.AF_INET }
func (inetAddr) Len() int    { return 16 }

func un(path string) socket.SockaddrUnix { return socket.SockaddrUnix{Path: path} }

// socketCred creates a PF_LOCAL socket with the given credential.
func (e *env) socketCred(typ int, cred *socket.Cred) *socket.Socket {
	e.t.Helper()
	so, err := e.v.Create(socket.PF_LOCAL, typ, 0, cred)
	if err != nil {
		e.t.Fatalf("socreate: %v", err)
	}
	return so
}

// bound returns a socket of typ bound to path.
func (e *env) bound(typ int, path string) *socket.Socket {
	e.t.Helper()
	so := e.socket(typ)
	if err := so.Bind(un(path)); err != nil {
		e.t.Fatalf("bind %q: %v", path, err)
	}
	return so
}

// accept takes one connection from l without blocking.
func (e *env) accept(l *socket.Socket) *socket.Socket {
	e.t.Helper()
	s, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT)
	if err != nil {
		e.t.Fatalf("accept: %v", err)
	}
	return s
}

// sockName is getsockname(2): the protocol's pr_sockaddr.
func sockName(t *testing.T, so *socket.Socket) string {
	t.Helper()
	sa, err := so.Proto().Usrreqs.Sockaddr(so)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	return unPath(t, sa)
}

// peerName is getpeername(2): the protocol's pr_peeraddr.
func peerName(t *testing.T, so *socket.Socket) string {
	t.Helper()
	sa, err := so.Proto().Usrreqs.Peeraddr(so)
	if err != nil {
		t.Fatalf("getpeername: %v", err)
	}
	return unPath(t, sa)
}

func unPath(t *testing.T, sa socket.Sockaddr) string {
	t.Helper()
	switch a := sa.(type) {
	case socket.SockaddrUnix:
		return a.Path
	case *socket.SockaddrUnix:
		return a.Path
	}
	t.Fatalf("address %#v is not AF_UNIX", sa)
	return ""
}

// wantErr fails unless err is the errno want (nil for success).
func wantErr(t *testing.T, what string, err error, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: %v, want success", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// expectNothing checks that a non-blocking receive finds nothing queued.
func expectNothing(t *testing.T, so *socket.Socket) {
	t.Helper()
	m, err := recvmsg(so, 1024, socket.MSG_DONTWAIT)
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("receive on an empty socket = %d bytes %q, %v; want EWOULDBLOCK", m.n, m.data, err)
	}
}

// sendRights sends one byte with an SCM_RIGHTS message carrying socks.
func (e *env) sendRights(via *socket.Socket, socks ...*socket.Socket) {
	e.t.Helper()
	if n, err := sendto(via, []byte{'R'}, nil, e.v.NewRightsControl(socks...), 0); err != nil || n != 1 {
		e.t.Fatalf("send SCM_RIGHTS = %d, %v", n, err)
	}
}

// recvRights receives one message and returns the sockets it carried.
func (e *env) recvRights(from *socket.Socket) socket.Rights {
	e.t.Helper()
	m, err := recvmsg(from, 1, socket.MSG_DONTWAIT)
	if err != nil {
		e.t.Fatalf("recvmsg: %v", err)
	}
	r := socket.ControlRights(m.control)
	e.v.DisposeControl(m.control)
	return r
}

// cmsgs parses a received control chain.
func cmsgs(t *testing.T, control *mbuf.Mbuf) []socket.Cmsg {
	t.Helper()
	c, err := socket.ControlMessages(control)
	if err != nil {
		t.Fatalf("parse control: %v", err)
	}
	return c
}

// rawControl makes an MT_CONTROL mbuf holding b verbatim.
func (e *env) rawControl(b []byte) *mbuf.Mbuf {
	m := e.v.Pool.Get(mbuf.MT_CONTROL, len(b))
	copy(m.Extend(len(b)), b)
	return m
}

// counts is the stack's socket accounting at one moment.
type counts struct {
	vnet, local, inflight int64
}

func (e *env) counts() counts {
	return counts{e.v.Stats.Sockets.Load(), e.d.Stats.Sockets.Load(), e.d.Inflight()}
}

// eventually polls cond for up to two seconds.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// finishes runs f in a goroutine and reports whether it returns within d.
func finishes(d time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
