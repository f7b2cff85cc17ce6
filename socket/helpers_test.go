package socket_test

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// Shared helpers of the socket(9) behaviour tests: an environment with the
// PF_LOCAL domain and a tiny test protocol family attached, and shorthands
// for sosend/soreceive.

var bg = context.Background()

// testFamily is the address family of the test protocol (not a FreeBSD one).
const testFamily = 250

// Protocol numbers of the test protocol's switch entries.
const (
	tprotoStream = 7  // SOCK_STREAM: PR_CONNREQUIRED|PR_IMPLOPCL|PR_WANTRCVD, soreceive_stream
	tprotoDgram  = 17 // SOCK_DGRAM: PR_ATOMIC|PR_ADDR, sosend_dgram
	tprotoSeq    = 5  // SOCK_SEQPACKET: PR_CONNREQUIRED|PR_ATOMIC, generic routines
)

type env struct {
	t  *testing.T
	v  *socket.Vnet
	d  *local.Domain
	tp *tproto
}

func newEnv(t *testing.T) *env {
	t.Helper()
	v := socket.NewVnet()
	d, err := local.Attach(v, local.DefaultTunables())
	if err != nil {
		t.Fatal(err)
	}
	tp := newTproto(v)
	if err := v.AddDomain(tp.dom); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return &env{t: t, v: v, d: d, tp: tp}
}

var testCred = socket.UserCred(1000, 1000)

// local creates a PF_LOCAL socket.
func (e *env) local(typ int) *socket.Socket {
	e.t.Helper()
	so, err := e.v.Create(socket.PF_LOCAL, typ, 0, testCred)
	if err != nil {
		e.t.Fatalf("socreate(PF_LOCAL, %d): %v", typ, err)
	}
	return so
}

// test creates a socket of the test protocol.
func (e *env) test(typ int) *socket.Socket {
	e.t.Helper()
	so, err := e.v.Create(testFamily, typ, 0, testCred)
	if err != nil {
		e.t.Fatalf("socreate(test, %d): %v", typ, err)
	}
	return so
}

// pair returns two connected PF_LOCAL sockets (socketpair(2)).
func (e *env) pair(typ int) (*socket.Socket, *socket.Socket) {
	e.t.Helper()
	a, b := e.local(typ), e.local(typ)
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

// tpair returns two connected sockets of the test protocol.
func (e *env) tpair(typ int) (*socket.Socket, *socket.Socket) {
	e.t.Helper()
	a, b := e.test(typ), e.test(typ)
	if err := socket.Connect2(a, b); err != nil {
		e.t.Fatalf("connect2: %v", err)
	}
	return a, b
}

// listener returns a bound PF_LOCAL socket listening at path.
func (e *env) listener(typ int, path string, backlog int) *socket.Socket {
	e.t.Helper()
	l := e.local(typ)
	if err := l.Bind(socket.SockaddrUnix{Path: path}); err != nil {
		e.t.Fatalf("bind %s: %v", path, err)
	}
	if err := l.Listen(backlog); err != nil {
		e.t.Fatalf("listen: %v", err)
	}
	return l
}

// tlistener returns a bound test-protocol stream socket listening at name.
func (e *env) tlistener(name string, backlog int) *socket.Socket {
	e.t.Helper()
	l := e.test(socket.SOCK_STREAM)
	if err := l.Bind(taddr(name)); err != nil {
		e.t.Fatalf("bind %s: %v", name, err)
	}
	if err := l.Listen(backlog); err != nil {
		e.t.Fatalf("listen: %v", err)
	}
	return l
}

// connected returns a connected PF_LOCAL client and its accepted server side.
func (e *env) connected(typ int, path string) (client, server *socket.Socket) {
	e.t.Helper()
	l := e.listener(typ, path, 5)
	c := e.local(typ)
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
	return sendCtx(bg, so, b, flags)
}

func sendCtx(ctx context.Context, so *socket.Socket, b []byte, flags int) (int, error) {
	u := socket.UioBuf(b)
	err := so.Send(ctx, nil, &u, nil, nil, flags)
	return len(b) - u.Resid, err
}

func sendto(so *socket.Socket, b []byte, to socket.Sockaddr, flags int) (int, error) {
	u := socket.UioBuf(b)
	err := so.Send(bg, to, &u, nil, nil, flags)
	return len(b) - u.Resid, err
}

// recv receives up to n bytes; it returns the bytes, the flags out and the
// error.
func recv(so *socket.Socket, n int, flags int) ([]byte, int, error) {
	return recvCtx(bg, so, n, flags)
}

func recvCtx(ctx context.Context, so *socket.Socket, n int, flags int) ([]byte, int, error) {
	b := make([]byte, n)
	u := socket.UioBuf(b)
	f := flags
	err := so.Receive(ctx, nil, &u, nil, nil, &f)
	return b[:n-u.Resid], f, err
}

// fill sends with MSG_DONTWAIT until the socket would block and returns the
// bytes it sent.
func fill(t *testing.T, so *socket.Socket) int {
	t.Helper()
	chunk := make([]byte, 8192)
	total := 0
	for i := 0; i < 10000; i++ {
		n, err := send(so, chunk, socket.MSG_DONTWAIT)
		total += n
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return total
		}
		if err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	t.Fatal("fill: the send buffer never filled")
	return 0
}

// drain reads with MSG_DONTWAIT until nothing is left and returns the bytes.
func drain(t *testing.T, so *socket.Socket) int {
	t.Helper()
	total := 0
	for {
		b, _, err := recv(so, 65536, socket.MSG_DONTWAIT)
		total += len(b)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return total
		}
		if err != nil {
			t.Fatalf("drain: %v", err)
		}
		if len(b) == 0 {
			return total
		}
	}
}

