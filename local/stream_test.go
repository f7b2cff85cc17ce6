package local_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// connTypes are the connection-oriented types, made by socketpair or by
// connect+accept.
var connKinds = []struct {
	name string
	typ  int
	make func(e *env, typ int) (*socket.Socket, *socket.Socket)
}{
	{"pair", socket.SOCK_STREAM, func(e *env, typ int) (*socket.Socket, *socket.Socket) { return e.pair(typ) }},
	{"accepted", socket.SOCK_STREAM, func(e *env, typ int) (*socket.Socket, *socket.Socket) { return e.connected(typ, "/conn") }},
	{"pair", socket.SOCK_SEQPACKET, func(e *env, typ int) (*socket.Socket, *socket.Socket) { return e.pair(typ) }},
	{"accepted", socket.SOCK_SEQPACKET, func(e *env, typ int) (*socket.Socket, *socket.Socket) { return e.connected(typ, "/conn") }},
}

// Peer close: the reader gets what was queued, then EOF (0 bytes, no
// error), again and again; the writer to a closed peer gets EPIPE.
func TestPeerClose(t *testing.T) {
	for _, k := range connKinds {
		t.Run(typeName(k.typ)+"/"+k.name, func(t *testing.T) {
			e := newEnv(t)
			a, b := k.make(e, k.typ)
			send(a, []byte("one"), 0)
			send(a, []byte("two"), 0)
			a.Close()
			var got []byte
			for i := 0; i < 4; i++ {
				d, _, err := recv(b, 100, socket.MSG_DONTWAIT)
				if err != nil {
					t.Fatalf("recv %d: %v", i, err)
				}
				if len(d) == 0 {
					break
				}
				got = append(got, d...)
			}
			if string(got) != "onetwo" {
				t.Fatalf("drained %q, want onetwo", got)
			}
			for i := 0; i < 2; i++ {
				if d, _, err := recv(b, 100, 0); err != nil || len(d) != 0 {
					t.Fatalf("recv at EOF = %q, %v; want 0 bytes", d, err)
				}
			}
			if _, err := send(b, []byte("x"), 0); !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("send to a closed peer = %v, want EPIPE", err)
			}
			if b.State()&socket.SS_ISDISCONNECTED == 0 {
				t.Fatalf("state %#x, want SS_ISDISCONNECTED", b.State())
			}
		})
	}
}

// A reader blocked on an empty socket wakes with EOF when the peer closes.
func TestPeerCloseWakesReader(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	res := make(chan error, 1)
	go func() {
		d, _, err := recv(b, 10, 0)
		if err == nil && len(d) != 0 {
			err = errors.New("got data")
		}
		res <- err
	}()
	time.Sleep(10 * time.Millisecond)
	a.Close()
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("blocked reader: %v, want EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocked reader not woken by the peer's close")
	}
}

// shutdown(SHUT_WR): the peer reads what was sent then EOF; our sends are
// EPIPE; the peer can still send to us and we read it.
func TestShutdownWrite(t *testing.T) {
	for _, k := range connKinds {
		t.Run(typeName(k.typ)+"/"+k.name, func(t *testing.T) {
			e := newEnv(t)
			a, b := k.make(e, k.typ)
			send(a, []byte("last"), 0)
			wantErr(t, "shutdown", a.Shutdown(socket.SHUT_WR), nil)
			if _, err := send(a, []byte("more"), 0); !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("send after SHUT_WR = %v, want EPIPE", err)
			}
			if d, _, err := recv(b, 100, 0); err != nil || string(d) != "last" {
				t.Fatalf("peer read %q, %v", d, err)
			}
			if d, _, err := recv(b, 100, 0); err != nil || len(d) != 0 {
				t.Fatalf("peer read after shutdown %q, %v; want EOF", d, err)
			}
			if _, err := send(b, []byte("back"), 0); err != nil {
				t.Fatalf("reverse direction after SHUT_WR: %v", err)
			}
			if d, _, err := recv(a, 100, 0); err != nil || string(d) != "back" {
				t.Fatalf("reverse read %q, %v", d, err)
			}
		})
	}
}

// shutdown(SHUT_RD): our reads return EOF at once, even with data queued
// (sorflush discards it).
func TestShutdownRead(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	send(a, []byte("discarded"), 0)
	wantErr(t, "shutdown", b.Shutdown(socket.SHUT_RD), nil)
	if d, _, err := recv(b, 100, 0); err != nil || len(d) != 0 {
		t.Fatalf("recv after SHUT_RD = %q, %v; want EOF", d, err)
	}
}

