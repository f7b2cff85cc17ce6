package socket_test

import (
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/socket"
)

// Creating and Destroying Sockets: socreate, soclose, soabort, sofree,
// sodtor_set.

func TestCreateErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name            string
		dom, typ, proto int
		cred            *socket.Cred
		want            error
	}{
		{"unknown domain", 99, socket.SOCK_STREAM, 0, testCred, syscall.EAFNOSUPPORT},
		{"unknown domain, raw", socket.PF_INET, socket.SOCK_RAW, 0, testCred, syscall.EAFNOSUPPORT},
		{"unknown type, proto 0", socket.PF_LOCAL, socket.SOCK_RAW, 0, testCred, syscall.EPROTOTYPE},
		{"unknown type RDM, proto 0", socket.PF_LOCAL, socket.SOCK_RDM, 0, testCred, syscall.EPROTOTYPE},
		{"unknown type, proto named", socket.PF_LOCAL, socket.SOCK_RAW, 3, testCred, syscall.EPROTONOSUPPORT},
		{"type 0, proto 0", socket.PF_LOCAL, 0, 0, testCred, syscall.EPROTONOSUPPORT},
		{"wrong protocol number", testFamily, socket.SOCK_STREAM, 99, testCred, syscall.EPROTONOSUPPORT},
		{"nil credential", socket.PF_LOCAL, socket.SOCK_STREAM, 0, nil, syscall.EINVAL},
		{"ok local stream", socket.PF_LOCAL, socket.SOCK_STREAM, 0, testCred, nil},
		{"ok local dgram", socket.PF_LOCAL, socket.SOCK_DGRAM, 0, testCred, nil},
		{"ok local seqpacket", socket.PF_LOCAL, socket.SOCK_SEQPACKET, 0, testCred, nil},
		{"ok test, proto named", testFamily, socket.SOCK_STREAM, tprotoStream, testCred, nil},
		{"ok test, proto wildcard", testFamily, socket.SOCK_DGRAM, 0, testCred, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.v.Stats.Sockets.Load()
			so, err := e.v.Create(tc.dom, tc.typ, tc.proto, tc.cred)
			wantErr(t, "socreate", err, tc.want)
			if tc.want != nil {
				if so != nil {
					t.Fatalf("socreate failed but returned a socket")
				}
				if n := e.v.Stats.Sockets.Load(); n != before {
					t.Fatalf("failed socreate left Stats.Sockets %d, was %d", n, before)
				}
				return
			}
			defer so.Close()
			if so.Type() != tc.typ {
				t.Errorf("Type = %d, want %d", so.Type(), tc.typ)
			}
			if so.Proto().Domain.Family != tc.dom {
				t.Errorf("family = %d, want %d", so.Proto().Domain.Family, tc.dom)
			}
			if so.Cred() != tc.cred {
				t.Errorf("the credential is not cached")
			}
			if so.Holders() != 1 {
				t.Errorf("Holders = %d, want 1", so.Holders())
			}
			if n := e.v.Stats.Sockets.Load(); n != before+1 {
				t.Errorf("Stats.Sockets = %d, want %d", n, before+1)
			}
		})
	}
}

func TestCreateAttachFailure(t *testing.T) {
	e := newEnv(t)
	e.tp.set(func(tp *tproto) { tp.attachErr = syscall.ENOBUFS })
	so, err := e.v.Create(testFamily, socket.SOCK_STREAM, 0, testCred)
	wantErr(t, "socreate with failing pr_attach", err, syscall.ENOBUFS)
	if so != nil {
		t.Fatal("a socket was returned")
	}
	if n := e.v.Stats.Sockets.Load(); n != 0 {
		t.Fatalf("Stats.Sockets = %d after failed attach", n)
	}
	if slices.Contains(e.tp.log, "detach") {
		t.Fatal("pr_detach called although pr_attach failed")
	}
	// Buffers past the stack's limit fail soreserve in pr_attach.
	e.tp.set(func(tp *tproto) { tp.attachErr = nil; tp.sndbuf = 10 * socket.SB_MAX })
	_, err = e.v.Create(testFamily, socket.SOCK_STREAM, 0, testCred)
	wantErr(t, "socreate with soreserve past sb_max", err, syscall.ENOBUFS)
}