func errno(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e.Error()
	}
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: %v, want success", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v (%s), want %v", what, err, errno(err), want)
	}
}

// done reports whether the channel has been closed or has a value, without
// waiting.
func done[T any](ch <-chan T) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// within waits for ch for up to d of real time.
func within[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: still blocked after %v", what, d)
	}
	var zero T
	return zero
}

// taddr is an address of the test family.
type taddr string

func (taddr) Family() int      { return testFamily }
func (a taddr) Len() int       { return 2 + len(a) }
func (a taddr) String() string { return string(a) }

// tpcb is the test protocol's per-socket state.
type tpcb struct {
	name   string
	peer   *socket.Socket
	events []string
}

// sendRec records one pr_send call.
type sendRec struct {
	flags int
	n     int
	addr  socket.Sockaddr
}

// ctlRec records one pr_ctloutput call.
type ctlRec struct {
	dir, level, name int
}

// tproto is a small protocol family for exercising the socket layer's
// generic routines with chosen protocol flags. Every hook records what the
// socket layer asked of it.
type tproto struct {
	socket.ProtoDefaults
	v   *socket.Vnet
	dom *socket.Domain

	mu sync.Mutex
	// configuration, set by tests before use
	attachErr      error // Attach fails with it
	connstatus     int   // passed to Newconn by Connect
	connectAsync   bool  // Connect only marks the socket connecting
	connectErr     error // Connect marks connecting, then fails with it
	slowDisconnect bool  // Disconnect only starts disconnecting
	sndbuf, rcvbuf int
	oob            []byte
	ctlVal         int
	// records
	names    map[string]*socket.Socket
	children []*socket.Socket
	sends    []sendRec
	ctl      []ctlRec
	rcvd     int
	log      []string // "event" for every socket, in order
}

func newTproto(v *socket.Vnet) *tproto {
	tp := &tproto{v: v, names: make(map[string]*socket.Socket), sndbuf: 8192, rcvbuf: 8192}
	tp.dom = &socket.Domain{
		Family: testFamily,
		Name:   "test",
		Protos: []*socket.Protosw{
			{Type: socket.SOCK_STREAM, Protocol: tprotoStream,
				Flags:   socket.PR_CONNREQUIRED | socket.PR_IMPLOPCL | socket.PR_WANTRCVD,
				Usrreqs: tp, Sosend: socket.SendGeneric, Soreceive: socket.ReceiveStream},
			{Type: socket.SOCK_DGRAM, Protocol: tprotoDgram,
				Flags:   socket.PR_ATOMIC | socket.PR_ADDR,
				Usrreqs: tp, Sosend: socket.SendDgram, Soreceive: socket.ReceiveGeneric},
			{Type: socket.SOCK_SEQPACKET, Protocol: tprotoSeq,
				Flags:   socket.PR_CONNREQUIRED | socket.PR_ATOMIC,
				Usrreqs: tp, Sosend: socket.SendGeneric, Soreceive: socket.ReceiveGeneric},
		},
	}
	return tp
}

func pcbOf(so *socket.Socket) *tpcb {
	p, _ := so.PCB.(*tpcb)
	return p
}

