package sys_test

import (
	"testing"

	"github.com/bsdnet/bsdnet/sys"
)

// passfd sets up two processes joined by a connection of type typ: a's end
// and b's end.
func passfd(e *env, typ int) (a, b *sys.Proc, afd, bfd int) {
	a, b = e.proc(), e.proc()
	if typ == sys.SOCK_DGRAM {
		bfd = e.socket(b, sys.AF_UNIX, sys.SOCK_DGRAM)
		if err := b.Bind(bfd, &sys.SockaddrUnix{Name: "/rx"}); err != nil {
			e.t.Fatal(err)
		}
		afd = e.socket(a, sys.AF_UNIX, sys.SOCK_DGRAM)
		if err := a.Connect(afd, &sys.SockaddrUnix{Name: "/rx"}); err != nil {
			e.t.Fatal(err)
		}
		return a, b, afd, bfd
	}
	lfd := e.listener(b, typ, "/rx")
	afd, bfd = e.connected(a, b, lfd, typ, "/rx")
	return a, b, afd, bfd
}

var passTypes = []struct {
	name string
	typ  int
}{
	{"stream", sys.SOCK_STREAM},
	{"seqpacket", sys.SOCK_SEQPACKET},
	{"dgram", sys.SOCK_DGRAM},
}

// recvRights receives one message with room for n descriptors and returns
// the data, the descriptors and the flags.
func recvRights(e *env, p *sys.Proc, fd, n, flags int) (string, []int, int) {
	e.t.Helper()
	b := make([]byte, 64)
	oob := make([]byte, sys.CmsgSpace(4*n))
	k, oobn, rflags, _, err := p.Recvmsg(fd, b, oob, flags)
	if err != nil {
		e.t.Fatalf("recvmsg: %v", err)
	}
	msgs, err := sys.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		e.t.Fatalf("parse control: %v", err)
	}
	var fds []int
	for i := range msgs {
		f, err := sys.ParseUnixRights(&msgs[i])
		if err != nil {
			e.t.Fatalf("parse rights: %v", err)
		}
		fds = append(fds, f...)
	}
	return string(b[:k]), fds, rflags
}

// unix_passfd simple_send_fd and send_and_close: a socket passed from one
// process to another works in the receiver, and counts return to baseline.
func TestPassFD(t *testing.T) {
	for _, pt := range passTypes {
		t.Run(pt.name, func(t *testing.T) {
			e := newEnv(t)
			a, b, afd, bfd := passfd(e, pt.typ)
			x, y := e.pair(a, sys.SOCK_STREAM)
			base := e.sockets()
			if err := a.Sendmsg(afd, []byte("fd"), sys.UnixRights(x), nil, 0); err != nil {
				t.Fatal(err)
			}
			if got := e.st.Local().Inflight(); got != 1 {
				t.Fatalf("inflight = %d, want 1", got)
			}
			if err := a.Close(x); err != nil {
				t.Fatal(err)
			}
			if e.sockets() != base {
				t.Fatal("the socket in flight was closed with the sender's descriptor")
			}
			data, fds, _ := recvRights(e, b, bfd, 1, 0)
			if data != "fd" || len(fds) != 1 {
				t.Fatalf("received %q, %v", data, fds)
			}
			if got := e.st.Local().Inflight(); got != 0 {
				t.Fatalf("inflight after receipt = %d", got)
			}
			if fl, _ := b.Fcntl(fds[0], sys.F_GETFD, 0); fl != 0 {
				t.Fatalf("received descriptor has FD_CLOEXEC without MSG_CMSG_CLOEXEC")
			}
			e.send(b, fds[0], "through the passed socket")
			if got := e.recv(a, y, 64); got != "through the passed socket" {
				t.Fatalf("got %q", got)
			}
			if err := b.Close(fds[0]); err != nil {
				t.Fatal(err)
			}
			if got := e.recv(a, y, 64); got != "" {
				t.Fatalf("after closing the passed socket its peer read %q, want EOF", got)
			}
			if e.sockets() != base-1 {
				t.Fatalf("sockets = %d, want %d", e.sockets(), base-1)
			}
		})
	}
}

