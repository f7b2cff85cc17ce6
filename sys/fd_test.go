package sys_test

import (
	"testing"

	"github.com/bsdnet/bsdnet/sys"
)

// Descriptors are allocated lowest free first, and a closed one is reused.
func TestLowestFree(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	for want := 0; want < 3; want++ {
		if fd := e.socket(p, sys.AF_UNIX, sys.SOCK_STREAM); fd != want {
			t.Fatalf("socket = %d, want %d", fd, want)
		}
	}
	if err := p.Close(1); err != nil {
		t.Fatal(err)
	}
	if fd := e.socket(p, sys.AF_UNIX, sys.SOCK_DGRAM); fd != 1 {
		t.Fatalf("after close(1), socket = %d, want 1", fd)
	}
	fds, err := p.Socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0)
	if err != nil || fds != [2]int{3, 4} {
		t.Fatalf("socketpair = %v, %v; want [3 4]", fds, err)
	}
	if n := p.NumFDs(); n != 5 {
		t.Fatalf("NumFDs = %d, want 5", n)
	}
}

// Every call on a descriptor never opened, or closed, is EBADF. (Every
// descriptor is a socket: ENOTSOCK cannot happen.)
func TestEBADF(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	closed := e.socket(p, sys.AF_UNIX, sys.SOCK_STREAM)
	if err := p.Close(closed); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	calls := []struct {
		name string
		call func(fd int) error
	}{
		{"close", p.Close},
		{"bind", func(fd int) error { return p.Bind(fd, &sys.SockaddrUnix{Name: "/x"}) }},
		{"listen", func(fd int) error { return p.Listen(fd, 1) }},
		{"accept", func(fd int) error { _, _, err := p.Accept(fd); return err }},
		{"accept4", func(fd int) error { _, _, err := p.Accept4(fd, 0); return err }},
		{"connect", func(fd int) error { return p.Connect(fd, &sys.SockaddrUnix{Name: "/x"}) }},
		{"send", func(fd int) error { return p.Send(fd, buf, 0) }},
		{"sendmsg", func(fd int) error { return p.Sendmsg(fd, buf, nil, nil, 0) }},
		{"read", func(fd int) error { _, err := p.Read(fd, buf); return err }},
		{"recvmsg", func(fd int) error { _, _, _, _, err := p.Recvmsg(fd, buf, buf, 0); return err }},
		{"shutdown", func(fd int) error { return p.Shutdown(fd, sys.SHUT_RDWR) }},
		{"getsockname", func(fd int) error { _, err := p.Getsockname(fd); return err }},
		{"getpeername", func(fd int) error { _, err := p.Getpeername(fd); return err }},
		{"getsockopt", func(fd int) error { _, err := p.GetsockoptInt(fd, sys.SOL_SOCKET, sys.SO_TYPE); return err }},
		{"setsockopt", func(fd int) error { return p.SetsockoptInt(fd, sys.SOL_SOCKET, sys.SO_SNDBUF, 1) }},
		{"fcntl F_GETFL", func(fd int) error { _, err := p.Fcntl(fd, sys.F_GETFL, 0); return err }},
		{"fcntl F_GETFD", func(fd int) error { _, err := p.Fcntl(fd, sys.F_GETFD, 0); return err }},
		{"ioctl FIONREAD", func(fd int) error { _, err := p.IoctlGetInt(fd, sys.FIONREAD); return err }},
		{"ioctl FIONBIO", func(fd int) error { return p.IoctlSetInt(fd, sys.FIONBIO, 1) }},
		{"dup", func(fd int) error { _, err := p.Dup(fd); return err }},
		{"dup2", func(fd int) error { return p.Dup2(fd, 10) }},
	}
	for _, c := range calls {
		for _, fd := range []int{-1, closed, 77} {
			if err := c.call(fd); err != sys.EBADF {
				t.Errorf("%s(%d) = %v, want EBADF", c.name, fd, err)
			}
		}
	}
}

// A full table is EMFILE for every call that makes descriptors, and the
// sockets they would have made are not left behind.
func TestEMFILE(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	if err := p.SetRlimitNofile(3); err != nil {
		t.Fatal(err)
	}
	lfd := e.listener(p, sys.SOCK_STREAM, "/l")
	a := e.socket(p, sys.AF_UNIX, sys.SOCK_STREAM)
	base := e.sockets()
	if _, err := p.Socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0); err != sys.EMFILE {
		t.Fatalf("socketpair with one free slot = %v, want EMFILE", err)
	}
	if e.sockets() != base {
		t.Fatalf("sockets = %d, want %d", e.sockets(), base)
	}
	if err := p.Connect(a, &sys.SockaddrUnix{Name: "/l"}); err != nil {
		t.Fatal(err)
	}
	b := e.socket(p, sys.AF_UNIX, sys.SOCK_DGRAM)
	// FreeBSD checks the table before the domain: EMFILE, not EAFNOSUPPORT.
	for _, dom := range []int{sys.AF_UNIX, 99} {
		if _, err := p.Socket(dom, sys.SOCK_DGRAM, 0); err != sys.EMFILE {
			t.Fatalf("socket(%d) on a full table = %v, want EMFILE", dom, err)
		}
	}
	if _, err := p.Dup(a); err != sys.EMFILE {
		t.Fatalf("dup = %v, want EMFILE", err)
	}
	// accept allocates before dequeueing: the connection stays queued.
	if _, _, err := p.Accept(lfd); err != sys.EMFILE {
		t.Fatalf("accept = %v, want EMFILE", err)
	}
	if err := p.Close(b); err != nil {
		t.Fatal(err)
	}
	s, _, err := p.Accept(lfd)
	if err != nil {
		t.Fatalf("accept after making room: %v", err)
	}
	e.send(p, a, "queued")
	if got := e.recv(p, s, 16); got != "queued" {
		t.Fatalf("got %q", got)
	}
	if err := p.Dup2(a, 3); err != sys.EBADF {
		t.Fatalf("dup2 to the limit = %v, want EBADF", err)
	}
	if err := p.SetRlimitNofile(-1); err != sys.EINVAL {
		t.Fatalf("SetRlimitNofile(-1) = %v", err)
	}
}

