package socket_test

import (
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/socket"
)

// Socket Utility Functions: socheckuid, sodupsockaddr, sohasoutofband
// (in io_test.go with the out-of-band mark), sotoxsocket.

func TestCheckUID(t *testing.T) {
	e := newEnv(t)
	so, err := e.v.Create(socket.PF_LOCAL, socket.SOCK_STREAM, 0, socket.UserCred(1001, 20))
	if err != nil {
		t.Fatal(err)
	}
	root, err := e.v.Create(socket.PF_LOCAL, socket.SOCK_STREAM, 0, socket.RootCred())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		so   *socket.Socket
		uid  uint32
		want error
	}{
		{"own uid", so, 1001, nil},
		{"other uid", so, 1000, syscall.EPERM},
		{"gid is not uid", so, 20, syscall.EPERM},
		{"root socket, uid 0", root, 0, nil},
		{"root socket, other uid", root, 1001, syscall.EPERM},
		{"nil socket", nil, 0, syscall.EPERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "socheckuid", socket.CheckUID(tc.so, tc.uid), tc.want)
		})
	}
	// The credential is the one cached at creation, also for accepted
	// sockets, which take the listener's.
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	c, err := e.v.Create(socket.PF_LOCAL, socket.SOCK_STREAM, 0, socket.UserCred(4242, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
		t.Fatal(err)
	}
	s, err := l.ListenDequeue(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "socheckuid on accepted socket, listener's uid", socket.CheckUID(s, testCred.Uid), nil)
	wantErr(t, "socheckuid on accepted socket, connector's uid", socket.CheckUID(s, 4242), syscall.EPERM)
}

type customAddr struct{ b [4]byte }

func (customAddr) Family() int { return 77 }
func (customAddr) Len() int    { return 6 }

func TestDupSockaddr(t *testing.T) {
	orig := socket.SockaddrUnix{Path: "/some/path"}
	dup := socket.DupSockaddr(orig)
	if u, ok := dup.(socket.SockaddrUnix); !ok || u != orig {
		t.Fatalf("dup = %#v", dup)
	}
	if dup.Len() != orig.Len() || dup.Family() != socket.AF_UNIX {
		t.Fatalf("dup len %d family %d", dup.Len(), dup.Family())
	}
	// A pointer is copied to a value: nothing mutable is shared.
	p := &socket.SockaddrUnix{Path: "/p"}
	d2 := socket.DupSockaddr(p)
	p.Path = "/changed"
	if u, ok := d2.(socket.SockaddrUnix); !ok || u.Path != "/p" {
		t.Fatalf("dup of a pointer = %#v after the original changed", d2)
	}
	if socket.DupSockaddr(nil) != nil {
		t.Fatal("dup of nil is not nil")
	}
	var np *socket.SockaddrUnix
	if socket.DupSockaddr(np) != nil {
		t.Fatal("dup of a nil pointer is not nil")
	}
	c := customAddr{b: [4]byte{1, 2, 3, 4}}
	if d := socket.DupSockaddr(c); d != socket.Sockaddr(c) {
		t.Fatalf("dup of an immutable value = %#v", d)
	}
	// The unnamed address is sizeof(struct sockaddr).
	if n := (socket.SockaddrUnix{}).Len(); n != 16 {
		t.Fatalf("sun_noname len %d", n)
	}
	if n := orig.Len(); n != 2+len(orig.Path) {
		t.Fatalf("sun_len %d", n)
	}
	// The user API's checks.
	wantErr(t, "CheckSockaddr(nil)", socket.CheckSockaddr(nil), syscall.EINVAL)
	wantErr(t, "CheckSockaddr(nil pointer)", socket.CheckSockaddr(np), syscall.EINVAL)
	long := socket.SockaddrUnix{Path: string(make([]byte, socket.SOCK_MAXADDRLEN))}
	wantErr(t, "CheckSockaddr(too long)", socket.CheckSockaddr(long), syscall.ENAMETOOLONG)
	wantErr(t, "CheckSockaddr(ok)", socket.CheckSockaddr(orig), nil)
}