// event records ev for so; tp.mu is not held.
func (tp *tproto) event(so *socket.Socket, ev string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if p := pcbOf(so); p != nil {
		p.events = append(p.events, ev)
	}
	tp.log = append(tp.log, ev)
}

// events returns what happened to so.
func (tp *tproto) events(so *socket.Socket) []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if p := pcbOf(so); p != nil {
		return append([]string(nil), p.events...)
	}
	return nil
}

func (tp *tproto) peer(so *socket.Socket) *socket.Socket {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if p := pcbOf(so); p != nil {
		return p.peer
	}
	return nil
}

func (tp *tproto) Attach(so *socket.Socket, _ int) error {
	tp.mu.Lock()
	err, snd, rcv := tp.attachErr, tp.sndbuf, tp.rcvbuf
	tp.mu.Unlock()
	if err != nil {
		return err
	}
	// As tcp_usr_attach and uipc_attach: a socket made by sonewconn
	// already has the listener's sizes.
	if so.Snd.Hiwat() == 0 || so.Rcv.Hiwat() == 0 {
		if err := so.Reserve(snd, rcv); err != nil {
			return err
		}
	}
	so.PCB = &tpcb{}
	tp.event(so, "attach")
	return nil
}

func (tp *tproto) Detach(so *socket.Socket) { tp.event(so, "detach") }