func TestSocketErrors(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	tests := []struct {
		domain, typ, proto int
		want               error
	}{
		{99, sys.SOCK_STREAM, 0, sys.EAFNOSUPPORT},
		{sys.AF_UNIX, sys.SOCK_RAW, 0, sys.EPROTOTYPE},
		{sys.AF_INET, sys.SOCK_RAW, sys.IPPROTO_ICMP, sys.EPERM},
	}
	for _, tt := range tests {
		if fd, err := p.Socket(tt.domain, tt.typ, tt.proto); err != tt.want {
			t.Errorf("socket(%d, %d, %d) = %d, %v; want %v", tt.domain, tt.typ, tt.proto, fd, err, tt.want)
		}
	}
	if _, err := p.Socketpair(sys.AF_INET, sys.SOCK_DGRAM, 0); err != sys.EOPNOTSUPP {
		t.Errorf("socketpair(AF_INET) = %v, want EOPNOTSUPP", err)
	}
	if n := p.NumFDs(); n != 0 {
		t.Errorf("%d descriptors left by failed calls", n)
	}
}

// SOCK_NONBLOCK and SOCK_CLOEXEC; O_NONBLOCK belongs to the socket (shared
// by a dup), FD_CLOEXEC to the descriptor; Exec closes the FD_CLOEXEC ones.
func TestFlags(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	fd, err := p.Socket(sys.AF_UNIX, sys.SOCK_STREAM|sys.SOCK_NONBLOCK|sys.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fl, _ := p.Fcntl(fd, sys.F_GETFL, 0); fl&sys.O_NONBLOCK == 0 {
		t.Errorf("F_GETFL = %#x, want O_NONBLOCK", fl)
	}
	if fl, _ := p.Fcntl(fd, sys.F_GETFD, 0); fl != sys.FD_CLOEXEC {
		t.Errorf("F_GETFD = %#x, want FD_CLOEXEC", fl)
	}
	d, err := p.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	if fl, _ := p.Fcntl(d, sys.F_GETFD, 0); fl != 0 {
		t.Errorf("dup's F_GETFD = %#x, want 0", fl)
	}
	if _, err := p.Fcntl(d, sys.F_SETFL, 0); err != nil {
		t.Fatal(err)
	}
	if fl, _ := p.Fcntl(fd, sys.F_GETFL, 0); fl&sys.O_NONBLOCK != 0 {
		t.Errorf("O_NONBLOCK cleared through the dup is still set on the original: %#x", fl)
	}
	if err := p.IoctlSetInt(fd, sys.FIONBIO, 1); err != nil {
		t.Fatal(err)
	}
	if fl, _ := p.Fcntl(d, sys.F_GETFL, 0); fl&sys.O_NONBLOCK == 0 {
		t.Errorf("FIONBIO not seen through the dup: %#x", fl)
	}
	if _, err := p.Fcntl(fd, 999, 0); err != sys.EINVAL {
		t.Errorf("fcntl(999) = %v, want EINVAL", err)
	}
	if err := p.IoctlSetInt(fd, 0x1234, 0); err != sys.ENOTTY {
		t.Errorf("ioctl(0x1234) = %v, want ENOTTY", err)
	}
	hi, err := p.Fcntl(fd, sys.F_DUPFD_CLOEXEC, 10)
	if err != nil || hi != 10 {
		t.Fatalf("F_DUPFD_CLOEXEC 10 = %d, %v", hi, err)
	}
	p.Exec()
	if _, err := p.Fcntl(fd, sys.F_GETFD, 0); err != sys.EBADF {
		t.Errorf("FD_CLOEXEC descriptor after Exec: %v, want EBADF", err)
	}
	if _, err := p.Fcntl(hi, sys.F_GETFD, 0); err != sys.EBADF {
		t.Errorf("F_DUPFD_CLOEXEC descriptor after Exec: %v, want EBADF", err)
	}
	if _, err := p.Fcntl(d, sys.F_GETFD, 0); err != nil {
		t.Errorf("plain descriptor after Exec: %v", err)
	}
}

// Dup and Dup2 share the socket: it stays open until the last descriptor
// closes; Dup2 closes what the target named.
func TestDupSharesSocket(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	a, b := e.pair(p, sys.SOCK_STREAM)
	c := e.socket(p, sys.AF_UNIX, sys.SOCK_DGRAM)
	base := e.sockets()
	if err := p.Dup2(a, c); err != nil {
		t.Fatal(err)
	}
	if e.sockets() != base-1 {
		t.Fatalf("dup2 over a descriptor did not close its socket: %d sockets, want %d", e.sockets(), base-1)
	}
	if err := p.Close(a); err != nil {
		t.Fatal(err)
	}
	e.send(p, c, "still open")
	if got := e.recv(p, b, 32); got != "still open" {
		t.Fatalf("got %q", got)
	}
	if err := p.Dup2(c, c); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(c); err != nil {
		t.Fatal(err)
	}
	if got := e.recv(p, b, 32); got != "" {
		t.Fatalf("after the last close the peer read %q, want EOF", got)
	}
}
