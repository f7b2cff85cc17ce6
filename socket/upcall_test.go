package socket_test

import (
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// Socket Upcalls: soupcall_set, soupcall_clear, SU_OK/SU_ISCONNECTED,
// solisten_upcall_set.

type upcallLog struct {
	mu    sync.Mutex
	calls []upcallCall
}

type upcallCall struct {
	so    *socket.Socket
	arg   any
	wait  int
	avail int // Rcv or Snd bytes seen, read under the buffer lock
}

func (l *upcallLog) n() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

func (l *upcallLog) last() upcallCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[len(l.calls)-1]
}

func TestUpcallReceive(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	var log upcallLog
	arg := "my-arg"
	err := b.UpcallSet(socket.SO_RCV, func(so *socket.Socket, arg any, wait int) int {
		// Called with the receive buffer locked: reading it is allowed.
		n := so.Rcv.AvailLocked()
		log.mu.Lock()
		log.calls = append(log.calls, upcallCall{so, arg, wait, n})
		log.mu.Unlock()
		return socket.SU_OK
	}, arg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := send(a, []byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	if log.n() == 0 {
		t.Fatal("SO_RCV upcall not called when data arrived")
	}
	c := log.last()
	if c.so != b || c.arg != arg || c.wait != socket.M_NOWAIT || c.avail != 5 {
		t.Fatalf("upcall got so ok=%v arg=%v wait=%#x avail=%d", c.so == b, c.arg, c.wait, c.avail)
	}
	before := log.n()
	send(a, []byte("more"), 0)
	if log.n() <= before {
		t.Fatal("upcall not called for the second arrival")
	}
	// SU_OK keeps it; SHUT_WR by the peer (socantrcvmore) calls it too.
	before = log.n()
	a.Shutdown(socket.SHUT_WR)
	if log.n() <= before {
		t.Fatal("upcall not called on EOF")
	}
	if err := b.UpcallClear(socket.SO_RCV); err != nil {
		t.Fatal(err)
	}
	before = log.n()
	b.Rwakeup()
	drain(t, b)
	if log.n() != before {
		t.Fatal("upcall called after soupcall_clear")
	}
}

func TestUpcallSend(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	var calls atomic.Int32
	var space atomic.Int64
	if err := a.UpcallSet(socket.SO_SND, func(so *socket.Socket, _ any, _ int) int {
		calls.Add(1)
		space.Store(int64(so.Snd.SpaceLocked()))
		return socket.SU_OK
	}, nil); err != nil {
		t.Fatal(err)
	}
	fill(t, a)
	if a.Poll(socket.POLLOUT, nil) != 0 {
		t.Fatal("a full socket is writable")
	}
	calls.Store(0)
	drain(t, b)
	if calls.Load() == 0 {
		t.Fatal("SO_SND upcall not called when space opened")
	}
	if space.Load() <= 0 {
		t.Fatalf("SO_SND upcall saw %d bytes of space", space.Load())
	}
	a.UpcallClear(socket.SO_SND)
	fill(t, a)
	calls.Store(0)
	drain(t, b)
	if calls.Load() != 0 {
		t.Fatal("SO_SND upcall called after soupcall_clear")
	}
}

func TestUpcallSetErrors(t *testing.T) {
	e := newEnv(t)
	so := e.local(socket.SOCK_STREAM)
	f := func(*socket.Socket, any, int) int { return socket.SU_OK }
	wantErr(t, "bad which", so.UpcallSet(3, f, nil), syscall.EINVAL)
	wantErr(t, "bad which 0", so.UpcallSet(0, f, nil), syscall.EINVAL)
	wantErr(t, "clear bad which", so.UpcallClear(7), syscall.EINVAL)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	wantErr(t, "soupcall_set on a listener", l.UpcallSet(socket.SO_RCV, f, nil), syscall.EINVAL)
	wantErr(t, "solisten_upcall_set on a non-listener", so.ListenUpcallSet(f, nil), syscall.EINVAL)
}

func TestUpcallIsconnected(t *testing.T) {
	// A protocol that leaves new connections incomplete (sonewconn with
	// connstatus 0); an SO_RCV upcall returning SU_ISCONNECTED completes
	// the child, which moves to the complete queue, and is removed.
	e := newEnv(t)
	e.tp.set(func(tp *tproto) { tp.connstatus = 0 })
	l := e.tlistener("l", 5)
	var lcalls atomic.Int32
	if err := l.ListenUpcallSet(func(so *socket.Socket, arg any, _ int) int {
		if so != l || arg != "L" {
			t.Errorf("listen upcall got the wrong socket or arg %v", arg)
		}
		lcalls.Add(1)
		return socket.SU_OK
	}, "L"); err != nil {
		t.Fatal(err)
	}
	c := e.test(socket.SOCK_STREAM)
	if err := c.Connect(taddr("l")); err != nil {
		t.Fatal(err)
	}
	child := e.tp.lastChild()
	if child == nil {
		t.Fatal("no child")
	}
	if qlen, incqlen, _ := l.ListenQueue(); qlen != 0 || incqlen != 1 {
		t.Fatalf("queue %d/%d, want 0/1", qlen, incqlen)
	}
	var x socket.Xsocket
	child.ToXsocket(&x)
	if x.State&socket.SQ_INCOMP == 0 {
		t.Fatalf("child xsocket state %#x lacks SQ_INCOMP", x.State)
	}
	if _, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT); err == nil {
		t.Fatal("accepted an incomplete connection")
	}
	if lcalls.Load() != 0 {
		t.Fatal("listen upcall called for an incomplete connection")
	}
	var calls atomic.Int32
	if err := child.UpcallSet(socket.SO_RCV, func(so *socket.Socket, _ any, _ int) int {
		calls.Add(1)
		if so.Rcv.AvailLocked() >= 3 {
			return socket.SU_ISCONNECTED
		}
		return socket.SU_OK
	}, nil); err != nil {
		t.Fatal(err)
	}
	send(c, []byte("ab"), 0)
	if calls.Load() != 1 {
		t.Fatalf("upcall calls = %d, want 1", calls.Load())
	}
	if qlen, _, _ := l.ListenQueue(); qlen != 0 {
		t.Fatal("SU_OK completed the connection")
	}
	send(c, []byte("c"), 0)
	if calls.Load() != 2 {
		t.Fatalf("upcall calls = %d, want 2", calls.Load())
	}
	if qlen, incqlen, _ := l.ListenQueue(); qlen != 1 || incqlen != 0 {
		t.Fatalf("queue %d/%d after SU_ISCONNECTED, want 1/0", qlen, incqlen)
	}
	if child.State()&socket.SS_ISCONNECTED == 0 {
		t.Fatal("child not connected after SU_ISCONNECTED")
	}
	if lcalls.Load() != 1 {
		t.Fatalf("listen upcall calls = %d, want 1", lcalls.Load())
	}
	// The upcall was removed.
	send(c, []byte("d"), 0)
	if calls.Load() != 2 {
		t.Fatal("upcall still called after returning SU_ISCONNECTED")
	}
	child.Rcv.Lock()
	flags := child.Rcv.FlagsLocked()
	child.Rcv.Unlock()
	if flags&socket.SB_UPCALL != 0 {
		t.Fatal("SB_UPCALL still set")
	}
	s, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT)
	if err != nil || s != child {
		t.Fatalf("accept: %v (same child %v)", err, s == child)
	}
	if got, _, err := recv(s, 10, 0); err != nil || string(got) != "abcd" {
		t.Fatalf("read %q, %v", got, err)
	}
}

