package socket_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// Connections and Addresses: sobind, soconnect, sodisconnect, solisten,
// sonewconn, solisten_dequeue/soaccept, soshutdown.

// otherAddr is an address of a family nobody speaks.
type otherAddr struct{}

func (otherAddr) Family() int { return 99 }
func (otherAddr) Len() int    { return 16 }

func TestBindErrors(t *testing.T) {
	e := newEnv(t)
	taken := e.local(socket.SOCK_STREAM)
	if err := taken.Bind(socket.SockaddrUnix{Path: "/taken"}); err != nil {
		t.Fatal(err)
	}
	bound := e.local(socket.SOCK_STREAM)
	if err := bound.Bind(socket.SockaddrUnix{Path: "/mine"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		so   *socket.Socket
		nam  socket.Sockaddr
		want error
	}{
		{"nil address", e.local(socket.SOCK_STREAM), nil, syscall.EINVAL},
		{"address in use", e.local(socket.SOCK_STREAM), socket.SockaddrUnix{Path: "/taken"}, syscall.EADDRINUSE},
		{"already bound", bound, socket.SockaddrUnix{Path: "/other"}, syscall.EINVAL},
		{"path too long", e.local(socket.SOCK_STREAM), socket.SockaddrUnix{Path: strings.Repeat("x", socket.SUNPATHLEN+1)}, syscall.ENAMETOOLONG},
		{"empty path", e.local(socket.SOCK_STREAM), socket.SockaddrUnix{}, syscall.EINVAL},
		{"wrong family", e.local(socket.SOCK_STREAM), otherAddr{}, syscall.EAFNOSUPPORT},
		{"longest path", e.local(socket.SOCK_STREAM), socket.SockaddrUnix{Path: strings.Repeat("y", socket.SUNPATHLEN)}, nil},
		{"dgram", e.local(socket.SOCK_DGRAM), socket.SockaddrUnix{Path: "/d"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "sobind", tc.so.Bind(tc.nam), tc.want)
		})
	}
}

func TestConnectErrors(t *testing.T) {
	e := newEnv(t)
	e.listener(socket.SOCK_STREAM, "/stream", 5)
	e.listener(socket.SOCK_SEQPACKET, "/seq", 5)
	notListening := e.local(socket.SOCK_STREAM)
	notListening.Bind(socket.SockaddrUnix{Path: "/idle"})
	connected, _ := e.pair(socket.SOCK_STREAM)
	listening := e.listener(socket.SOCK_STREAM, "/l2", 5)
	tests := []struct {
		name string
		so   *socket.Socket
		nam  socket.Sockaddr
		want error
	}{
		{"nil address", e.local(socket.SOCK_STREAM), nil, syscall.EINVAL},
		{"no such name", e.local(socket.SOCK_STREAM), socket.SockaddrUnix{Path: "/nothing"}, syscall.ENOENT},
		{"not listening", e.local(socket.SOCK_STREAM), socket.SockaddrUnix{Path: "/idle"}, syscall.ECONNREFUSED},
		{"type mismatch", e.local(socket.SOCK_STREAM), socket.SockaddrUnix{Path: "/seq"}, syscall.EPROTOTYPE},
		{"already connected", connected, socket.SockaddrUnix{Path: "/stream"}, syscall.EISCONN},
		{"listening socket", listening, socket.SockaddrUnix{Path: "/stream"}, syscall.EOPNOTSUPP},
		{"wrong family", e.local(socket.SOCK_STREAM), otherAddr{}, syscall.EAFNOSUPPORT},
		{"ok", e.local(socket.SOCK_STREAM), socket.SockaddrUnix{Path: "/stream"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.so.Connect(tc.nam)
			wantErr(t, "soconnect", err, tc.want)
			if err != nil && tc.so.State()&socket.SS_ISCONNECTING != 0 {
				t.Errorf("SS_ISCONNECTING left set after a failed connect")
			}
		})
	}
}

func TestConnectFailureClearsIsconnecting(t *testing.T) {
	e := newEnv(t)
	e.tp.set(func(tp *tproto) { tp.connectErr = syscall.ENETUNREACH })
	so := e.test(socket.SOCK_STREAM)
	err := so.Connect(taddr("x"))
	wantErr(t, "soconnect", err, syscall.ENETUNREACH)
	if so.State()&socket.SS_ISCONNECTING != 0 {
		t.Fatalf("state %#x: SS_ISCONNECTING not cleared after the protocol failed", so.State())
	}
}