func (tp *tproto) Bind(so *socket.Socket, nam socket.Sockaddr) error {
	a, ok := nam.(taddr)
	if !ok {
		return syscall.EAFNOSUPPORT
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if _, ok := tp.names[string(a)]; ok {
		return syscall.EADDRINUSE
	}
	tp.names[string(a)] = so
	pcbOf(so).name = string(a)
	return nil
}

func (tp *tproto) Listen(so *socket.Socket, backlog int) error {
	so.Lock()
	defer so.Unlock()
	if err := so.ListenProtoCheck(); err != nil {
		return err
	}
	so.ListenProto(backlog)
	return nil
}

func (tp *tproto) Connect(so *socket.Socket, nam socket.Sockaddr) error {
	tp.event(so, "connect")
	tp.mu.Lock()
	async, cerr, status := tp.connectAsync, tp.connectErr, tp.connstatus
	a, _ := nam.(taddr)
	target := tp.names[string(a)]
	tp.mu.Unlock()
	if cerr != nil {
		so.Isconnecting()
		return cerr
	}
	if async {
		so.Isconnecting()
		return nil
	}
	if target == nil || !target.Listening() {
		return syscall.ECONNREFUSED
	}
	child := target.Newconn(status)
	if child == nil {
		return syscall.ECONNREFUSED
	}
	tp.mu.Lock()
	pcbOf(child).peer = so
	pcbOf(so).peer = child
	tp.children = append(tp.children, child)
	tp.mu.Unlock()
	so.Isconnected()
	return nil
}

func (tp *tproto) Connect2(a, b *socket.Socket) error {
	tp.mu.Lock()
	pcbOf(a).peer, pcbOf(b).peer = b, a
	tp.mu.Unlock()
	a.Isconnected()
	b.Isconnected()
	return nil
}

func (tp *tproto) Accept(so *socket.Socket) (socket.Sockaddr, error) {
	return tp.Peeraddr(so)
}

func (tp *tproto) unlink(so *socket.Socket) *socket.Socket {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	p := pcbOf(so)
	peer := p.peer
	p.peer = nil
	if peer != nil {
		if pp := pcbOf(peer); pp != nil && pp.peer == so {
			pp.peer = nil
		}
	}
	return peer
}

func (tp *tproto) Disconnect(so *socket.Socket) error {
	tp.event(so, "disconnect")
	tp.mu.Lock()
	slow := tp.slowDisconnect
	tp.mu.Unlock()
	if slow {
		so.Isdisconnecting()
		return nil
	}
	peer := tp.unlink(so)
	so.Isdisconnected()
	if peer != nil {
		peer.Isdisconnected()
	}
	return nil
}

func (tp *tproto) Shutdown(so *socket.Socket) error {
	so.Cantsendmore()
	if peer := tp.peer(so); peer != nil {
		peer.Cantrcvmore()
	}
	return nil
}

func (tp *tproto) Rcvd(so *socket.Socket, _ int) error {
	tp.mu.Lock()
	tp.rcvd++
	tp.mu.Unlock()
	return nil
}

func (tp *tproto) Send(so *socket.Socket, flags int, m *mbuf.Mbuf, addr socket.Sockaddr, control *mbuf.Mbuf) error {
	tp.mu.Lock()
	tp.sends = append(tp.sends, sendRec{flags: flags, n: mbuf.Length(m), addr: addr})
	target := pcbOf(so).peer
	if target == nil && addr != nil {
		if a, ok := addr.(taddr); ok {
			target = tp.names[string(a)]
		}
	}
	from := taddr(pcbOf(so).name)
	tp.mu.Unlock()
	if target == nil {
		mbuf.FreeChain(m)
		tp.v.DisposeControl(control)
		if addr != nil {
			return nil // an implied connection the test does not follow
		}
		return syscall.ENOTCONN
	}
	target.Rcv.Lock()
	if target.Rcv.StateLocked()&socket.SBS_CANTRCVMORE != 0 {
		target.Rcv.Unlock()
		mbuf.FreeChain(m)
		tp.v.DisposeControl(control)
		return syscall.EPIPE
	}
	switch so.Type() {
	case socket.SOCK_STREAM:
		target.Rcv.AppendStreamLocked(m)
		tp.v.DisposeControl(control)
	case socket.SOCK_DGRAM:
		if !target.Rcv.AppendAddrLocked(from, m, control) {
			target.Rcv.Unlock()
			mbuf.FreeChain(m)
			tp.v.DisposeControl(control)
			return syscall.ENOBUFS
		}
	default:
		if m != nil {
			m.Last().SetEOR(true)
		}
		target.Rcv.AppendRecordLocked(mbuf.Cat(control, m))
	}
	target.RwakeupLocked()
	if flags&socket.PRUS_EOF != 0 {
		tp.Shutdown(so)
	}
	return nil
}

func (tp *tproto) Abort(so *socket.Socket) {
	tp.event(so, "abort")
	if peer := tp.unlink(so); peer != nil {
		peer.SetError(syscall.ECONNRESET)
		peer.Isdisconnected()
	}
}

func (tp *tproto) Close(so *socket.Socket) {
	tp.event(so, "close")
	if so.State()&socket.SS_ISCONNECTING != 0 {
		// As tcp_usr_close of a connection not yet established.
		so.Isdisconnected()
	}
	if peer := tp.unlink(so); peer != nil {
		peer.Isdisconnected()
	}
	tp.mu.Lock()
	if p := pcbOf(so); p != nil && p.name != "" && tp.names[p.name] == so {
		delete(tp.names, p.name)
	}
	tp.mu.Unlock()
}

func (tp *tproto) Rcvoob(so *socket.Socket, flags int) (*mbuf.Mbuf, error) {
	tp.mu.Lock()
	oob := tp.oob
	if flags&socket.MSG_PEEK == 0 {
		tp.oob = nil
	}
	tp.mu.Unlock()
	if oob == nil {
		return nil, syscall.EINVAL
	}
	return tp.v.Pool.CopyIn(mbuf.MT_OOBDATA, oob, 0), nil
}

// Ctloutput answers level 77 option 1 (an int) and records every call.
func (tp *tproto) Ctloutput(so *socket.Socket, sopt *socket.Sockopt) error {
	tp.mu.Lock()
	tp.ctl = append(tp.ctl, ctlRec{sopt.Dir, sopt.Level, sopt.Name})
	tp.mu.Unlock()
	if sopt.Level != 77 || sopt.Name != 1 {
		return syscall.ENOPROTOOPT
	}
	if sopt.Dir == socket.SOPT_GET {
		tp.mu.Lock()
		v := tp.ctlVal
		tp.mu.Unlock()
		return sopt.OptOutInt(v)
	}
	v, err := sopt.OptInt()
	if err != nil {
		return err
	}
	tp.mu.Lock()
	tp.ctlVal = v
	tp.mu.Unlock()
	return nil
}

func (tp *tproto) Sockaddr(so *socket.Socket) (socket.Sockaddr, error) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if p := pcbOf(so); p != nil {
		return taddr(p.name), nil
	}
	return taddr(""), nil
}

func (tp *tproto) Peeraddr(so *socket.Socket) (socket.Sockaddr, error) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if p := pcbOf(so); p != nil && p.peer != nil {
		if pp := pcbOf(p.peer); pp != nil {
			return taddr(pp.name), nil
		}
	}
	return taddr(""), nil
}

func (tp *tproto) lastChild() *socket.Socket {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if len(tp.children) == 0 {
		return nil
	}
	return tp.children[len(tp.children)-1]
}

func (tp *tproto) sendLog() []sendRec {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]sendRec(nil), tp.sends...)
}

func (tp *tproto) set(f func(tp *tproto)) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	f(tp)
}