func TestCloseFreesAndDetaches(t *testing.T) {
	e := newEnv(t)
	so := e.test(socket.SOCK_STREAM)
	if err := so.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := e.tp.events(so), []string{"attach", "close", "detach"}; !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	if n := e.v.Stats.Sockets.Load(); n != 0 {
		t.Fatalf("Stats.Sockets = %d after close", n)
	}
	if len(e.v.Sockets()) != 0 {
		t.Fatal("closed socket still listed")
	}
}

func TestHoldClose(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	a.Hold()
	a.Hold()
	if a.Holders() != 3 {
		t.Fatalf("Holders = %d, want 3", a.Holders())
	}
	for i := 0; i < 2; i++ {
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		// Still open: the connection stands and data flows.
		if a.State()&socket.SS_ISCONNECTED == 0 {
			t.Fatalf("after %d of 3 closes: not connected any more", i+1)
		}
		if _, err := send(a, []byte("x"), 0); err != nil {
			t.Fatalf("send on a still-held socket: %v", err)
		}
	}
	if got := drain(t, b); got != 2 {
		t.Fatalf("peer got %d bytes, want 2", got)
	}
	if n := e.v.Stats.Sockets.Load(); n != 2 {
		t.Fatalf("Stats.Sockets = %d, want 2", n)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n := e.v.Stats.Sockets.Load(); n != 1 {
		t.Fatalf("Stats.Sockets = %d after the last close, want 1", n)
	}
	got, _, err := recv(b, 10, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("peer after last close: %q, %v; want EOF", got, err)
	}
}

func TestDtorRunsBeforeDetach(t *testing.T) {
	e := newEnv(t)
	so := e.test(socket.SOCK_STREAM)
	var ran int
	so.DtorSet(func(s *socket.Socket) {
		if s != so {
			t.Errorf("destructor got another socket")
		}
		ran++
		e.tp.event(s, "dtor")
	})
	so.Close()
	if ran != 1 {
		t.Fatalf("destructor ran %d times", ran)
	}
	if got, want := e.tp.events(so), []string{"attach", "close", "dtor", "detach"}; !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}

	// The destructor also runs for a socket aborted from a listen queue,
	// and a later DtorSet replaces an earlier one.
	l := e.tlistener("dtor", 5)
	c := e.test(socket.SOCK_STREAM)
	if err := c.Connect(taddr("dtor")); err != nil {
		t.Fatal(err)
	}
	child := e.tp.lastChild()
	child.DtorSet(func(s *socket.Socket) { e.tp.event(s, "first") })
	child.DtorSet(func(s *socket.Socket) { e.tp.event(s, "dtor") })
	l.Close()
	if got, want := e.tp.events(child), []string{"attach", "abort", "dtor", "detach"}; !slices.Equal(got, want) {
		t.Fatalf("child events = %v, want %v", got, want)
	}
}

