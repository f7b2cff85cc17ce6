package sys_test

import (
	"testing"

	"github.com/bsdnet/bsdnet/sys"
)

// UDP over loopback through the system calls, IPv4 and IPv6.
func TestUDPLoopback(t *testing.T) {
	tests := []struct {
		name   string
		domain int
		addr   func(port int) sys.Sockaddr
		port   func(sa sys.Sockaddr) int
	}{
		{"ipv4", sys.AF_INET,
			func(port int) sys.Sockaddr { return &sys.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}} },
			func(sa sys.Sockaddr) int { return sa.(*sys.SockaddrInet4).Port }},
		{"ipv6", sys.AF_INET6,
			func(port int) sys.Sockaddr {
				return &sys.SockaddrInet6{Port: port, Addr: [16]byte{15: 1}}
			},
			func(sa sys.Sockaddr) int { return sa.(*sys.SockaddrInet6).Port }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.proc()
			srv := e.socket(p, tt.domain, sys.SOCK_DGRAM)
			if err := p.Bind(srv, tt.addr(0)); err != nil {
				t.Fatal(err)
			}
			sa, err := p.Getsockname(srv)
			if err != nil {
				t.Fatal(err)
			}
			port := tt.port(sa)
			if port == 0 {
				t.Fatal("no ephemeral port")
			}
			cli := e.socket(p, tt.domain, sys.SOCK_DGRAM)
			if err := p.Sendto(cli, []byte("udp"), 0, tt.addr(port)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			n, from, err := p.Recvfrom(srv, buf, 0)
			if err != nil || string(buf[:n]) != "udp" {
				t.Fatalf("recvfrom = %q, %v", buf[:n], err)
			}
			csa, _ := p.Getsockname(cli)
			if tt.port(from) != tt.port(csa) {
				t.Fatalf("from port %d, client bound %d", tt.port(from), tt.port(csa))
			}
			// Reply to the address received, then connect and send.
			if err := p.Sendto(srv, []byte("back"), 0, from); err != nil {
				t.Fatal(err)
			}
			if n, err := p.Read(cli, buf); err != nil || string(buf[:n]) != "back" {
				t.Fatalf("reply %q, %v", buf[:n], err)
			}
			if err := p.Connect(cli, tt.addr(port)); err != nil {
				t.Fatal(err)
			}
			if peer, err := p.Getpeername(cli); err != nil || tt.port(peer) != port {
				t.Fatalf("getpeername = %v, %v", peer, err)
			}
			if _, err := p.Write(cli, []byte("connected")); err != nil {
				t.Fatal(err)
			}
			if n, _ := p.IoctlGetInt(srv, sys.FIONREAD); n != len("connected") {
				t.Fatalf("FIONREAD = %d", n)
			}
			if n, err := p.Read(srv, buf); err != nil || string(buf[:n]) != "connected" {
				t.Fatalf("read %q, %v", buf[:n], err)
			}
		})
	}
}