func TestConnectReturnsImmediately(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.tp.set(func(tp *tproto) { tp.connectAsync = true })
		so := e.test(socket.SOCK_STREAM)
		if err := so.Connect(taddr("far")); err != nil {
			t.Fatal(err)
		}
		if st := so.State(); st&socket.SS_ISCONNECTING == 0 || st&socket.SS_ISCONNECTED != 0 {
			t.Fatalf("after soconnect: state %#x, want connecting", st)
		}
		// A second soconnect while connecting: EISCONN (PR_CONNREQUIRED).
		wantErr(t, "soconnect while connecting", so.Connect(taddr("far")), syscall.EISCONN)

		// The non-blocking caller is told EINPROGRESS.
		so.SetNonblocking(true)
		wantErr(t, "WaitConnected, non-blocking", so.WaitConnected(bg), syscall.EINPROGRESS)
		so.SetNonblocking(false)

		waited := make(chan error, 1)
		go func() { waited <- so.WaitConnected(bg) }()
		synctest.Wait()
		if done(waited) {
			t.Fatal("WaitConnected returned while still connecting")
		}
		time.Sleep(3 * time.Second)
		so.Isconnected()
		synctest.Wait()
		select {
		case err := <-waited:
			if err != nil {
				t.Fatalf("WaitConnected: %v", err)
			}
		default:
			t.Fatal("WaitConnected still blocked after soisconnected")
		}
		if st := so.State(); st&socket.SS_ISCONNECTING != 0 || st&socket.SS_ISCONNECTED == 0 {
			t.Fatalf("state %#x, want connected", st)
		}
	})
}

func TestWaitConnectedErrors(t *testing.T) {
	t.Run("so_error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t)
			e.tp.set(func(tp *tproto) { tp.connectAsync = true })
			so := e.test(socket.SOCK_STREAM)
			so.Connect(taddr("far"))
			waited := make(chan error, 1)
			go func() { waited <- so.WaitConnected(bg) }()
			synctest.Wait()
			// The protocol fails the connection: so_error, then
			// soisdisconnected wakes so_timeo.
			so.SetError(syscall.ECONNREFUSED)
			so.Isdisconnected()
			synctest.Wait()
			if !done(waited) {
				t.Fatal("WaitConnected still blocked")
			}
			if so.State()&socket.SS_ISCONNECTING != 0 {
				t.Fatal("SS_ISCONNECTING still set after the connection failed")
			}
			if so.Error() != 0 {
				t.Fatal("so_error not consumed by WaitConnected")
			}
		})
	})
	t.Run("error already pending", func(t *testing.T) {
		e := newEnv(t)
		e.tp.set(func(tp *tproto) { tp.connectAsync = true })
		so := e.test(socket.SOCK_STREAM)
		so.Connect(taddr("far"))
		so.SetError(syscall.ETIMEDOUT)
		wantErr(t, "WaitConnected", so.WaitConnected(bg), syscall.ETIMEDOUT)
		if so.State()&socket.SS_ISCONNECTING != 0 {
			t.Fatal("SS_ISCONNECTING still set after WaitConnected failed")
		}
		if so.Error() != 0 {
			t.Fatal("so_error not consumed")
		}
	})
	t.Run("cancel and deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t)
			e.tp.set(func(tp *tproto) { tp.connectAsync = true })
			so := e.test(socket.SOCK_STREAM)
			so.Connect(taddr("far"))
			ctx, cancel := context.WithCancel(bg)
			waited := make(chan error, 1)
			go func() { waited <- so.WaitConnected(ctx) }()
			synctest.Wait()
			cancel()
			wantErr(t, "WaitConnected, cancelled", <-waited, syscall.EINTR)
			if so.State()&socket.SS_ISCONNECTING == 0 {
				t.Fatal("an interrupted wait must leave SS_ISCONNECTING set")
			}
			dctx, dcancel := context.WithTimeout(bg, time.Second)
			defer dcancel()
			start := time.Now()
			wantErr(t, "WaitConnected, deadline", so.WaitConnected(dctx), syscall.EWOULDBLOCK)
			if d := time.Since(start); d != time.Second {
				t.Fatalf("deadline after %v", d)
			}
		})
	})
}