// MSG_CMSG_CLOEXEC marks the received descriptors FD_CLOEXEC; several
// descriptors in one message arrive lowest free first.
func TestPassFDCloexec(t *testing.T) {
	e := newEnv(t)
	a, b, afd, bfd := passfd(e, sys.SOCK_STREAM)
	x, y := e.pair(a, sys.SOCK_DGRAM)
	if err := a.Sendmsg(afd, []byte("2"), sys.UnixRights(x, y), nil, 0); err != nil {
		t.Fatal(err)
	}
	_, fds, _ := recvRights(e, b, bfd, 2, sys.MSG_CMSG_CLOEXEC)
	if len(fds) != 2 || fds[0] != bfd+1 || fds[1] != bfd+2 {
		t.Fatalf("descriptors %v, want [%d %d]", fds, bfd+1, bfd+2)
	}
	for _, fd := range fds {
		if fl, _ := b.Fcntl(fd, sys.F_GETFD, 0); fl != sys.FD_CLOEXEC {
			t.Fatalf("descriptor %d: F_GETFD = %d, want FD_CLOEXEC", fd, fl)
		}
	}
}

// unix_passfd rights_full / EMFILE: a receiver whose table is full gets
// EMFILE and the rights are closed; nothing leaks. A stream's data is
// kept for the next read; a datagram is dropped.
func TestPassFDEMFILE(t *testing.T) {
	for _, pt := range passTypes {
		t.Run(pt.name, func(t *testing.T) {
			e := newEnv(t)
			a, b, afd, bfd := passfd(e, pt.typ)
			x, y := e.pair(a, sys.SOCK_STREAM)
			base := e.sockets()
			if err := a.Sendmsg(afd, []byte("data"), sys.UnixRights(x), nil, 0); err != nil {
				t.Fatal(err)
			}
			a.Close(x)
			if err := b.SetRlimitNofile(b.NumFDs()); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			oob := make([]byte, sys.CmsgSpace(4))
			if _, _, _, _, err := b.Recvmsg(bfd, buf, oob, 0); err != sys.EMFILE {
				t.Fatalf("recvmsg with a full table = %v, want EMFILE", err)
			}
			if e.sockets() != base-1 {
				t.Fatalf("sockets = %d, want %d: the rights were not closed", e.sockets(), base-1)
			}
			if got := e.recv(a, y, 16); got != "" {
				t.Fatalf("peer of the dropped socket read %q, want EOF", got)
			}
			if n := e.st.Local().Inflight(); n != 0 {
				t.Fatalf("inflight = %d", n)
			}
			b.SetNonblock(bfd, true)
			if pt.typ == sys.SOCK_DGRAM {
				if _, err := b.Read(bfd, buf); err != sys.EAGAIN {
					t.Fatalf("read after a dropped datagram = %v, want EAGAIN", err)
				}
				return
			}
			if n, _ := b.IoctlGetInt(bfd, sys.FIONREAD); n != 4 {
				t.Fatalf("FIONREAD of the kept data = %d, want 4", n)
			}
			pfd := []sys.PollFd{{Fd: int32(bfd), Events: sys.POLLIN}}
			if n, _ := b.Poll(pfd, 0); n != 1 || pfd[0].Revents&sys.POLLIN == 0 {
				t.Fatalf("poll on the kept data = %d, %#x", n, pfd[0].Revents)
			}
			n, oobn, _, _, err := b.Recvmsg(bfd, buf, oob, 0)
			if err != nil || string(buf[:n]) != "data" || oobn != 0 {
				t.Fatalf("next read = %q, oobn %d, %v; want the data without control", buf[:n], oobn, err)
			}
		})
	}
}

