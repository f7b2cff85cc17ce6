package local_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/socket"
)

// unp_connectat's errors, for each connection-oriented type.
func TestConnectErrors(t *testing.T) {
	for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_SEQPACKET} {
		other := socket.SOCK_SEQPACKET
		if typ == socket.SOCK_SEQPACKET {
			other = socket.SOCK_STREAM
		}
		tests := []struct {
			name string
			prep func(e *env) *socket.Socket // returns the connecting socket
			to   socket.Sockaddr
			want error
		}{
			{"no such name", func(e *env) *socket.Socket { return e.socket(typ) }, un("/nowhere"), syscall.ENOENT},
			{"bound but not listening", func(e *env) *socket.Socket {
				e.bound(typ, "/target")
				return e.socket(typ)
			}, un("/target"), syscall.ECONNREFUSED},
			{"target is a datagram socket", func(e *env) *socket.Socket {
				e.bound(socket.SOCK_DGRAM, "/target")
				return e.socket(typ)
			}, un("/target"), syscall.EPROTOTYPE},
			{"target listens with another type", func(e *env) *socket.Socket {
				e.listener(other, "/target", 5)
				return e.socket(typ)
			}, un("/target"), syscall.EPROTOTYPE},
			{"already connected", func(e *env) *socket.Socket {
				e.listener(typ, "/target", 5)
				c, _ := e.connected(typ, "/other")
				return c
			}, un("/target"), syscall.EISCONN},
			{"socketpair end", func(e *env) *socket.Socket {
				e.listener(typ, "/target", 5)
				a, _ := e.pair(typ)
				return a
			}, un("/target"), syscall.EISCONN},
			{"connecting socket listens", func(e *env) *socket.Socket {
				e.listener(typ, "/target", 5)
				return e.listener(typ, "/me", 5)
			}, un("/target"), syscall.EOPNOTSUPP},
			{"not AF_UNIX", func(e *env) *socket.Socket { return e.socket(typ) }, inetAddr{}, syscall.EAFNOSUPPORT},
			{"empty path", func(e *env) *socket.Socket { return e.socket(typ) }, un(""), syscall.EINVAL},
		}
		for _, tc := range tests {
			t.Run(typeName(typ)+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				so := tc.prep(e)
				wantErr(t, "connect", so.Connect(tc.to), tc.want)
				if so.State()&socket.SS_ISCONNECTING != 0 {
					t.Fatalf("SS_ISCONNECTING left set after a failed connect")
				}
			})
		}
	}
}

// A failed connect leaves the socket usable: it connects afterwards.
func TestConnectAfterRefusal(t *testing.T) {
	e := newEnv(t)
	l := e.bound(socket.SOCK_STREAM, "/late")
	c := e.socket(socket.SOCK_STREAM)
	wantErr(t, "connect before listen", c.Connect(un("/late")), syscall.ECONNREFUSED)
	if err := l.Listen(1); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "connect after listen", c.Connect(un("/late")), nil)
	s := e.accept(l)
	send(c, []byte("ok"), 0)
	if got, _, err := recv(s, 10, 0); err != nil || string(got) != "ok" {
		t.Fatalf("recv = %q, %v", got, err)
	}
}

// A closed listener: FreeBSD keeps the socket file and refuses
// (ECONNREFUSED); bsdnet releases the name with the socket (local.go package
// comment), so the name is gone (ENOENT). Either way nothing connects and
// nothing is queued anywhere.
func TestConnectToClosedListener(t *testing.T) {
	e := newEnv(t)
	base := e.counts()
	l := e.listener(socket.SOCK_STREAM, "/gone", 5)
	l.Close()
	c := e.socket(socket.SOCK_STREAM)
	err := c.Connect(un("/gone"))
	if !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("connect to a closed listener's name = %v, want ENOENT (name released on close)", err)
	}
	c.Close()
	if got := e.counts(); got != base {
		t.Fatalf("counts %+v, want %+v", got, base)
	}
}

// Closing a listener with queued connections aborts them; their peers see
// the connection gone: reads return EOF (after the error), sends fail.
func TestListenerCloseAbortsQueue(t *testing.T) {
	e := newEnv(t)
	base := e.counts()
	l := e.listener(socket.SOCK_STREAM, "/q", 5)
	c := e.socket(socket.SOCK_STREAM)
	wantErr(t, "connect", c.Connect(un("/q")), nil)
	if _, err := send(c, []byte("lost"), 0); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// FreeBSD 14 unp_drop: so_error = ECONNRESET; the disconnection makes
	// later sends EPIPE.
	_, _, err := recv(c, 10, socket.MSG_DONTWAIT)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("recv after the listener closed = %v, want ECONNRESET or EOF", err)
	}
	got, _, err := recv(c, 10, socket.MSG_DONTWAIT)
	if err != nil || len(got) != 0 {
		t.Fatalf("second recv = %q, %v; want EOF", got, err)
	}
	if _, err := send(c, []byte("x"), 0); !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("send after the listener closed = %v, want EPIPE", err)
	}
	c.Close()
	if got := e.counts(); got != base {
		t.Fatalf("counts %+v, want %+v (aborted child leaked?)", got, base)
	}
}