func TestDgramReconnect(t *testing.T) {
	// Connectionless sockets reconnect by disconnecting first
	// (tools/regression/sockets/reconnect): the socket stays usable.
	e := newEnv(t)
	r1, r2 := e.local(socket.SOCK_DGRAM), e.local(socket.SOCK_DGRAM)
	r1.Bind(socket.SockaddrUnix{Path: "/r1"})
	r2.Bind(socket.SockaddrUnix{Path: "/r2"})
	s := e.local(socket.SOCK_DGRAM)
	if err := s.Connect(socket.SockaddrUnix{Path: "/r1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := send(s, []byte("one"), 0); err != nil {
		t.Fatalf("send to first target: %v", err)
	}
	if err := s.Connect(socket.SockaddrUnix{Path: "/r2"}); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	if s.State()&socket.SS_ISCONNECTED == 0 {
		t.Fatalf("state %#x after reconnect", s.State())
	}
	if _, err := send(s, []byte("two"), 0); err != nil {
		t.Fatalf("send after reconnect: %v", err)
	}
	if b, _, err := recv(r2, 10, socket.MSG_DONTWAIT); err != nil || string(b) != "two" {
		t.Fatalf("second target got %q, %v", b, err)
	}
	if b, _, err := recv(r1, 10, socket.MSG_DONTWAIT); err != nil || string(b) != "one" {
		t.Fatalf("first target got %q, %v", b, err)
	}
}

func TestDgramTargetGoesAway(t *testing.T) {
	// unp_drop: the sender learns ECONNRESET once and may send elsewhere.
	e := newEnv(t)
	r1, r2 := e.local(socket.SOCK_DGRAM), e.local(socket.SOCK_DGRAM)
	r1.Bind(socket.SockaddrUnix{Path: "/r1"})
	r2.Bind(socket.SockaddrUnix{Path: "/r2"})
	s := e.local(socket.SOCK_DGRAM)
	if err := s.Connect(socket.SockaddrUnix{Path: "/r1"}); err != nil {
		t.Fatal(err)
	}
	r1.Close()
	_, err := send(s, []byte("x"), 0)
	wantErr(t, "send to a closed target", err, syscall.ECONNRESET)
	if _, err := sendto(s, []byte("y"), socket.SockaddrUnix{Path: "/r2"}, 0); err != nil {
		t.Fatalf("sendto another socket after the target went away: %v", err)
	}
	if b, _, err := recv(r2, 10, socket.MSG_DONTWAIT); err != nil || string(b) != "y" {
		t.Fatalf("got %q, %v", b, err)
	}
}

func TestDisconnect(t *testing.T) {
	e := newEnv(t)
	wantErr(t, "sodisconnect, never connected", e.local(socket.SOCK_STREAM).Disconnect(), syscall.ENOTCONN)
	a, b := e.pair(socket.SOCK_STREAM)
	if err := a.Disconnect(); err != nil {
		t.Fatalf("sodisconnect: %v", err)
	}
	if a.State()&socket.SS_ISCONNECTED != 0 || b.State()&socket.SS_ISCONNECTED != 0 {
		t.Fatal("still connected after sodisconnect")
	}
	wantErr(t, "sodisconnect twice", a.Disconnect(), syscall.ENOTCONN)

	e.tp.set(func(tp *tproto) { tp.slowDisconnect = true })
	c, _ := e.tpair(socket.SOCK_STREAM)
	if err := c.Disconnect(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "sodisconnect while disconnecting", c.Disconnect(), syscall.EALREADY)
}

func TestListenErrors(t *testing.T) {
	e := newEnv(t)
	wantErr(t, "listen unbound stream", e.local(socket.SOCK_STREAM).Listen(5), syscall.EDESTADDRREQ)
	d := e.local(socket.SOCK_DGRAM)
	d.Bind(socket.SockaddrUnix{Path: "/d"})
	wantErr(t, "listen dgram", d.Listen(5), syscall.EOPNOTSUPP)
	c, _ := e.connected(socket.SOCK_STREAM, "/l")
	wantErr(t, "listen on a connected socket", c.Listen(5), syscall.EINVAL)
	a, _ := e.tpair(socket.SOCK_STREAM)
	wantErr(t, "listen on a connected test socket", a.Listen(5), syscall.EINVAL)
}

func TestListenBacklog(t *testing.T) {
	e := newEnv(t)
	qlimit := func(so *socket.Socket) int {
		t.Helper()
		v, err := so.GetOptInt(socket.SOL_SOCKET, socket.SO_LISTENQLIMIT)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, q := so.ListenQueue(); q != v {
			t.Fatalf("ListenQueue qlimit %d, SO_LISTENQLIMIT %d", q, v)
		}
		return v
	}
	for i, tc := range []struct{ backlog, want int }{
		{-1, socket.SOMAXCONN},
		{-1000, socket.SOMAXCONN},
		{0, 0},
		{1, 1},
		{5, 5},
		{socket.SOMAXCONN, socket.SOMAXCONN},
		{socket.SOMAXCONN + 1, socket.SOMAXCONN},
		{1 << 30, socket.SOMAXCONN},
	} {
		l := e.local(socket.SOCK_STREAM)
		l.Bind(socket.SockaddrUnix{Path: "/b" + string(rune('a'+i))})
		if err := l.Listen(tc.backlog); err != nil {
			t.Fatal(err)
		}
		if got := qlimit(l); got != tc.want {
			t.Errorf("listen(%d): qlimit %d, want %d", tc.backlog, got, tc.want)
		}
	}
	// Listening again updates the limit (5 -> -1 gives somaxconn; -> 0 gives 0).
	l := e.listener(socket.SOCK_STREAM, "/re", 5)
	for _, tc := range []struct{ backlog, want int }{{-1, socket.SOMAXCONN}, {0, 0}, {7, 7}} {
		if err := l.Listen(tc.backlog); err != nil {
			t.Fatalf("re-listen: %v", err)
		}
		if got := qlimit(l); got != tc.want {
			t.Errorf("re-listen(%d): qlimit %d, want %d", tc.backlog, got, tc.want)
		}
	}
	// The stack's somaxconn bounds it.
	if err := e.v.SetSomaxconn(10); err != nil {
		t.Fatal(err)
	}
	l2 := e.listener(socket.SOCK_STREAM, "/small", 50)
	if got := qlimit(l2); got != 10 {
		t.Errorf("listen(50) with somaxconn 10: qlimit %d", got)
	}
	wantErr(t, "SetSomaxconn(0)", e.v.SetSomaxconn(0), syscall.EINVAL)
	// Not listening: 0.
	if v, err := e.local(socket.SOCK_STREAM).GetOptInt(socket.SOL_SOCKET, socket.SO_LISTENQLIMIT); err != nil || v != 0 {
		t.Errorf("SO_LISTENQLIMIT of a non-listener: %d, %v", v, err)
	}
}

func TestNewconnOverflow(t *testing.T) {
	for _, tc := range []struct {
		backlog, accepted int
	}{
		{0, 1}, {1, 2}, {2, 4}, {3, 5}, {10, 16},
	} {
		e := newEnv(t)
		var logged []string
		var logMu sync.Mutex
		e.v.SetLogger(func(s string) {
			logMu.Lock()
			logged = append(logged, s)
			logMu.Unlock()
		})
		e.tp.set(func(tp *tproto) { tp.connstatus = socket.SS_ISCONNECTED })
		l := e.tlistener("l", tc.backlog)
		n := 0
		for i := 0; i < tc.accepted+3; i++ {
			if so := l.Newconn(socket.SS_ISCONNECTED); so != nil {
				n++
			}
		}
		if n != tc.accepted {
			t.Errorf("backlog %d: sonewconn accepted %d, want %d (refuse when qlen > 3*qlimit/2)", tc.backlog, n, tc.accepted)
		}
		if got := e.v.Stats.ListenOverflows.Load(); got != 3 {
			t.Errorf("backlog %d: ListenOverflows = %d, want 3", tc.backlog, got)
		}
		if qlen, _, _ := l.ListenQueue(); qlen != tc.accepted {
			t.Errorf("backlog %d: qlen %d", tc.backlog, qlen)
		}
		logMu.Lock()
		if len(logged) != 1 {
			t.Errorf("backlog %d: %d overflow messages, want 1 (rate limited): %q", tc.backlog, len(logged), logged)
		} else if !strings.Contains(logged[0], "Listen queue overflow") {
			t.Errorf("log message %q", logged[0])
		}
		logMu.Unlock()
	}
}

func TestConnectRefusedByFullQueue(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 2)
	for i := 0; i < 4; i++ {
		if err := e.local(socket.SOCK_STREAM).Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
			t.Fatalf("connect %d: %v", i, err)
		}
	}
	wantErr(t, "5th connect to backlog 2", e.local(socket.SOCK_STREAM).Connect(socket.SockaddrUnix{Path: "/l"}), syscall.ECONNREFUSED)
	if got := e.v.Stats.ListenOverflows.Load(); got != 1 {
		t.Fatalf("ListenOverflows = %d", got)
	}
	if v, _ := l.GetOptInt(socket.SOL_SOCKET, socket.SO_LISTENQLEN); v != 4 {
		t.Fatalf("SO_LISTENQLEN = %d, want 4", v)
	}
	// Accepting one makes room for one.
	if _, err := l.ListenDequeue(bg, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.local(socket.SOCK_STREAM).Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
		t.Fatalf("connect after accept: %v", err)
	}
}