func TestListenerCloseAbortsQueuedConnections(t *testing.T) {
	e := newEnv(t)
	e.tp.set(func(tp *tproto) { tp.connstatus = 0 }) // children stay incomplete
	l := e.tlistener("l", 5)
	var clients []*socket.Socket
	for i := 0; i < 3; i++ {
		c := e.test(socket.SOCK_STREAM)
		if err := c.Connect(taddr("l")); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	incomplete := slices.Clone(e.tp.children)
	// And two complete ones.
	e.tp.set(func(tp *tproto) { tp.connstatus = socket.SS_ISCONNECTED })
	for i := 0; i < 2; i++ {
		c := e.test(socket.SOCK_STREAM)
		if err := c.Connect(taddr("l")); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	if qlen, incqlen, _ := l.ListenQueue(); qlen != 2 || incqlen != 3 {
		t.Fatalf("queue = %d complete, %d incomplete; want 2, 3", qlen, incqlen)
	}
	if n := e.v.Stats.Sockets.Load(); n != 1+5+5 {
		t.Fatalf("Stats.Sockets = %d, want 11", n)
	}
	l.Close()
	for _, c := range e.tp.children {
		if got, want := e.tp.events(c), []string{"attach", "abort", "detach"}; !slices.Equal(got, want) {
			t.Errorf("queued child events = %v, want %v", got, want)
		}
	}
	if len(incomplete) != 3 {
		t.Fatal("test bug")
	}
	if n := e.v.Stats.Sockets.Load(); n != 5 {
		t.Fatalf("Stats.Sockets = %d after the listener closed, want 5 (the clients)", n)
	}
	// The clients learn that their peer is gone.
	for _, c := range clients {
		if c.State()&socket.SS_ISCONNECTED != 0 {
			t.Errorf("client still connected after its unaccepted peer was aborted")
		}
		if c.Error() != syscall.ECONNRESET {
			t.Errorf("client so_error = %v, want ECONNRESET", c.Error())
		}
	}
}

func TestIncompleteQueueDropsOldest(t *testing.T) {
	e := newEnv(t)
	e.tp.set(func(tp *tproto) { tp.connstatus = 0 })
	l := e.tlistener("l", 1)
	for i := 0; i < 4; i++ {
		c := e.test(socket.SOCK_STREAM)
		if err := c.Connect(taddr("l")); err != nil {
			t.Fatalf("connect %d: %v", i, err)
		}
	}
	// While incqlen > qlimit (1) the oldest incomplete is aborted: the
	// queue holds 2 after each enqueue, so the 3rd and 4th drop one each.
	if _, incqlen, _ := l.ListenQueue(); incqlen != 2 {
		t.Fatalf("incqlen = %d, want 2", incqlen)
	}
	if n := e.v.Stats.IncompDropped.Load(); n != 2 {
		t.Fatalf("IncompDropped = %d, want 2", n)
	}
	ch := e.tp.children
	for i, c := range ch {
		aborted := slices.Contains(e.tp.events(c), "abort")
		if aborted != (i < 2) {
			t.Errorf("child %d aborted = %v", i, aborted)
		}
	}
}

func TestAbortFromListenQueueWithLocal(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	c := e.local(socket.SOCK_STREAM)
	if err := c.Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
		t.Fatal(err)
	}
	if _, err := send(c, []byte("lost"), 0); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// The unaccepted server side was aborted: the client reads EOF or
	// ECONNRESET, and sends fail.
	if _, _, err := recv(c, 10, socket.MSG_DONTWAIT); err != nil && err != syscall.ECONNRESET {
		t.Fatalf("recv on client of aborted connection: %v", err)
	}
	if _, err := send(c, []byte("x"), 0); err == nil {
		t.Fatal("send to an aborted peer succeeded")
	}
	if n := e.v.Stats.Sockets.Load(); n != 1 {
		t.Fatalf("Stats.Sockets = %d, want 1", n)
	}
}

func TestLingerOnClose(t *testing.T) {
	linger := func(t *testing.T, so *socket.Socket, on, secs int32) {
		t.Helper()
		l := socket.Linger{Onoff: on, Linger: secs}
		if err := so.SetOpt(&socket.Sockopt{Level: socket.SOL_SOCKET, Name: socket.SO_LINGER,
			Val: l.Bytes(), Valsize: socket.LingerLen}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("times out", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t)
			e.tp.set(func(tp *tproto) { tp.slowDisconnect = true })
			a, _ := e.tpair(socket.SOCK_STREAM)
			linger(t, a, 1, 5)
			start := time.Now()
			err := a.Close()
			wantErr(t, "close with SO_LINGER and no disconnect", err, syscall.EWOULDBLOCK)
			if d := time.Since(start); d != 5*time.Second {
				t.Fatalf("lingered %v, want 5s", d)
			}
			// Released regardless.
			if got := e.tp.events(a); !slices.Contains(got, "detach") {
				t.Fatalf("socket not freed after linger timeout: %v", got)
			}
		})
	})
	t.Run("disconnect completes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t)
			e.tp.set(func(tp *tproto) { tp.slowDisconnect = true })
			a, _ := e.tpair(socket.SOCK_STREAM)
			linger(t, a, 1, 60)
			go func() {
				time.Sleep(2 * time.Second)
				a.Isdisconnected()
			}()
			start := time.Now()
			if err := a.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			if d := time.Since(start); d != 2*time.Second {
				t.Fatalf("lingered %v, want 2s (until the disconnection)", d)
			}
		})
	})
	t.Run("no wait", func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			on, secs    int32
			nonblocking bool
		}{
			{"linger off", 0, 5, false},
			{"linger 0 seconds", 1, 0, false},
			{"non-blocking and disconnecting", 1, 5, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					e := newEnv(t)
					e.tp.set(func(tp *tproto) { tp.slowDisconnect = true })
					a, _ := e.tpair(socket.SOCK_STREAM)
					linger(t, a, tc.on, tc.secs)
					a.SetNonblocking(tc.nonblocking)
					start := time.Now()
					if err := a.Close(); err != nil {
						t.Fatalf("close: %v", err)
					}
					if d := time.Since(start); d != 0 {
						t.Fatalf("close waited %v", d)
					}
				})
			})
		}
	})
}