// uipc_listen: a connected socket is EINVAL (checked first, so an unbound
// connected socket is EINVAL too), else an unbound socket is EDESTADDRREQ;
// datagram sockets cannot listen (EOPNOTSUPP, the pr_listen default).
func TestListenErrors(t *testing.T) {
	tests := []struct {
		name string
		prep func(e *env) *socket.Socket
		want error
	}{
		{"unbound stream", func(e *env) *socket.Socket { return e.socket(socket.SOCK_STREAM) }, syscall.EDESTADDRREQ},
		{"unbound seqpacket", func(e *env) *socket.Socket { return e.socket(socket.SOCK_SEQPACKET) }, syscall.EDESTADDRREQ},
		{"bound dgram", func(e *env) *socket.Socket { return e.bound(socket.SOCK_DGRAM, "/d") }, syscall.EOPNOTSUPP},
		{"unbound dgram", func(e *env) *socket.Socket { return e.socket(socket.SOCK_DGRAM) }, syscall.EOPNOTSUPP},
		{"connected stream", func(e *env) *socket.Socket {
			c, _ := e.connected(socket.SOCK_STREAM, "/x")
			return c
		}, syscall.EINVAL},
		{"accepted stream (has the listener's name)", func(e *env) *socket.Socket {
			_, s := e.connected(socket.SOCK_STREAM, "/x")
			return s
		}, syscall.EINVAL},
		{"bound stream", func(e *env) *socket.Socket { return e.bound(socket.SOCK_STREAM, "/s") }, nil},
		{"listening again", func(e *env) *socket.Socket { return e.listener(socket.SOCK_STREAM, "/s", 1) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			so := tc.prep(e)
			wantErr(t, "listen", so.Listen(5), tc.want)
		})
	}
}

// listen_backlog: the queue takes up to 1.5 x backlog (sonewconn refuses
// once sol_qlen > 3*qlimit/2): with backlog 2, connects 1..4 succeed and the
// 5th is refused; accepting one makes room for one more.
func TestListenBacklog(t *testing.T) {
	for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_SEQPACKET} {
		t.Run(typeName(typ), func(t *testing.T) {
			e := newEnv(t)
			l := e.listener(typ, "/bl", 2)
			var clients []*socket.Socket
			for i := 1; i <= 4; i++ {
				c := e.socket(typ)
				wantErr(t, "connect", c.Connect(un("/bl")), nil)
				clients = append(clients, c)
			}
			refused := e.socket(typ)
			wantErr(t, "5th connect", refused.Connect(un("/bl")), syscall.ECONNREFUSED)
			if refused.State()&(socket.SS_ISCONNECTED|socket.SS_ISCONNECTING) != 0 {
				t.Fatalf("refused socket state %#x", refused.State())
			}
			if q, _, lim := l.ListenQueue(); q != 4 || lim != 2 {
				t.Fatalf("qlen %d qlimit %d, want 4, 2", q, lim)
			}
			if n := e.v.Stats.ListenOverflows.Load(); n != 1 {
				t.Fatalf("ListenOverflows = %d, want 1", n)
			}
			s := e.accept(l)
			wantErr(t, "connect after an accept", refused.Connect(un("/bl")), nil)
			wantErr(t, "connect past the limit again", e.socket(typ).Connect(un("/bl")), syscall.ECONNREFUSED)
			// The queue is FIFO: the first accepted is the first connector.
			send(clients[0], []byte("first"), 0)
			if got, _, err := recv(s, 10, socket.MSG_DONTWAIT); err != nil || string(got) != "first" {
				t.Fatalf("first accepted socket got %q, %v", got, err)
			}
		})
	}
}

// Backlog 0 still takes one connection (0 > 3*0/2 only after one queued);
// a negative backlog means somaxconn.
func TestListenBacklogEdges(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/zero", 0)
	wantErr(t, "first connect with backlog 0", e.socket(socket.SOCK_STREAM).Connect(un("/zero")), nil)
	wantErr(t, "second connect with backlog 0", e.socket(socket.SOCK_STREAM).Connect(un("/zero")), syscall.ECONNREFUSED)
	if err := l.Listen(-1); err != nil {
		t.Fatal(err)
	}
	if _, _, lim := l.ListenQueue(); lim != e.v.Somaxconn() {
		t.Fatalf("qlimit after listen(-1) = %d, want somaxconn %d", lim, e.v.Somaxconn())
	}
	wantErr(t, "connect after raising the backlog", e.socket(socket.SOCK_STREAM).Connect(un("/zero")), nil)
}

// accept(2) on a socket that does not listen is EINVAL; on an empty
// non-blocking listener EWOULDBLOCK.
func TestAcceptErrors(t *testing.T) {
	e := newEnv(t)
	if _, err := e.bound(socket.SOCK_STREAM, "/a").ListenDequeue(bg, socket.MSG_DONTWAIT); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("accept on a non-listener = %v, want EINVAL", err)
	}
	if _, err := e.bound(socket.SOCK_DGRAM, "/d").ListenDequeue(bg, socket.MSG_DONTWAIT); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("accept on a dgram socket = %v, want EINVAL", err)
	}
	l := e.listener(socket.SOCK_STREAM, "/l", 1)
	if _, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("accept on an empty listener = %v, want EWOULDBLOCK", err)
	}
}