func TestToXsocket(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	a.SetOptInt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
	setopt(a, socket.SO_LINGER, socket.Linger{Onoff: 1, Linger: 7}.Bytes())
	send(a, []byte("0123456789"), 0)
	b.SetError(syscall.ECONNRESET)
	var xa, xb socket.Xsocket
	a.ToXsocket(&xa)
	b.ToXsocket(&xb)
	if xa.Type != socket.SOCK_STREAM || xa.Family != socket.AF_LOCAL || xa.Protocol != 0 {
		t.Errorf("type/family/protocol %d/%d/%d", xa.Type, xa.Family, xa.Protocol)
	}
	if xa.UID != testCred.Uid {
		t.Errorf("UID %d", xa.UID)
	}
	if xa.Options&socket.SO_KEEPALIVE == 0 || xa.Options&socket.SO_LINGER == 0 || xa.Linger != 7 {
		t.Errorf("options %#x linger %d", xa.Options, xa.Linger)
	}
	if xa.State&socket.SS_ISCONNECTED == 0 {
		t.Errorf("state %#x", xa.State)
	}
	if xa.Qlen != 0 || xa.Incqlen != 0 || xa.Qlimit != 0 {
		t.Errorf("queue fields on a data socket: %d/%d/%d", xa.Qlen, xa.Incqlen, xa.Qlimit)
	}
	if xb.Rcv.Cc != 10 || xb.Rcv.Mbcnt == 0 || xb.Rcv.Hiwat != b.Rcv.Hiwat() || xb.Rcv.Lowat != 1 {
		t.Errorf("receiver's buffer %+v", xb.Rcv)
	}
	if xb.Snd.Hiwat == 0 || xb.Snd.Mbmax == 0 {
		t.Errorf("receiver's send buffer %+v", xb.Snd)
	}
	if xb.Error != int(syscall.ECONNRESET) {
		t.Errorf("Error %d", xb.Error)
	}
	if b.Error() != syscall.ECONNRESET {
		t.Error("sotoxsocket consumed so_error")
	}
	if xa.So == 0 || xa.So == xb.So {
		t.Errorf("identities %#x %#x", xa.So, xb.So)
	}
	// Timeouts show in the buffers.
	setopt(b, socket.SO_RCVTIMEO, socket.Timeval{Sec: 3}.Bytes())
	b.ToXsocket(&xb)
	if xb.Rcv.Timeo != 3e9 {
		t.Errorf("Rcv.Timeo %d", xb.Rcv.Timeo)
	}

	// A listener: queue counts; buffers zero.
	l := e.listener(socket.SOCK_STREAM, "/l", 4)
	for i := 0; i < 3; i++ {
		e.local(socket.SOCK_STREAM).Connect(socket.SockaddrUnix{Path: "/l"})
	}
	var xl socket.Xsocket
	l.ToXsocket(&xl)
	if xl.Qlen != 3 || xl.Incqlen != 0 || xl.Qlimit != 4 {
		t.Errorf("listener queue %d/%d/%d, want 3/0/4", xl.Qlen, xl.Incqlen, xl.Qlimit)
	}
	if xl.Options&socket.SO_ACCEPTCONN == 0 {
		t.Errorf("listener options %#x", xl.Options)
	}
	if xl.Rcv != (socket.Xsockbuf{}) || xl.Snd != (socket.Xsockbuf{}) {
		t.Errorf("listener buffers %+v %+v, want zero", xl.Rcv, xl.Snd)
	}
	if u, ok := xl.Local.(socket.SockaddrUnix); !ok || u.Path != "/l" {
		t.Errorf("listener local address %v", xl.Local)
	}
	// Queued children show their queue state.
	queued := 0
	for _, x := range e.v.Xsockets() {
		if x.State&socket.SQ_COMP != 0 {
			queued++
		}
	}
	if queued != 3 {
		t.Errorf("%d sockets with SQ_COMP, want 3", queued)
	}
	// Incomplete connections (test protocol).
	e.tp.set(func(tp *tproto) { tp.connstatus = 0 })
	tl := e.tlistener("t", 2)
	for i := 0; i < 2; i++ {
		e.test(socket.SOCK_STREAM).Connect(taddr("t"))
	}
	var xt socket.Xsocket
	tl.ToXsocket(&xt)
	if xt.Qlen != 0 || xt.Incqlen != 2 || xt.Qlimit != 2 || xt.Family != testFamily || xt.Protocol != tprotoStream {
		t.Errorf("test listener %+v", xt)
	}
}

