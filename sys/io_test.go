package sys_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/sys"
)

// unix_seqpacket: records keep their boundaries and carry MSG_EOR; a
// short buffer truncates (MSG_TRUNC); a closed peer makes sends EPIPE (no
// SIGPIPE) and reads EOF.
func TestSeqpacket(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	a, b := e.pair(p, sys.SOCK_SEQPACKET)
	if err := p.Send(a, []byte("first"), sys.MSG_EOR); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(a, []byte("second record"), 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _, flags, _, err := p.Recvmsg(b, buf, nil, 0)
	if err != nil || string(buf[:n]) != "first" || flags&sys.MSG_EOR == 0 {
		t.Fatalf("recvmsg = %q, %#x, %v; want \"first\" with MSG_EOR", buf[:n], flags, err)
	}
	n, _, flags, _, err = p.Recvmsg(b, buf[:6], nil, 0)
	if err != nil || string(buf[:n]) != "second" || flags&sys.MSG_TRUNC == 0 {
		t.Fatalf("short recvmsg = %q, %#x, %v; want \"second\" with MSG_TRUNC", buf[:n], flags, err)
	}
	if err := p.Close(b); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(a, []byte("x"), sys.MSG_NOSIGNAL); err != sys.EPIPE {
		t.Fatalf("send to a closed peer = %v, want EPIPE", err)
	}
	if n, err := p.Read(a, buf); n != 0 || err != nil {
		t.Fatalf("read from a closed peer = %d, %v; want EOF", n, err)
	}
}

// unix_stream / sosend partial writes: a non-blocking stream send that
// fills the peer returns the short count without error; the next is
// EAGAIN. MSG_DONTWAIT does the same on a blocking socket.
func TestStreamPartialWrite(t *testing.T) {
	for _, nb := range []bool{true, false} {
		e := newEnv(t)
		p := e.proc()
		typ, flags := sys.SOCK_STREAM, 0
		if nb {
			typ |= sys.SOCK_NONBLOCK
		} else {
			flags = sys.MSG_DONTWAIT
		}
		fds, err := p.Socketpair(sys.AF_UNIX, typ, 0)
		if err != nil {
			t.Fatal(err)
		}
		big := bytes.Repeat([]byte("x"), 1<<20)
		n, err := p.SendmsgN(fds[0], big, nil, nil, flags)
		if err != nil || n <= 0 || n >= len(big) {
			t.Fatalf("nonblocking %v: sendmsgN = %d, %v; want a short count and no error", nb, n, err)
		}
		if _, err := p.SendmsgN(fds[0], big, nil, nil, flags); err != sys.EAGAIN {
			t.Fatalf("nonblocking %v: second send = %v, want EAGAIN", nb, err)
		}
		if got, _ := p.IoctlGetInt(fds[1], sys.FIONREAD); got != n {
			t.Fatalf("FIONREAD = %d, want %d", got, n)
		}
		got := 0
		buf := make([]byte, 1<<16)
		for got < n {
			k, err := p.Recv(fds[1], buf, sys.MSG_DONTWAIT)
			if err != nil {
				t.Fatalf("after %d of %d: %v", got, n, err)
			}
			got += k
		}
	}
}

// A blocked send finishes as the reader drains; a stream send is whole when
// it does not have to stop.
func TestStreamBlockingWrite(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	a, b := e.pair(p, sys.SOCK_STREAM)
	big := bytes.Repeat([]byte("y"), 300<<10)
	done := make(chan error, 1)
	go func() {
		n, err := p.Write(a, big)
		if err == nil && n != len(big) {
			err = sys.EMSGSIZE
		}
		done <- err
	}()
	got := 0
	buf := make([]byte, 1<<16)
	for got < len(big) {
		k, err := p.Read(b, buf)
		if err != nil {
			t.Fatal(err)
		}
		got += k
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// unix_dgram: sendto and recvfrom between named sockets; a full receiver is
// ENOBUFS, never EAGAIN, even for a blocking sender.
func TestDgram(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	rx := e.socket(p, sys.AF_UNIX, sys.SOCK_DGRAM)
	tx := e.socket(p, sys.AF_UNIX, sys.SOCK_DGRAM)
	if err := p.Bind(rx, &sys.SockaddrUnix{Name: "/rx"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Bind(tx, &sys.SockaddrUnix{Name: "/tx"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Sendto(tx, []byte("hello"), 0, &sys.SockaddrUnix{Name: "/rx"}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, from, err := p.Recvfrom(rx, buf, 0)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("recvfrom = %q, %v", buf[:n], err)
	}
	if u, ok := from.(*sys.SockaddrUnix); !ok || u.Name != "/tx" {
		t.Fatalf("from = %#v, want /tx", from)
	}
	if err := p.Sendto(tx, []byte("x"), 0, &sys.SockaddrUnix{Name: "/nowhere"}); err != sys.ENOENT {
		t.Fatalf("sendto a missing name = %v, want ENOENT", err)
	}
	if err := p.Send(tx, []byte("x"), 0); err != sys.EDESTADDRREQ && err != sys.ENOTCONN {
		t.Fatalf("send unconnected = %v, want EDESTADDRREQ", err)
	}
	msg := make([]byte, 1024)
	var sent int
	for {
		err := p.Sendto(tx, msg, 0, &sys.SockaddrUnix{Name: "/rx"})
		if err == sys.ENOBUFS {
			break
		}
		if err != nil {
			t.Fatalf("after %d datagrams: %v", sent, err)
		}
		if sent++; sent > 1000 {
			t.Fatal("the receiver never filled")
		}
	}
	if n, _ := p.IoctlGetInt(rx, sys.FIONREAD); n != sent*len(msg) {
		t.Fatalf("FIONREAD = %d, want %d (addresses not counted)", n, sent*len(msg))
	}
}

// accept: plain accept inherits the listener's O_NONBLOCK (FreeBSD);
// accept4 takes its flags only. EINVAL on a socket that does not listen,
// EAGAIN on an empty non-blocking listener.
func TestAccept(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	lfd := e.listener(p, sys.SOCK_STREAM, "/l")
	dial := func() int {
		c := e.socket(p, sys.AF_UNIX, sys.SOCK_STREAM)
		if err := p.Connect(c, &sys.SockaddrUnix{Name: "/l"}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	nonblocking := func(fd int) bool {
		fl, err := p.Fcntl(fd, sys.F_GETFL, 0)
		if err != nil {
			t.Fatal(err)
		}
		return fl&sys.O_NONBLOCK != 0
	}
	cloexec := func(fd int) bool {
		fl, _ := p.Fcntl(fd, sys.F_GETFD, 0)
		return fl&sys.FD_CLOEXEC != 0
	}
	if err := p.SetNonblock(lfd, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Accept(lfd); err != sys.EAGAIN {
		t.Fatalf("accept on an empty non-blocking listener = %v, want EAGAIN", err)
	}
	tests := []struct {
		name         string
		accept       func() (int, sys.Sockaddr, error)
		nb, cloexec  bool
		listenerNBIO bool
	}{
		{"accept inherits", func() (int, sys.Sockaddr, error) { return p.Accept(lfd) }, true, false, true},
		{"accept4 0", func() (int, sys.Sockaddr, error) { return p.Accept4(lfd, 0) }, false, false, true},
		{"accept4 flags", func() (int, sys.Sockaddr, error) {
			return p.Accept4(lfd, sys.SOCK_NONBLOCK|sys.SOCK_CLOEXEC)
		}, true, true, true},
		{"accept blocking", func() (int, sys.Sockaddr, error) { return p.Accept(lfd) }, false, false, false},
	}
	for _, tt := range tests {
		p.SetNonblock(lfd, tt.listenerNBIO)
		c := dial()
		s, sa, err := tt.accept()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if u, ok := sa.(*sys.SockaddrUnix); !ok || u.Name != "" {
			t.Errorf("%s: peer address %#v, want the unnamed address", tt.name, sa)
		}
		if nonblocking(s) != tt.nb || cloexec(s) != tt.cloexec {
			t.Errorf("%s: O_NONBLOCK %v FD_CLOEXEC %v; want %v %v", tt.name, nonblocking(s), cloexec(s), tt.nb, tt.cloexec)
		}
		e.send(p, c, "hi")
		if got := e.recv(p, s, 8); got != "hi" {
			t.Errorf("%s: read %q", tt.name, got)
		}
		if sa, err := p.Getsockname(s); err != nil || sa.(*sys.SockaddrUnix).Name != "/l" {
			t.Errorf("%s: getsockname %#v, %v", tt.name, sa, err)
		}
	}
	if _, _, err := p.Accept4(lfd, sys.MSG_PEEK); err != sys.EINVAL {
		t.Fatalf("accept4 with a bad flag = %v, want EINVAL", err)
	}
	d := e.socket(p, sys.AF_UNIX, sys.SOCK_DGRAM)
	s := e.socket(p, sys.AF_UNIX, sys.SOCK_STREAM)
	for _, fd := range []int{d, s} {
		if _, _, err := p.Accept(fd); err != sys.EINVAL {
			t.Fatalf("accept on a socket that does not listen = %v, want EINVAL", err)
		}
	}
	if err := p.Listen(d, 1); err != sys.EOPNOTSUPP {
		t.Fatalf("listen on dgram = %v, want EOPNOTSUPP", err)
	}
	if err := p.Connect(s, &sys.SockaddrUnix{Name: "/nowhere"}); err != sys.ENOENT {
		t.Fatalf("connect to a missing name = %v, want ENOENT", err)
	}
}

// A blocked accept ends with its context: EINTR when cancelled.
func TestAcceptContext(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	lfd := e.listener(p, sys.SOCK_STREAM, "/l")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	if _, _, err := p.Accept4Context(ctx, lfd, 0); err != sys.EINTR {
		t.Fatalf("cancelled accept = %v, want EINTR", err)
	}
}

// shutdown: SHUT_WR makes the peer read EOF and our sends EPIPE; SHUT_RD
// makes our reads return 0; an unconnected stream socket is ENOTCONN; a bad
// direction is EINVAL.
func TestShutdown(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	a, b := e.pair(p, sys.SOCK_STREAM)
	buf := make([]byte, 8)
	if err := p.Shutdown(a, sys.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Read(b, buf); n != 0 || err != nil {
		t.Fatalf("peer after SHUT_WR read %d, %v; want EOF", n, err)
	}
	if err := p.Send(a, []byte("x"), 0); err != sys.EPIPE {
		t.Fatalf("send after SHUT_WR = %v, want EPIPE", err)
	}
	e.send(p, b, "still") // the other direction works
	if got := e.recv(p, a, 8); got != "still" {
		t.Fatalf("got %q", got)
	}
	e.send(p, b, "dropped")
	if err := p.Shutdown(a, sys.SHUT_RD); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Read(a, buf); n != 0 || err != nil {
		t.Fatalf("read after SHUT_RD = %d, %v; want 0", n, err)
	}
	for _, how := range []int{sys.SHUT_RD - 1, sys.SHUT_RDWR + 1} {
		if err := p.Shutdown(a, how); err != sys.EINVAL {
			t.Fatalf("shutdown(%d) = %v, want EINVAL", how, err)
		}
	}
	u := e.socket(p, sys.AF_UNIX, sys.SOCK_STREAM)
	if err := p.Shutdown(u, sys.SHUT_RDWR); err != sys.ENOTCONN {
		t.Fatalf("shutdown unconnected = %v, want ENOTCONN", err)
	}
	if _, err := p.Getpeername(u); err != sys.ENOTCONN {
		t.Fatalf("getpeername unconnected = %v, want ENOTCONN", err)
	}
}

// A blocked receive ends with its context: EINTR when cancelled,
// EWOULDBLOCK at its deadline; SO_RCVTIMEO gives EWOULDBLOCK too.
func TestRecvContextAndTimeout(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	a, _ := e.pair(p, sys.SOCK_STREAM)
	buf := make([]byte, 8)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	if _, _, _, _, err := p.RecvmsgContext(ctx, a, buf, nil, 0); err != sys.EINTR {
		t.Fatalf("cancelled recv = %v, want EINTR", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	if _, _, _, _, err := p.RecvmsgContext(dctx, a, buf, nil, 0); err != sys.EWOULDBLOCK {
		t.Fatalf("recv past its deadline = %v, want EWOULDBLOCK", err)
	}
	tv := sys.NsecToTimeval(int64(10 * time.Millisecond))
	if err := p.SetsockoptTimeval(a, sys.SOL_SOCKET, sys.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	if got, err := p.GetsockoptTimeval(a, sys.SOL_SOCKET, sys.SO_RCVTIMEO); err != nil || *got != tv {
		t.Fatalf("SO_RCVTIMEO = %+v, %v; want %+v", got, err, tv)
	}
	if _, err := p.Read(a, buf); err != sys.EWOULDBLOCK {
		t.Fatalf("read past SO_RCVTIMEO = %v, want EWOULDBLOCK", err)
	}
}