func TestVnetCloseFreesEverySocket(t *testing.T) {
	v := socket.NewVnet()
	if _, err := local.Attach(v, local.DefaultTunables()); err != nil {
		t.Fatal(err)
	}
	tp := newTproto(v)
	if err := v.AddDomain(tp.dom); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, v: v, tp: tp}
	e.pair(socket.SOCK_STREAM)
	e.pair(socket.SOCK_DGRAM)
	e.pair(socket.SOCK_SEQPACKET)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	for i := 0; i < 3; i++ {
		c := e.local(socket.SOCK_STREAM)
		if err := c.Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
			t.Fatal(err)
		}
	}
	held := e.local(socket.SOCK_STREAM)
	held.Hold()
	held.Hold()
	tl := e.tlistener("t", 5)
	tp.set(func(tp *tproto) { tp.connstatus = 0 })
	c := e.test(socket.SOCK_STREAM)
	if err := c.Connect(taddr("t")); err != nil {
		t.Fatal(err)
	}
	// A socket with a blocked reader.
	ra, _ := e.pair(socket.SOCK_STREAM)
	readerDone := make(chan error, 1)
	go func() {
		_, _, err := recv(ra, 10, 0)
		readerDone <- err
	}()
	_ = l
	_ = tl
	if n := v.Stats.Sockets.Load(); n < 15 {
		t.Fatalf("Stats.Sockets = %d before close", n)
	}
	closed := make(chan struct{})
	go func() {
		v.Close()
		close(closed)
	}()
	within(t, closed, 10*time.Second, "Vnet.Close")
	if n := v.Stats.Sockets.Load(); n != 0 {
		t.Errorf("Stats.Sockets = %d after Vnet.Close, want 0", n)
		for _, x := range v.Xsockets() {
			t.Logf("left: %+v", x)
		}
	}
	if left := v.Sockets(); len(left) != 0 {
		t.Errorf("%d sockets still listed", len(left))
	}
	within(t, readerDone, 10*time.Second, "blocked reader after Vnet.Close")
	if _, err := v.Create(socket.PF_LOCAL, socket.SOCK_STREAM, 0, testCred); err == nil {
		t.Error("socreate on a closed Vnet succeeded")
	}
	// Every test-protocol socket was detached exactly once.
	attach, detach := 0, 0
	tp.mu.Lock()
	for _, ev := range tp.log {
		switch ev {
		case "attach":
			attach++
		case "detach":
			detach++
		}
	}
	tp.mu.Unlock()
	if attach != detach {
		t.Errorf("test protocol: %d attaches, %d detaches", attach, detach)
	}
}