func TestXsocketsList(t *testing.T) {
	e := newEnv(t)
	if n := len(e.v.Xsockets()); n != 0 {
		t.Fatalf("%d sockets in a new stack", n)
	}
	a := e.local(socket.SOCK_STREAM)
	b := e.local(socket.SOCK_DGRAM)
	c := e.test(socket.SOCK_SEQPACKET)
	xs := e.v.Xsockets()
	if len(xs) != 3 {
		t.Fatalf("%d sockets, want 3", len(xs))
	}
	// Oldest first.
	if xs[0].Type != socket.SOCK_STREAM || xs[1].Type != socket.SOCK_DGRAM || xs[2].Type != socket.SOCK_SEQPACKET {
		t.Fatalf("order: %d %d %d", xs[0].Type, xs[1].Type, xs[2].Type)
	}
	if !(xs[0].Gen < xs[1].Gen && xs[1].Gen < xs[2].Gen) {
		t.Fatalf("generations %d %d %d", xs[0].Gen, xs[1].Gen, xs[2].Gen)
	}
	b.Close()
	xs = e.v.Xsockets()
	if len(xs) != 2 || xs[1].Family != testFamily {
		t.Fatalf("after close: %+v", xs)
	}
	if int(e.v.Stats.Sockets.Load()) != len(xs) {
		t.Fatalf("Stats.Sockets %d, listed %d", e.v.Stats.Sockets.Load(), len(xs))
	}
	if e.v.Stats.Created.Load() != 3 {
		t.Fatalf("Stats.Created %d", e.v.Stats.Created.Load())
	}
	_, _ = a, c
}

func TestReserve(t *testing.T) {
	e := newEnv(t)
	so := e.local(socket.SOCK_STREAM)
	maxAdj := socket.SB_MAX * 2048 / (256 + 2048)
	wantErr(t, "soreserve past sb_max_adj", so.Reserve(maxAdj+1, 100), syscall.ENOBUFS)
	wantErr(t, "soreserve rcv past sb_max_adj", so.Reserve(100, maxAdj+1), syscall.ENOBUFS)
	so = e.local(socket.SOCK_STREAM)
	if err := so.Reserve(1000, 3000); err != nil {
		t.Fatal(err)
	}
	if so.Snd.Hiwat() != 1000 || so.Rcv.Hiwat() != 3000 {
		t.Fatalf("sizes %d %d", so.Snd.Hiwat(), so.Rcv.Hiwat())
	}
	// The send low watermark (MCLBYTES) is clamped to the size.
	if v, _ := so.GetOptInt(socket.SOL_SOCKET, socket.SO_SNDLOWAT); v != 1000 {
		t.Fatalf("SO_SNDLOWAT %d after soreserve(1000), want 1000", v)
	}
	so.Snd.Lock()
	mbmax := so.Snd.MbmaxLocked()
	so.Snd.Unlock()
	if mbmax != 8*1000 {
		t.Fatalf("sb_mbmax %d, want sb_efficiency*hiwat = 8000", mbmax)
	}
}
