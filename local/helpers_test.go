package local_test

import (
	"context"
	"testing"

	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

var bg = context.Background()

type env struct {
	t *testing.T
	v *socket.Vnet
	d *local.Domain
}

func newEnv(t *testing.T) *env {
	t.Helper()
	v := socket.NewVnet()
	d, err := local.Attach(v, local.DefaultTunables())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return &env{t: t, v: v, d: d}
}

func (e *env) socket(typ int) *socket.Socket {
	e.t.Helper()
	so, err := e.v.Create(socket.PF_LOCAL, typ, 0, socket.UserCred(1000, 1000))
	if err != nil {
		e.t.Fatalf("socreate: %v", err)
	}
	return so
}

func (e *env) pair(typ int) (*socket.Socket, *socket.Socket) {
	e.t.Helper()
	a, b := e.socket(typ), e.socket(typ)
	if err := socket.Connect2(a, b); err != nil {
		e.t.Fatalf("connect2: %v", err)
	}
	if typ == socket.SOCK_DGRAM {
		if err := socket.Connect2(b, a); err != nil {
			e.t.Fatalf("connect2: %v", err)
		}
	}
	return a, b
}

// listener returns a bound, listening socket at path.
func (e *env) listener(typ int, path string, backlog int) *socket.Socket {
	e.t.Helper()
	l := e.socket(typ)
	if err := l.Bind(socket.SockaddrUnix{Path: path}); err != nil {
		e.t.Fatalf("bind: %v", err)
	}
	if err := l.Listen(backlog); err != nil {
		e.t.Fatalf("listen: %v", err)
	}
	return l
}

// connected returns a connected client and the accepted server side.
func (e *env) connected(typ int, path string) (client, server *socket.Socket) {
	e.t.Helper()
	l := e.listener(typ, path, 5)
	c := e.socket(typ)
	if err := c.Connect(socket.SockaddrUnix{Path: path}); err != nil {
		e.t.Fatalf("connect: %v", err)
	}
	s, err := l.ListenDequeue(bg, 0)
	if err != nil {
		e.t.Fatalf("accept: %v", err)
	}
	l.Close()
	return c, s
}

func send(so *socket.Socket, b []byte, flags int) (int, error) {
	u := socket.UioBuf(b)
	err := so.Send(bg, nil, &u, nil, nil, flags)
	return len(b) - u.Resid, err
}

func sendto(so *socket.Socket, b []byte, to socket.Sockaddr, control *mbuf.Mbuf, flags int) (int, error) {
	u := socket.UioBuf(b)
	err := so.Send(bg, to, &u, nil, control, flags)
	return len(b) - u.Resid, err
}

func recv(so *socket.Socket, n int, flags int) ([]byte, int, error) {
	b := make([]byte, n)
	u := socket.UioBuf(b)
	f := flags
	err := so.Receive(bg, nil, &u, nil, nil, &f)
	return b[:n-u.Resid], f, err
}

type msg struct {
	data    []byte
	from    socket.Sockaddr
	control *mbuf.Mbuf
	flags   int
	n       int // bytes counted (with MSG_TRUNC: the real length)
}

func recvmsg(so *socket.Socket, n int, flags int) (msg, error) {
	b := make([]byte, n)
	u := socket.UioBuf(b)
	m := msg{flags: flags}
	err := so.Receive(bg, &m.from, &u, nil, &m.control, &m.flags)
	m.n = n - u.Resid
	m.data = b[:min(m.n, n)]
	return m, err
}
