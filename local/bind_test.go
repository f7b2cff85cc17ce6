package local_test

import (
	"strings"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/socket"
)

// uipc_bindat: family, length, emptiness, rebinding and a taken name.
func TestBindErrors(t *testing.T) {
	long104 := "/" + strings.Repeat("p", socket.SUNPATHLEN-1)
	long105 := long104 + "x"
	tests := []struct {
		name string
		prep func(e *env) // what exists already
		addr socket.Sockaddr
		want error
	}{
		{"fresh path", nil, un("/b/fresh"), nil},
		{"path of exactly 104 bytes", nil, un(long104), nil},
		{"path over 104 bytes", nil, un(long105), syscall.ENAMETOOLONG},
		{"empty path", nil, un(""), syscall.EINVAL},
		{"not AF_UNIX", nil, inetAddr{}, syscall.EAFNOSUPPORT},
		{"name in use by a stream socket", func(e *env) { e.bound(socket.SOCK_STREAM, "/b/taken") }, un("/b/taken"), syscall.EADDRINUSE},
		{"name in use by a datagram socket", func(e *env) { e.bound(socket.SOCK_DGRAM, "/b/taken") }, un("/b/taken"), syscall.EADDRINUSE},
		{"name in use by a listener", func(e *env) { e.listener(socket.SOCK_SEQPACKET, "/b/taken", 1) }, un("/b/taken"), syscall.EADDRINUSE},
	}
	for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET} {
		for _, tc := range tests {
			t.Run(typeName(typ)+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				if tc.prep != nil {
					tc.prep(e)
				}
				so := e.socket(typ)
				wantErr(t, "bind", so.Bind(tc.addr), tc.want)
				if tc.want == nil {
					if got := sockName(t, so); got != tc.addr.(socket.SockaddrUnix).Path {
						t.Fatalf("getsockname = %q, want %q", got, tc.addr)
					}
				} else if got := sockName(t, so); got != "" {
					t.Fatalf("getsockname after a failed bind = %q, want unnamed", got)
				}
			})
		}
	}
}

// A socket binds once: a second bind is EINVAL, to the same name or another,
// and the first name stays.
func TestBindTwice(t *testing.T) {
	for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET} {
		t.Run(typeName(typ), func(t *testing.T) {
			e := newEnv(t)
			so := e.bound(typ, "/first")
			wantErr(t, "bind again to another name", so.Bind(un("/second")), syscall.EINVAL)
			wantErr(t, "bind again to the same name", so.Bind(un("/first")), syscall.EINVAL)
			if got := sockName(t, so); got != "/first" {
				t.Fatalf("getsockname = %q, want /first", got)
			}
			// The failed bind did not take /second.
			e.bound(typ, "/second")
		})
	}
}

// The name goes with the socket (bsdnet has no file to unlink): after
// close, another socket may bind it; while any holder remains, it may not.
func TestBindReleasedOnClose(t *testing.T) {
	e := newEnv(t)
	a := e.bound(socket.SOCK_STREAM, "/reuse")
	a.Hold() // a second descriptor
	a.Close()
	wantErr(t, "bind while a holder remains", e.socket(socket.SOCK_STREAM).Bind(un("/reuse")), syscall.EADDRINUSE)
	a.Close()
	b := e.socket(socket.SOCK_DGRAM)
	wantErr(t, "bind after close", b.Bind(un("/reuse")), nil)

	// A listener's name, too, and the new owner is the one reached.
	l := e.listener(socket.SOCK_STREAM, "/srv", 1)
	l.Close()
	l2 := e.listener(socket.SOCK_STREAM, "/srv", 1)
	c := e.socket(socket.SOCK_STREAM)
	wantErr(t, "connect to the new listener", c.Connect(un("/srv")), nil)
	if q, _, _ := l2.ListenQueue(); q != 1 {
		t.Fatalf("new listener queue = %d, want 1", q)
	}
}

// getsockname and getpeername through pr_sockaddr and pr_peeraddr:
// uipc_sockaddr gives the bound name or sun_noname; uipc_peeraddr the peer's
// name, sun_noname when the peer is unnamed or there is no peer (no error).
// An accepted socket carries a copy of the listener's address (unp_connectat
// copies unp_addr to the new socket), so the connector's getpeername and the
// accepted socket's getsockname both give the listener's path.
func TestSocknamePeername(t *testing.T) {
	e := newEnv(t)
	u := e.socket(socket.SOCK_STREAM)
	if got := sockName(t, u); got != "" {
		t.Errorf("unbound getsockname = %q, want unnamed", got)
	}
	if got := peerName(t, u); got != "" {
		t.Errorf("unconnected getpeername = %q, want unnamed", got)
	}
	if sa, _ := u.Proto().Usrreqs.Sockaddr(u); sa.Len() != 16 || sa.Family() != socket.AF_UNIX {
		t.Errorf("sun_noname: len %d family %d, want 16, AF_UNIX", sa.Len(), sa.Family())
	}

	l := e.listener(socket.SOCK_STREAM, "/names/srv", 5)
	// An unnamed connector.
	c := e.socket(socket.SOCK_STREAM)
	wantErr(t, "connect", c.Connect(un("/names/srv")), nil)
	s := e.accept(l)
	if sa, err := s.Accept(); err != nil || unPath(t, sa) != "" {
		t.Errorf("soaccept peer = %v, %v; want unnamed", sa, err)
	}
	if got := peerName(t, s); got != "" {
		t.Errorf("accepted getpeername = %q, want unnamed (connector is unbound)", got)
	}
	if got := sockName(t, c); got != "" {
		t.Errorf("connector getsockname = %q, want unnamed", got)
	}
	if got := peerName(t, c); got != "/names/srv" {
		t.Errorf("connector getpeername = %q, want the listener's path /names/srv", got)
	}
	if got := sockName(t, s); got != "/names/srv" {
		t.Errorf("accepted getsockname = %q, want the listener's path /names/srv", got)
	}

	// A named connector.
	c2 := e.bound(socket.SOCK_STREAM, "/names/cli")
	wantErr(t, "connect", c2.Connect(un("/names/srv")), nil)
	s2 := e.accept(l)
	if sa, err := s2.Accept(); err != nil || unPath(t, sa) != "/names/cli" {
		t.Errorf("soaccept peer = %v, %v; want /names/cli", sa, err)
	}
	if got := peerName(t, s2); got != "/names/cli" {
		t.Errorf("accepted getpeername = %q, want /names/cli", got)
	}
	if got := sockName(t, c2); got != "/names/cli" {
		t.Errorf("named connector getsockname = %q", got)
	}

	// Datagram: the connected target's name; a socketpair is unnamed.
	d := e.bound(socket.SOCK_DGRAM, "/names/d")
	dc := e.socket(socket.SOCK_DGRAM)
	wantErr(t, "dgram connect", dc.Connect(un("/names/d")), nil)
	if got := peerName(t, dc); got != "/names/d" {
		t.Errorf("dgram getpeername = %q, want /names/d", got)
	}
	if got := peerName(t, d); got != "" {
		t.Errorf("unconnected dgram getpeername = %q, want unnamed", got)
	}
	p1, p2 := e.pair(socket.SOCK_STREAM)
	if peerName(t, p1) != "" || peerName(t, p2) != "" || sockName(t, p1) != "" {
		t.Errorf("socketpair names not unnamed")
	}
}

func typeName(typ int) string {
	switch typ {
	case socket.SOCK_STREAM:
		return "stream"
	case socket.SOCK_DGRAM:
		return "dgram"
	case socket.SOCK_SEQPACKET:
		return "seqpacket"
	}
	return "type?"
}