func TestListenDequeue(t *testing.T) {
	e := newEnv(t)
	wantErr(t, "accept on a non-listener", func() error {
		_, err := e.local(socket.SOCK_STREAM).ListenDequeue(bg, socket.MSG_DONTWAIT)
		return err
	}(), syscall.EINVAL)
	a, _ := e.pair(socket.SOCK_STREAM)
	_, err := a.ListenDequeue(bg, socket.MSG_DONTWAIT)
	wantErr(t, "accept on a connected socket", err, syscall.EINVAL)

	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	_, err = l.ListenDequeue(bg, socket.MSG_DONTWAIT)
	wantErr(t, "accept MSG_DONTWAIT, empty", err, syscall.EWOULDBLOCK)
	l.SetNonblocking(true)
	_, err = l.ListenDequeue(bg, 0)
	wantErr(t, "accept on non-blocking listener, empty", err, syscall.EWOULDBLOCK)

	connect := func(path string) *socket.Socket {
		c := e.local(socket.SOCK_STREAM)
		if path != "" {
			if err := c.Bind(socket.SockaddrUnix{Path: path}); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Non-blocking listener; the flags decide.
	tests := []struct {
		name   string
		nblist bool
		flags  int
		wantNB bool
	}{
		{"accept4 0, nb listener", true, 0, false},
		{"accept (inherit), nb listener", true, socket.ACCEPT4_INHERIT, true},
		{"accept4 SOCK_NONBLOCK, nb listener", true, socket.SOCK_NONBLOCK, true},
		{"accept (inherit), blocking listener", false, socket.ACCEPT4_INHERIT, false},
		{"accept4 SOCK_NONBLOCK, blocking listener", false, socket.SOCK_NONBLOCK, true},
		{"accept4 0, blocking listener", false, 0, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l.SetNonblocking(tc.nblist)
			name := "/c" + string(rune('a'+i))
			c := connect(name)
			so, err := l.ListenDequeue(bg, tc.flags)
			if err != nil {
				t.Fatal(err)
			}
			if nb := so.State()&socket.SS_NBIO != 0; nb != tc.wantNB {
				t.Errorf("accepted socket non-blocking = %v, want %v", nb, tc.wantNB)
			}
			if so.Holders() != 1 {
				t.Errorf("accepted socket holders = %d", so.Holders())
			}
			if so.State()&socket.SS_ISCONNECTED == 0 {
				t.Errorf("accepted socket not connected: %#x", so.State())
			}
			sa, err := so.Accept()
			if err != nil {
				t.Fatal(err)
			}
			if u, ok := sa.(socket.SockaddrUnix); !ok || u.Path != name {
				t.Errorf("soaccept peer %v, want %s", sa, name)
			}
			// Data flows.
			if _, err := send(c, []byte("hi"), 0); err != nil {
				t.Fatal(err)
			}
			if b, _, err := recv(so, 10, 0); err != nil || string(b) != "hi" {
				t.Fatalf("recv %q %v", b, err)
			}
		})
	}
	// An unbound peer is reported as the unnamed address (16 bytes).
	l.SetNonblocking(false)
	connect("")
	so, err := l.ListenDequeue(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := so.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if sa.Family() != socket.AF_UNIX || sa.Len() != 16 || sa.(socket.SockaddrUnix).Path != "" {
		t.Fatalf("unnamed peer = %#v (len %d)", sa, sa.Len())
	}
}

func TestListenDequeueOrderAndQueueCounts(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 10)
	for i := 0; i < 3; i++ {
		c := e.local(socket.SOCK_STREAM)
		c.Bind(socket.SockaddrUnix{Path: "/c" + string(rune('0'+i))})
		if err := c.Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if v, _ := l.GetOptInt(socket.SOL_SOCKET, socket.SO_LISTENQLEN); v != 3-i {
			t.Fatalf("SO_LISTENQLEN = %d, want %d", v, 3-i)
		}
		so, err := l.ListenDequeue(bg, 0)
		if err != nil {
			t.Fatal(err)
		}
		sa, _ := so.Accept()
		if want := "/c" + string(rune('0'+i)); sa.(socket.SockaddrUnix).Path != want {
			t.Fatalf("dequeued %v, want %s (FIFO)", sa, want)
		}
	}
}

func TestShutdownListenerWakesAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		l := e.listener(socket.SOCK_STREAM, "/l", 5)
		accepted := make(chan error, 1)
		go func() {
			_, err := l.ListenDequeue(bg, 0)
			accepted <- err
		}()
		synctest.Wait()
		if done(accepted) {
			t.Fatal("accept returned on an empty queue")
		}
		wantErr(t, "shutdown(SHUT_RDWR) on a listener", l.Shutdown(socket.SHUT_RDWR), syscall.ENOTCONN)
		synctest.Wait()
		select {
		case err := <-accepted:
			wantErr(t, "blocked accept after shutdown", err, syscall.ECONNABORTED)
		default:
			t.Fatal("blocked accept not woken by shutdown")
		}
		// The error is returned once.
		_, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT)
		wantErr(t, "accept after the error was consumed", err, syscall.EWOULDBLOCK)

		// SHUT_WR on a listener sets no error.
		l2 := e.listener(socket.SOCK_STREAM, "/l2", 5)
		wantErr(t, "shutdown(SHUT_WR) on a listener", l2.Shutdown(socket.SHUT_WR), syscall.ENOTCONN)
		_, err = l2.ListenDequeue(bg, socket.MSG_DONTWAIT)
		wantErr(t, "accept after SHUT_WR", err, syscall.EWOULDBLOCK)
	})
}

