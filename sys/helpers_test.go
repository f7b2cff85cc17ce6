package sys_test

import (
	"testing"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/socket"
	"github.com/bsdnet/bsdnet/sys"
)

// env is a stack and the processes of one test. Cleanup closes every
// descriptor and checks that the stack is left with no socket.
type env struct {
	t     *testing.T
	st    *bsdnet.Stack
	procs []*sys.Proc
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, st: bsdnet.NewStack()}
	t.Cleanup(func() {
		for _, p := range e.procs {
			p.CloseAll()
		}
		e.st.Local().GC()
		if n := e.sockets(); n != 0 && !t.Failed() {
			t.Errorf("%d sockets left open after every descriptor was closed", n)
		}
		e.st.Close()
	})
	return e
}

// proc returns a new process of uid 1000.
func (e *env) proc() *sys.Proc {
	p := sys.NewProc(e.st.Vnet(), &socket.Cred{Uid: 1000, Ruid: 1000, Gid: 100, Rgid: 100, Pid: int32(100 + len(e.procs))})
	e.procs = append(e.procs, p)
	return p
}

// sockets counts the stack's open sockets (kern.ipc.numopensockets).
func (e *env) sockets() int64 { return e.st.Vnet().Stats.Sockets.Load() }

func (e *env) pair(p *sys.Proc, typ int) (int, int) {
	e.t.Helper()
	fds, err := p.Socketpair(sys.AF_UNIX, typ, 0)
	if err != nil {
		e.t.Fatalf("socketpair: %v", err)
	}
	return fds[0], fds[1]
}

func (e *env) socket(p *sys.Proc, domain, typ int) int {
	e.t.Helper()
	fd, err := p.Socket(domain, typ, 0)
	if err != nil {
		e.t.Fatalf("socket(%d, %d): %v", domain, typ, err)
	}
	return fd
}

// listener returns a listening PF_LOCAL socket of p bound to path.
func (e *env) listener(p *sys.Proc, typ int, path string) int {
	e.t.Helper()
	fd := e.socket(p, sys.AF_UNIX, typ)
	if err := p.Bind(fd, &sys.SockaddrUnix{Name: path}); err != nil {
		e.t.Fatalf("bind %s: %v", path, err)
	}
	if err := p.Listen(fd, -1); err != nil {
		e.t.Fatalf("listen: %v", err)
	}
	return fd
}

// connected returns a connection between two processes: a's end connected
// to path, and b's end accepted from lfd.
func (e *env) connected(a *sys.Proc, b *sys.Proc, lfd int, typ int, path string) (int, int) {
	e.t.Helper()
	c := e.socket(a, sys.AF_UNIX, typ)
	if err := a.Connect(c, &sys.SockaddrUnix{Name: path}); err != nil {
		e.t.Fatalf("connect: %v", err)
	}
	s, _, err := b.Accept(lfd)
	if err != nil {
		e.t.Fatalf("accept: %v", err)
	}
	return c, s
}

func (e *env) send(p *sys.Proc, fd int, s string) {
	e.t.Helper()
	n, err := p.SendmsgN(fd, []byte(s), nil, nil, 0)
	if err != nil || n != len(s) {
		e.t.Fatalf("send %q: %d, %v", s, n, err)
	}
}

func (e *env) recv(p *sys.Proc, fd int, size int) string {
	e.t.Helper()
	b := make([]byte, size)
	n, err := p.Read(fd, b)
	if err != nil {
		e.t.Fatalf("read: %v", err)
	}
	return string(b[:n])
}