// Addresses are checked before they reach the stack: a port out of range
// and a bad unix name are EINVAL, as x/sys/unix makes them.
func TestSockaddrChecks(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	in := e.socket(p, sys.AF_INET, sys.SOCK_DGRAM)
	un := e.socket(p, sys.AF_UNIX, sys.SOCK_DGRAM)
	long := make([]byte, 104)
	for i := range long {
		long[i] = 'a'
	}
	tests := []struct {
		name string
		fd   int
		sa   sys.Sockaddr
		want error
	}{
		{"port -1", in, &sys.SockaddrInet4{Port: -1}, sys.EINVAL},
		{"port 65536", in, &sys.SockaddrInet4{Port: 65536}, sys.EINVAL},
		{"v6 port", in, &sys.SockaddrInet6{Port: 70000}, sys.EINVAL},
		{"nil inet4", in, (*sys.SockaddrInet4)(nil), sys.EINVAL},
		{"nil", in, nil, sys.EINVAL},
		{"v6 on v4", in, &sys.SockaddrInet6{}, sys.EAFNOSUPPORT},
		{"unix on inet", in, &sys.SockaddrUnix{Name: "/x"}, sys.EAFNOSUPPORT},
		{"empty name", un, &sys.SockaddrUnix{}, sys.EINVAL},
		{"104-byte name", un, &sys.SockaddrUnix{Name: string(long)}, sys.EINVAL},
		{"inet on unix", un, &sys.SockaddrInet4{}, sys.EAFNOSUPPORT},
	}
	for _, tt := range tests {
		if err := p.Bind(tt.fd, tt.sa); err != tt.want {
			t.Errorf("bind %s = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := p.Bind(un, &sys.SockaddrUnix{Name: string(long[:103])}); err != nil {
		t.Fatalf("bind a 103-byte name: %v", err)
	}
	if err := p.Bind(un, &sys.SockaddrUnix{Name: "/again"}); err != sys.EINVAL {
		t.Fatalf("second bind = %v, want EINVAL", err)
	}
}

// Socket options through the calls, with FreeBSD's readings.
func TestSockopts(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	a, _ := e.pair(p, sys.SOCK_STREAM)
	if err := p.SetsockoptInt(a, sys.SOL_SOCKET, sys.SO_SNDBUF, 12345); err != nil {
		t.Fatal(err)
	}
	if v, err := p.GetsockoptInt(a, sys.SOL_SOCKET, sys.SO_SNDBUF); v != 12345 || err != nil {
		t.Fatalf("SO_SNDBUF = %d, %v", v, err)
	}
	if err := p.SetsockoptInt(a, sys.SOL_SOCKET, sys.SO_REUSEADDR, 1); err != nil {
		t.Fatal(err)
	}
	if v, _ := p.GetsockoptInt(a, sys.SOL_SOCKET, sys.SO_REUSEADDR); v != sys.SO_REUSEADDR {
		t.Fatalf("SO_REUSEADDR reads %d, want its bit %d", v, sys.SO_REUSEADDR)
	}
	if v, _ := p.GetsockoptInt(a, sys.SOL_SOCKET, sys.SO_TYPE); v != sys.SOCK_STREAM {
		t.Fatalf("SO_TYPE = %d", v)
	}
	if err := p.SetsockoptLinger(a, sys.SOL_SOCKET, sys.SO_LINGER, &sys.Linger{Onoff: 1, Linger: 5}); err != nil {
		t.Fatal(err)
	}
	if l, err := p.GetsockoptLinger(a, sys.SOL_SOCKET, sys.SO_LINGER); err != nil || l.Onoff != sys.SO_LINGER || l.Linger != 5 {
		t.Fatalf("SO_LINGER = %+v, %v", l, err)
	}
	if err := p.SetsockoptLinger(a, sys.SOL_SOCKET, sys.SO_LINGER, &sys.Linger{Onoff: 1, Linger: -1}); err != sys.EDOM {
		t.Fatalf("negative linger = %v, want EDOM", err)
	}
	if err := p.SetsockoptTimeval(a, sys.SOL_SOCKET, sys.SO_SNDTIMEO, &sys.Timeval{Usec: 1000000}); err != sys.EDOM {
		t.Fatalf("usec of a second = %v, want EDOM", err)
	}
	if _, err := p.GetsockoptInt(a, sys.SOL_SOCKET, 0x7777); err != sys.ENOPROTOOPT {
		t.Fatalf("unknown option = %v, want ENOPROTOOPT", err)
	}
	lfd := e.listener(p, sys.SOCK_STREAM, "/l")
	if err := p.SetsockoptString(lfd, sys.SOL_SOCKET, sys.SO_ACCEPTFILTER, string(make([]byte, 256))); err != sys.ENOENT {
		t.Fatalf("nameless accept filter = %v, want ENOENT", err)
	}
	arg := make([]byte, 256)
	copy(arg, "dataready")
	if err := p.SetsockoptString(lfd, sys.SOL_SOCKET, sys.SO_ACCEPTFILTER, string(arg)); err != nil {
		t.Fatal(err)
	}
	if s, err := p.GetsockoptString(lfd, sys.SOL_SOCKET, sys.SO_ACCEPTFILTER); s != "dataready" || err != nil {
		t.Fatalf("SO_ACCEPTFILTER = %q, %v", s, err)
	}
	if _, err := p.IoctlGetInt(lfd, sys.FIONREAD); err != sys.EINVAL {
		t.Fatalf("FIONREAD on a listener = %v, want EINVAL", err)
	}
}