func TestCloseListenerWakesAccept(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	accepted := make(chan error, 1)
	go func() {
		_, err := l.ListenDequeue(bg, 0)
		accepted <- err
	}()
	time.Sleep(10 * time.Millisecond)
	l.Close()
	err := within(t, accepted, 10*time.Second, "accept on a closed listener")
	if err == nil {
		t.Fatal("accept on a closed listener succeeded")
	}
}

func TestAcceptContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		l := e.listener(socket.SOCK_STREAM, "/l", 5)
		ctx, cancel := context.WithCancel(bg)
		res := make(chan error, 1)
		go func() {
			_, err := l.ListenDequeue(ctx, 0)
			res <- err
		}()
		synctest.Wait()
		cancel()
		wantErr(t, "accept, cancelled", <-res, syscall.EINTR)
		dctx, dcancel := context.WithTimeout(bg, 2*time.Second)
		defer dcancel()
		_, err := l.ListenDequeue(dctx, 0)
		wantErr(t, "accept, deadline", err, syscall.EWOULDBLOCK)
	})
}

func TestShutdown(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	for _, how := range []int{socket.SHUT_RD - 1, socket.SHUT_RDWR + 1} {
		wantErr(t, "shutdown with a bad how", a.Shutdown(how), syscall.EINVAL)
	}
	wantErr(t, "shutdown of unconnected stream", e.local(socket.SOCK_STREAM).Shutdown(socket.SHUT_RDWR), syscall.ENOTCONN)

	// SHUT_WR: the peer reads EOF after the data, our sends fail EPIPE.
	send(a, []byte("last"), 0)
	if err := a.Shutdown(socket.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if got, _, err := recv(b, 10, 0); err != nil || string(got) != "last" {
		t.Fatalf("peer read %q, %v", got, err)
	}
	if got, _, err := recv(b, 10, 0); err != nil || len(got) != 0 {
		t.Fatalf("peer read after SHUT_WR %q, %v; want EOF", got, err)
	}
	_, err := send(a, []byte("x"), 0)
	wantErr(t, "send after SHUT_WR", err, syscall.EPIPE)
	// The other direction still works.
	if _, err := send(b, []byte("back"), 0); err != nil {
		t.Fatal(err)
	}
	// SHUT_RD: queued data is discarded and reads return 0 at once.
	if err := a.Shutdown(socket.SHUT_RD); err != nil {
		t.Fatal(err)
	}
	if got, _, err := recv(a, 10, 0); err != nil || len(got) != 0 {
		t.Fatalf("read after SHUT_RD %q, %v; want EOF and nothing", got, err)
	}
}

func TestShutdownUnconnectedDgramWakesReader(t *testing.T) {
	// ENOTCONN, but the shutdown is done (tests/sys/kern/shutdown_dgram).
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		d := e.local(socket.SOCK_DGRAM)
		d.Bind(socket.SockaddrUnix{Path: "/d"})
		res := make(chan error, 1)
		go func() {
			b, _, err := recv(d, 10, 0)
			if err == nil && len(b) != 0 {
				err = errors.New("data")
			}
			res <- err
		}()
		synctest.Wait()
		wantErr(t, "shutdown(SHUT_RD) unconnected dgram", d.Shutdown(socket.SHUT_RD), syscall.ENOTCONN)
		synctest.Wait()
		select {
		case err := <-res:
			if err != nil {
				t.Fatalf("blocked recv after shutdown: %v, want 0 bytes", err)
			}
		default:
			t.Fatal("blocked recv not woken by SHUT_RD")
		}
	})
}