// unix_passfd rights_creds_payload / truncated control: rights that do not
// fit the control buffer are closed and MSG_CTRUNC is set; an empty control
// buffer discards them without MSG_CTRUNC. Nothing leaks.
func TestPassFDCtrunc(t *testing.T) {
	// Three descriptors need CmsgSpace(12), 32 bytes.
	for _, oobLen := range []int{0, sys.CmsgLen(0), sys.CmsgLen(12), sys.CmsgSpace(8)} {
		e := newEnv(t)
		a, b, afd, bfd := passfd(e, sys.SOCK_SEQPACKET)
		x, y := e.pair(a, sys.SOCK_STREAM)
		z := e.socket(a, sys.AF_UNIX, sys.SOCK_DGRAM)
		base, nfd := e.sockets(), b.NumFDs()
		if err := a.Sendmsg(afd, []byte("m"), sys.UnixRights(x, y, z), nil, 0); err != nil {
			t.Fatal(err)
		}
		a.Close(x)
		a.Close(y)
		a.Close(z)
		buf := make([]byte, 8)
		oob := make([]byte, oobLen)
		n, oobn, flags, _, err := b.Recvmsg(bfd, buf, oob, 0)
		if err != nil || n != 1 {
			t.Fatalf("oob %d: recvmsg = %d, %v", oobLen, n, err)
		}
		if oobn != 0 {
			t.Fatalf("oob %d: oobn = %d, want 0", oobLen, oobn)
		}
		if want := oobLen != 0; (flags&sys.MSG_CTRUNC != 0) != want {
			t.Fatalf("oob %d: flags %#x, MSG_CTRUNC want %v", oobLen, flags, want)
		}
		if e.sockets() != base-3 || b.NumFDs() != nfd {
			t.Fatalf("oob %d: sockets %d (want %d), descriptors %d (want %d)", oobLen, e.sockets(), base-3, b.NumFDs(), nfd)
		}
	}
}

// A bad descriptor in SCM_RIGHTS is EBADF and nothing is sent or held; a
// malformed control buffer is EINVAL.
func TestPassFDBad(t *testing.T) {
	e := newEnv(t)
	a, b, afd, bfd := passfd(e, sys.SOCK_STREAM)
	x, _ := e.pair(a, sys.SOCK_STREAM)
	if err := a.Sendmsg(afd, []byte("x"), sys.UnixRights(x, 99), nil, 0); err != sys.EBADF {
		t.Fatalf("sendmsg with a bad descriptor = %v, want EBADF", err)
	}
	bad := sys.UnixRights(x)
	bad[0] = 12 // cmsg_len = sizeof(struct cmsghdr) < CMSG_LEN(0)
	if err := a.Sendmsg(afd, []byte("x"), bad, nil, 0); err != sys.EINVAL {
		t.Fatalf("sendmsg with a short cmsg_len = %v, want EINVAL", err)
	}
	if n := e.st.Local().Inflight(); n != 0 {
		t.Fatalf("inflight = %d", n)
	}
	b.SetNonblock(bfd, true)
	if _, err := b.Read(bfd, make([]byte, 4)); err != sys.EAGAIN {
		t.Fatalf("read = %v, want EAGAIN: a failed send delivered something", err)
	}
	// Only the descriptor holds x: closing it closes the socket.
	base := e.sockets()
	a.Close(x)
	if e.sockets() != base-1 {
		t.Fatal("a failed send left a hold on the socket")
	}
}

// As in x/sys/unix, rights sent with no data on a stream travel with one
// zero byte, which a receive with no data buffer reads.
func TestPassFDNoData(t *testing.T) {
	e := newEnv(t)
	a, b, afd, bfd := passfd(e, sys.SOCK_STREAM)
	x, _ := e.pair(a, sys.SOCK_STREAM)
	n, err := a.SendmsgN(afd, nil, sys.UnixRights(x), nil, 0)
	if err != nil || n != 0 {
		t.Fatalf("sendmsgN = %d, %v", n, err)
	}
	oob := make([]byte, sys.CmsgSpace(4))
	n, oobn, _, _, err := b.Recvmsg(bfd, nil, oob, 0)
	if err != nil || n != 0 || oobn != sys.CmsgSpace(4) {
		t.Fatalf("recvmsg = %d, %d, %v", n, oobn, err)
	}
	b.SetNonblock(bfd, true)
	if _, err := b.Read(bfd, make([]byte, 4)); err != sys.EAGAIN {
		t.Fatalf("read after = %v, want EAGAIN", err)
	}
}