// soshutdown on an unconnected stream or seqpacket socket: ENOTCONN and
// nothing done; a bad how is EINVAL.
func TestShutdownUnconnected(t *testing.T) {
	for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_SEQPACKET} {
		e := newEnv(t)
		so := e.socket(typ)
		for _, how := range []int{socket.SHUT_RD, socket.SHUT_WR, socket.SHUT_RDWR} {
			wantErr(t, typeName(typ)+" shutdown", so.Shutdown(how), syscall.ENOTCONN)
		}
		wantErr(t, "shutdown(7)", so.Shutdown(7), syscall.EINVAL)
		// Nothing was done: the socket still connects and sends.
		l := e.listener(typ, "/later", 1)
		wantErr(t, "connect", so.Connect(un("/later")), nil)
		wantErr(t, "send", func() error { _, err := send(so, []byte("x"), 0); return err }(), nil)
		s := e.accept(l)
		if d, _, err := recv(s, 10, 0); err != nil || string(d) != "x" {
			t.Fatalf("recv = %q, %v", d, err)
		}
	}
}

// Sends and receives on a stream that is not connected: ENOTCONN.
func TestStreamUnconnectedIO(t *testing.T) {
	for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_SEQPACKET} {
		e := newEnv(t)
		so := e.socket(typ)
		if _, err := send(so, []byte("x"), 0); !errors.Is(err, syscall.ENOTCONN) {
			t.Errorf("%s send unconnected = %v, want ENOTCONN", typeName(typ), err)
		}
		e.listener(typ, "/t", 1)
		// No implied connect (no PR_IMPLOPCL): sendto is ENOTCONN too.
		if _, err := sendto(so, []byte("x"), un("/t"), nil, 0); !errors.Is(err, syscall.ENOTCONN) {
			t.Errorf("%s sendto unconnected = %v, want ENOTCONN", typeName(typ), err)
		}
		if _, _, err := recv(so, 10, socket.MSG_DONTWAIT); !errors.Is(err, syscall.ENOTCONN) {
			t.Errorf("%s recv unconnected = %v, want ENOTCONN", typeName(typ), err)
		}
	}
}

// unix_stream send_0: a zero-byte send succeeds and delivers nothing.
func TestStreamZeroSend(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	if n, err := send(a, nil, 0); err != nil || n != 0 {
		t.Fatalf("send(0) = %d, %v", n, err)
	}
	expectNothing(t, b)
	send(a, []byte("z"), 0)
	if d, _, err := recv(b, 10, 0); err != nil || string(d) != "z" {
		t.Fatalf("recv = %q, %v", d, err)
	}
}

// MSG_EOR on a stream socket is EINVAL (sosend_generic).
func TestStreamEOR(t *testing.T) {
	e := newEnv(t)
	a, _ := e.pair(socket.SOCK_STREAM)
	if _, err := send(a, []byte("x"), socket.MSG_EOR); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("send(MSG_EOR) on a stream = %v, want EINVAL", err)
	}
}

// MSG_OOB is not supported by PF_LOCAL: EOPNOTSUPP both ways.
func TestStreamOOB(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	if _, err := send(a, []byte("x"), socket.MSG_OOB); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Errorf("send(MSG_OOB) = %v, want EOPNOTSUPP", err)
	}
	if _, _, err := recv(b, 10, socket.MSG_OOB); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Errorf("recv(MSG_OOB) = %v, want EOPNOTSUPP", err)
	}
}

// seqpacket send_before_accept (for both types): data sent before the
// connection is accepted waits on the new socket and is read after accept.
func TestSendBeforeAccept(t *testing.T) {
	for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_SEQPACKET} {
		t.Run(typeName(typ), func(t *testing.T) {
			e := newEnv(t)
			l := e.listener(typ, "/early", 1)
			c := e.socket(typ)
			wantErr(t, "connect", c.Connect(un("/early")), nil)
			if n, err := send(c, []byte("early bird"), 0); err != nil || n != 10 {
				t.Fatalf("send before accept = %d, %v", n, err)
			}
			s := e.accept(l)
			if d, _, err := recv(s, 100, 0); err != nil || string(d) != "early bird" {
				t.Fatalf("recv after accept = %q, %v", d, err)
			}
		})
	}
}

// Backpressure (SB_STOP, uipc_rcvd): a non-blocking writer fills the peer
// up to its send-buffer size, gets a short count with EWOULDBLOCK, then
// EWOULDBLOCK with nothing sent; after the reader drains, it writes again.
func TestStreamBackpressure(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	a.SetNonblocking(true)
	hiwat := a.Snd.Hiwat()
	big := make([]byte, 4*hiwat)
	n, err := send(a, big, 0)
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("big non-blocking send = %d, %v; want a short count and EWOULDBLOCK", n, err)
	}
	if n <= 0 || n >= len(big) {
		t.Fatalf("short count %d, want 0 < n < %d", n, len(big))
	}
	if n < hiwat {
		t.Fatalf("sent %d before stopping, want at least the send buffer's %d", n, hiwat)
	}
	a.Snd.Lock()
	stopped := a.Snd.FlagsLocked()&socket.SB_STOP != 0
	a.Snd.Unlock()
	if !stopped {
		t.Fatal("SB_STOP not set on the writer's send buffer")
	}
	if m, err := send(a, []byte("x"), 0); !errors.Is(err, syscall.EWOULDBLOCK) || m != 0 {
		t.Fatalf("send while stopped = %d, %v; want 0, EWOULDBLOCK", m, err)
	}
	if m, err := send(a, []byte("x"), socket.MSG_DONTWAIT); !errors.Is(err, syscall.EWOULDBLOCK) || m != 0 {
		t.Fatalf("MSG_DONTWAIT send while stopped = %d, %v", m, err)
	}
	// Drain.
	total := 0
	for total < n {
		d, _, err := recv(b, 100000, socket.MSG_DONTWAIT)
		if err != nil {
			t.Fatalf("drain after %d: %v", total, err)
		}
		total += len(d)
	}
	if total != n {
		t.Fatalf("drained %d, want %d", total, n)
	}
	if m, err := send(a, []byte("again"), 0); err != nil || m != 5 {
		t.Fatalf("send after drain = %d, %v", m, err)
	}
	if d, _, err := recv(b, 100, 0); err != nil || string(d) != "again" {
		t.Fatalf("recv = %q, %v", d, err)
	}
}