func TestListenProtoCheckBusy(t *testing.T) {
	// solisten_proto_check: EAGAIN while a receive is in progress.
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		so := e.test(socket.SOCK_DGRAM)
		so.Bind(taddr("d"))
		res := make(chan error, 1)
		go func() {
			_, _, err := recv(so, 10, 0)
			res <- err
		}()
		synctest.Wait()
		wantErr(t, "listen during a receive", so.Listen(5), syscall.EAGAIN)
		if so.Listening() {
			t.Fatal("socket listens after a failed solisten_proto_check")
		}
		so.Shutdown(socket.SHUT_RD)
		if err := <-res; err != nil {
			t.Fatalf("receive: %v", err)
		}
	})
}

func TestConnectClearsStaleError(t *testing.T) {
	e := newEnv(t)
	e.tp.set(func(tp *tproto) { tp.connectAsync = true })
	so := e.test(socket.SOCK_STREAM)
	so.SetError(syscall.ETIMEDOUT)
	if err := so.Connect(taddr("x")); err != nil {
		t.Fatal(err)
	}
	if so.Error() != 0 {
		t.Fatalf("so_error %v left from before soconnect", so.Error())
	}
	so.Isconnected()
	if err := so.WaitConnected(bg); err != nil {
		t.Fatalf("WaitConnected: %v", err)
	}
}