// SCM_CREDS: the receiver gets the sender's credential, whatever the sender
// wrote; LOCAL_PEERCRED gives the peer's.
func TestCreds(t *testing.T) {
	e := newEnv(t)
	a, b, afd, bfd := passfd(e, sys.SOCK_STREAM)
	req := sys.UnixCmsgcred()
	req[sys.CmsgLen(0)] = 0xff // the stack overwrites the sender's pid
	if err := a.Sendmsg(afd, []byte("c"), req, nil, 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.IoctlGetInt(bfd, sys.FIONREAD); n != 1 {
		t.Fatalf("FIONREAD = %d, want 1 (control not counted)", n)
	}
	buf := make([]byte, 4)
	oob := make([]byte, sys.CmsgSpace(sys.SizeofCmsgcred))
	_, oobn, _, _, err := b.Recvmsg(bfd, buf, oob, 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := sys.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control: %v, %v", msgs, err)
	}
	c, err := sys.ParseCmsgcred(&msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Euid != 1000 || c.Uid != 1000 || c.Pid != a.Cred().Pid || c.Ngroups != 1 || c.Groups[0] != 100 {
		t.Fatalf("cmsgcred = %+v", c)
	}
	if _, err := sys.ParseUnixRights(&msgs[0]); err != sys.EINVAL {
		t.Fatalf("ParseUnixRights(SCM_CREDS) = %v", err)
	}
	x, err := b.GetsockoptXucred(bfd, sys.SOL_LOCAL, sys.LOCAL_PEERCRED)
	if err != nil {
		t.Fatal(err)
	}
	if x.Uid != 1000 || x.Ngroups != 1 || x.Groups[0] != 100 || x.Pid != a.Cred().Pid {
		t.Fatalf("xucred = %+v", x)
	}
	u := e.socket(a, sys.AF_UNIX, sys.SOCK_STREAM)
	if _, err := a.GetsockoptXucred(u, sys.SOL_LOCAL, sys.LOCAL_PEERCRED); err != sys.ENOTCONN {
		t.Fatalf("LOCAL_PEERCRED unconnected = %v, want ENOTCONN", err)
	}
}

func TestParseSocketControlMessage(t *testing.T) {
	b := append(sys.UnixRights(3, 4, 5), sys.UnixRights(6)...)
	msgs, err := sys.ParseSocketControlMessage(b)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("%v, %v", msgs, err)
	}
	if len(b) != sys.CmsgSpace(12)+sys.CmsgSpace(4) || msgs[0].Header.Len != uint32(sys.CmsgLen(12)) {
		t.Fatalf("layout: len %d, header %+v", len(b), msgs[0].Header)
	}
	fds, _ := sys.ParseUnixRights(&msgs[1])
	if len(fds) != 1 || fds[0] != 6 {
		t.Fatalf("fds %v", fds)
	}
	for _, bad := range [][]byte{
		func() []byte { c := sys.UnixRights(1); c[0] = 8; return c }(),
		func() []byte { c := sys.UnixRights(1); c[0] = 200; return c }(),
	} {
		if _, err := sys.ParseSocketControlMessage(bad); err != sys.EINVAL {
			t.Errorf("bad header: %v, want EINVAL", err)
		}
	}
	if sys.CmsgLen(0) != 16 || sys.CmsgSpace(4) != 24 {
		t.Errorf("CmsgLen(0) = %d, CmsgSpace(4) = %d; want 16, 24 (FreeBSD LP64)", sys.CmsgLen(0), sys.CmsgSpace(4))
	}
}