func TestListenUpcallReplacesPollers(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	var calls atomic.Int32
	l.ListenUpcallSet(func(*socket.Socket, any, int) int { calls.Add(1); return socket.SU_OK }, nil)
	p := socket.NewPoller()
	if l.Poll(socket.POLLIN, p) != 0 {
		t.Fatal("empty listener readable")
	}
	e.local(socket.SOCK_STREAM).Connect(socket.SockaddrUnix{Path: "/l"})
	if calls.Load() != 1 {
		t.Fatalf("listen upcall calls = %d, want 1", calls.Load())
	}
	if err := p.Wait(bg, 50*time.Millisecond); err == nil {
		t.Fatal("poller woken although the listen upcall replaces the wakeup")
	}
	// Shutdown wakes the upcall too.
	l.Shutdown(socket.SHUT_RD)
	if calls.Load() != 2 {
		t.Fatalf("listen upcall calls after shutdown = %d, want 2", calls.Load())
	}
	// Cleared: pollers are woken again.
	l2 := e.listener(socket.SOCK_STREAM, "/l2", 5)
	l2.ListenUpcallSet(func(*socket.Socket, any, int) int { calls.Add(1); return socket.SU_OK }, nil)
	if err := l2.ListenUpcallSet(nil, nil); err != nil {
		t.Fatal(err)
	}
	p2 := socket.NewPoller()
	l2.Poll(socket.POLLIN, p2)
	before := calls.Load()
	e.local(socket.SOCK_STREAM).Connect(socket.SockaddrUnix{Path: "/l2"})
	if err := p2.Wait(bg, 5*time.Second); err != nil {
		t.Fatalf("poller not woken after the listen upcall was cleared: %v", err)
	}
	if calls.Load() != before {
		t.Fatal("cleared listen upcall still called")
	}
}