func TestRelistenKeepsQueue(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	for i := 0; i < 3; i++ {
		if err := e.local(socket.SOCK_STREAM).Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Listen(1); err != nil {
		t.Fatal(err)
	}
	if qlen, _, qlimit := l.ListenQueue(); qlen != 3 || qlimit != 1 {
		t.Fatalf("after re-listen: qlen %d qlimit %d, want 3 and 1", qlen, qlimit)
	}
	wantErr(t, "connect past the new limit", e.local(socket.SOCK_STREAM).Connect(socket.SockaddrUnix{Path: "/l"}), syscall.ECONNREFUSED)
	for i := 0; i < 3; i++ {
		if _, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT); err != nil {
			t.Fatalf("accept %d after re-listen: %v", i, err)
		}
	}
}

func TestShutdownRdWakesBlockedStreamReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		_, b := e.pair(socket.SOCK_STREAM)
		res := make(chan error, 1)
		go func() {
			d, _, err := recv(b, 10, 0)
			if err == nil && len(d) != 0 {
				err = errors.New("data")
			}
			res <- err
		}()
		synctest.Wait()
		if err := b.Shutdown(socket.SHUT_RD); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case err := <-res:
			if err != nil {
				t.Fatalf("reader after SHUT_RD: %v, want EOF", err)
			}
		default:
			t.Fatal("reader still blocked after SHUT_RD")
		}
	})
}