// A blocking writer sleeps while the peer is full and finishes once the
// reader drains; a cancelled context interrupts it (EINTR) with a short
// count, and a deadline gives EWOULDBLOCK.
func TestStreamBlockingWriter(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	payload := make([]byte, 3*a.Snd.Hiwat())
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	done := make(chan error, 1)
	go func() {
		n, err := send(a, payload, 0)
		if err == nil && n != len(payload) {
			err = errors.New("short blocking send")
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("blocking send of 3x the buffer finished before the reader read: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	var got []byte
	for len(got) < len(payload) {
		d, _, err := recv(b, 10000, 0)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d...)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("data differs")
	}

	// Fill again, then a deadline.
	a.SetNonblocking(true)
	send(a, make([]byte, 2*a.Snd.Hiwat()), 0)
	a.SetNonblocking(false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	u := socket.UioBuf([]byte("late"))
	if err := a.Send(ctx, nil, &u, nil, nil, 0); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("send past its deadline = %v, want EWOULDBLOCK", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel2() }()
	u = socket.UioBuf([]byte("late"))
	if err := a.Send(ctx2, nil, &u, nil, nil, 0); !errors.Is(err, syscall.EINTR) {
		t.Fatalf("cancelled send = %v, want EINTR", err)
	}
}

// Several MiB through writes of 1 byte to 64 KiB and reads of random
// sizes arrive intact and in order.
func TestStreamIntegrity(t *testing.T) {
	for _, k := range connKinds[:2] {
		t.Run(k.name, func(t *testing.T) {
			e := newEnv(t)
			a, b := k.make(e, k.typ)
			const total = 6 << 20
			src := make([]byte, total)
			rnd := rand.New(rand.NewSource(1))
			rnd.Read(src)
			var wg sync.WaitGroup
			wg.Add(1)
			var werr error
			go func() {
				defer wg.Done()
				wr := rand.New(rand.NewSource(2))
				for off := 0; off < total; {
					n := 1 + wr.Intn(64<<10)
					if off+n > total {
						n = total - off
					}
					m, err := send(a, src[off:off+n], 0)
					if err != nil || m != n {
						werr = err
						if werr == nil {
							werr = errors.New("short write")
						}
						return
					}
					off += n
				}
				a.Shutdown(socket.SHUT_WR)
			}()
			got := make([]byte, 0, total)
			rr := rand.New(rand.NewSource(3))
			for {
				d, _, err := recv(b, 1+rr.Intn(100000), 0)
				if err != nil {
					t.Fatalf("recv after %d bytes: %v", len(got), err)
				}
				if len(d) == 0 {
					break
				}
				got = append(got, d...)
			}
			wg.Wait()
			if werr != nil {
				t.Fatal(werr)
			}
			if !bytes.Equal(got, src) {
				i := 0
				for i < len(got) && i < len(src) && got[i] == src[i] {
					i++
				}
				t.Fatalf("got %d bytes, want %d; first difference at %d", len(got), total, i)
			}
		})
	}
}

// MSG_WAITALL waits for the whole request across several sends, and stops
// short at EOF.
func TestStreamWaitall(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	go func() {
		for _, s := range []string{"ab", "cd", "ef"} {
			time.Sleep(2 * time.Millisecond)
			send(a, []byte(s), 0)
		}
		time.Sleep(2 * time.Millisecond)
		a.Close()
	}()
	if d, _, err := recv(b, 4, socket.MSG_WAITALL); err != nil || string(d) != "abcd" {
		t.Fatalf("WAITALL(4) = %q, %v", d, err)
	}
	if d, _, err := recv(b, 10, socket.MSG_WAITALL); err != nil || string(d) != "ef" {
		t.Fatalf("WAITALL(10) at EOF = %q, %v; want the short count ef", d, err)
	}
}

// MSG_PEEK leaves the data for the next read.
func TestStreamPeek(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	send(a, []byte("peekaboo"), 0)
	if d, _, err := recv(b, 4, socket.MSG_PEEK); err != nil || string(d) != "peek" {
		t.Fatalf("peek = %q, %v", d, err)
	}
	if d, _, err := recv(b, 100, 0); err != nil || string(d) != "peekaboo" {
		t.Fatalf("read after peek = %q, %v", d, err)
	}
}
