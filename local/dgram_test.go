package local_test

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/socket"
)

// sendto a bound name: the receiver learns the sender's name, or the
// unnamed address when the sender is unbound; the datagrams arrive whole
// and in order.
func TestDgramSendto(t *testing.T) {
	e := newEnv(t)
	r := e.bound(socket.SOCK_DGRAM, "/dg/r")
	named := e.bound(socket.SOCK_DGRAM, "/dg/s")
	anon := e.socket(socket.SOCK_DGRAM)
	for _, tc := range []struct {
		from *socket.Socket
		data string
		want string
	}{{named, "from named", "/dg/s"}, {anon, "from anon", ""}, {named, "again", "/dg/s"}} {
		if n, err := sendto(tc.from, []byte(tc.data), un("/dg/r"), nil, 0); err != nil || n != len(tc.data) {
			t.Fatalf("sendto = %d, %v", n, err)
		}
	}
	for _, want := range []struct{ data, from string }{{"from named", "/dg/s"}, {"from anon", ""}, {"again", "/dg/s"}} {
		m, err := recvmsg(r, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.data) != want.data || unPath(t, m.from) != want.from {
			t.Fatalf("got %q from %q, want %q from %q", m.data, unPath(t, m.from), want.data, want.from)
		}
		if m.flags&socket.MSG_TRUNC != 0 {
			t.Fatalf("MSG_TRUNC set on a datagram that fit")
		}
	}
	// Errors of the implied connect.
	if _, err := sendto(named, []byte("x"), un("/dg/none"), nil, 0); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("sendto a missing name = %v, want ENOENT", err)
	}
	e.listener(socket.SOCK_STREAM, "/dg/stream", 1)
	if _, err := sendto(named, []byte("x"), un("/dg/stream"), nil, 0); !errors.Is(err, syscall.EPROTOTYPE) {
		t.Errorf("sendto a stream socket = %v, want EPROTOTYPE", err)
	}
	if _, err := sendto(named, []byte("x"), inetAddr{}, nil, 0); !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("sendto an AF_INET address = %v, want EAFNOSUPPORT", err)
	}
}

// Connected datagram sockets: send without an address reaches the target;
// sendto with one is EISCONN; a socket not connected and given no address
// is EDESTADDRREQ; connecting to a non-dgram socket is EPROTOTYPE.
func TestDgramConnected(t *testing.T) {
	e := newEnv(t)
	r := e.bound(socket.SOCK_DGRAM, "/c/r")
	s := e.bound(socket.SOCK_DGRAM, "/c/s")
	if _, err := send(s, []byte("x"), 0); !errors.Is(err, syscall.EDESTADDRREQ) {
		t.Fatalf("send unconnected without address = %v, want EDESTADDRREQ", err)
	}
	wantErr(t, "connect", s.Connect(un("/c/r")), nil)
	if n, err := send(s, []byte("hello"), 0); err != nil || n != 5 {
		t.Fatalf("connected send = %d, %v", n, err)
	}
	m, err := recvmsg(r, 100, 0)
	if err != nil || string(m.data) != "hello" || unPath(t, m.from) != "/c/s" {
		t.Fatalf("recv = %q from %v, %v", m.data, m.from, err)
	}
	if _, err := sendto(s, []byte("x"), un("/c/r"), nil, 0); !errors.Is(err, syscall.EISCONN) {
		t.Fatalf("sendto on a connected dgram socket = %v, want EISCONN", err)
	}
	expectNothing(t, r)
	e.listener(socket.SOCK_SEQPACKET, "/c/sp", 1)
	wantErr(t, "connect dgram to seqpacket", e.socket(socket.SOCK_DGRAM).Connect(un("/c/sp")), syscall.EPROTOTYPE)
	wantErr(t, "connect to nowhere", e.socket(socket.SOCK_DGRAM).Connect(un("/c/none")), syscall.ENOENT)
	// Connected only one way: r is not connected to s.
	if _, err := send(r, []byte("x"), 0); !errors.Is(err, syscall.EDESTADDRREQ) {
		t.Fatalf("send from the target = %v, want EDESTADDRREQ", err)
	}
	// A connected socket still receives from others.
	o := e.socket(socket.SOCK_DGRAM)
	sendto(o, []byte("other"), un("/c/s"), nil, 0)
	if d, _, err := recv(s, 100, 0); err != nil || string(d) != "other" {
		t.Fatalf("connected socket receiving from another = %q, %v", d, err)
	}
}

// tools/regression/sockets/reconnect: a datagram socket may connect again,
// to another target, and then sends go there; its own receive side is not
// shut by the change.
func TestDgramReconnect(t *testing.T) {
	e := newEnv(t)
	r1 := e.bound(socket.SOCK_DGRAM, "/rc/1")
	r2 := e.bound(socket.SOCK_DGRAM, "/rc/2")
	s := e.bound(socket.SOCK_DGRAM, "/rc/s")
	wantErr(t, "connect 1", s.Connect(un("/rc/1")), nil)
	send(s, []byte("to1"), 0)
	wantErr(t, "connect 2", s.Connect(un("/rc/2")), nil)
	if _, err := send(s, []byte("to2"), 0); err != nil {
		t.Fatalf("send after reconnect: %v", err)
	}
	if d, _, err := recv(r1, 10, socket.MSG_DONTWAIT); err != nil || string(d) != "to1" {
		t.Fatalf("r1 got %q, %v", d, err)
	}
	if d, _, err := recv(r2, 10, socket.MSG_DONTWAIT); err != nil || string(d) != "to2" {
		t.Fatalf("r2 got %q, %v", d, err)
	}
	expectNothing(t, r1)
	if peerName(t, s) != "/rc/2" {
		t.Fatalf("getpeername after reconnect = %q", peerName(t, s))
	}
	sendto(r1, []byte("back"), un("/rc/s"), nil, 0)
	if d, _, err := recv(s, 10, socket.MSG_DONTWAIT); err != nil || string(d) != "back" {
		t.Fatalf("reconnected socket receiving = %q, %v", d, err)
	}
}

// EMSGSIZE past net.local.dgram.maxdgram; exactly maxdgram is fine.
func TestDgramMaxdgram(t *testing.T) {
	e := newEnv(t)
	max := local.DefaultTunables().DgramMaxdgram
	if got := e.d.Tunables().DgramMaxdgram; got != max {
		t.Fatalf("tunable %d, want default %d", got, max)
	}
	r := e.bound(socket.SOCK_DGRAM, "/m/r")
	s := e.socket(socket.SOCK_DGRAM)
	if _, err := sendto(s, make([]byte, max+1), un("/m/r"), nil, 0); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("sendto of maxdgram+1 = %v, want EMSGSIZE", err)
	}
	expectNothing(t, r)
	if n, err := sendto(s, make([]byte, max), un("/m/r"), nil, 0); err != nil || n != max {
		t.Fatalf("sendto of maxdgram = %d, %v", n, err)
	}
	if m, err := recvmsg(r, max+10, 0); err != nil || m.n != max {
		t.Fatalf("recv = %d, %v", m.n, err)
	}
	// A smaller tunable is obeyed.
	v := socket.NewVnet()
	defer v.Close()
	tun := local.DefaultTunables()
	tun.DgramMaxdgram = 100
	d, err := local.Attach(v, tun)
	if err != nil {
		t.Fatal(err)
	}
	_ = d
	a, _ := v.Create(socket.PF_LOCAL, socket.SOCK_DGRAM, 0, socket.UserCred(1, 1))
	b, _ := v.Create(socket.PF_LOCAL, socket.SOCK_DGRAM, 0, socket.UserCred(1, 1))
	socket.Connect2(a, b)
	if _, err := send(a, make([]byte, 101), 0); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("101 bytes with maxdgram 100 = %v, want EMSGSIZE", err)
	}
	if _, err := send(a, make([]byte, 100), 0); err != nil {
		t.Fatalf("100 bytes with maxdgram 100: %v", err)
	}
}

// A full receiver refuses with ENOBUFS at once, blocking socket or not,
// and counts the drop; after a read there is room again.
func TestDgramReceiverFull(t *testing.T) {
	for _, nb := range []bool{false, true} {
		t.Run(fmt.Sprintf("nonblocking=%v", nb), func(t *testing.T) {
			e := newEnv(t)
			r := e.bound(socket.SOCK_DGRAM, "/full")
			s := e.bound(socket.SOCK_DGRAM, "/sender")
			s.SetNonblocking(nb)
			payload := make([]byte, 1000)
			sent := 0
			var err error
			ok := finishes(5*time.Second, func() {
				for i := 0; i < 100; i++ {
					payload[0] = byte(i)
					if _, err = sendto(s, payload, un("/full"), nil, 0); err != nil {
						return
					}
					sent++
				}
			})
			if !ok {
				t.Fatal("send to a full receiver blocked")
			}
			if !errors.Is(err, syscall.ENOBUFS) {
				t.Fatalf("after %d datagrams: %v, want ENOBUFS", sent, err)
			}
			if sent == 0 || sent*1000 > r.Rcv.Hiwat() {
				t.Fatalf("%d datagrams of 1000 bytes fit a %d-byte buffer", sent, r.Rcv.Hiwat())
			}
			if e.d.Stats.DgramDrops.Load() == 0 {
				t.Fatal("drop not counted")
			}
			// Connected sends too.
			wantErr(t, "connect", s.Connect(un("/full")), nil)
			if _, err := send(s, payload, 0); !errors.Is(err, syscall.ENOBUFS) {
				t.Fatalf("connected send to a full receiver = %v, want ENOBUFS", err)
			}
			if d, _, err := recv(r, 2000, 0); err != nil || len(d) != 1000 || d[0] != 0 {
				t.Fatalf("first datagram: %d bytes, %v", len(d), err)
			}
			if _, err := send(s, payload, 0); err != nil {
				t.Fatalf("send after a read made room: %v", err)
			}
			for i := 1; i < sent; i++ {
				if d, _, err := recv(r, 2000, 0); err != nil || d[0] != byte(i) {
					t.Fatalf("datagram %d out of order or lost: %v", i, err)
				}
			}
		})
	}
}

// socket_msg_trunc: recv with MSG_TRUNC returns the datagram's real length
// (MSG_PEEK with an empty buffer gives its size without consuming it);
// without MSG_TRUNC the copied length; MSG_TRUNC is reported in the flags,
// and the rest of a truncated datagram is gone.
func TestDgramMsgTrunc(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_DGRAM)
	for _, n := range []int{100, 7, 0} {
		msg := bytes.Repeat([]byte{'d'}, n)
		send(a, msg, 0)
		m, err := recvmsg(b, 0, socket.MSG_TRUNC|socket.MSG_PEEK)
		if err != nil || m.n != n {
			t.Fatalf("peek size of %d-byte datagram = %d, %v", n, m.n, err)
		}
		if n > 0 && m.flags&socket.MSG_TRUNC == 0 {
			t.Fatalf("peek with an empty buffer: MSG_TRUNC not set")
		}
		m, err = recvmsg(b, 0, socket.MSG_TRUNC|socket.MSG_PEEK)
		if err != nil || m.n != n {
			t.Fatalf("second peek = %d, %v", m.n, err)
		}
		m, err = recvmsg(b, 3, socket.MSG_TRUNC)
		if err != nil || m.n != n || !bytes.Equal(m.data, msg[:min(3, n)]) {
			t.Fatalf("recv(3, MSG_TRUNC) of %d = %d %q, %v", n, m.n, m.data, err)
		}
		if (m.flags&socket.MSG_TRUNC != 0) != (n > 3) {
			t.Fatalf("MSG_TRUNC flag %v for %d bytes into 3", m.flags&socket.MSG_TRUNC != 0, n)
		}
	}
	// Without MSG_TRUNC: the copied length; the rest is dropped.
	send(a, []byte("0123456789"), 0)
	send(a, []byte("next"), 0)
	d, f, err := recv(b, 4, 0)
	if err != nil || string(d) != "0123" || f&socket.MSG_TRUNC == 0 {
		t.Fatalf("recv(4) = %q %#x, %v; want 0123 with MSG_TRUNC", d, f, err)
	}
	d, f, err = recv(b, 100, 0)
	if err != nil || string(d) != "next" || f&socket.MSG_TRUNC != 0 {
		t.Fatalf("recv after truncation = %q %#x, %v", d, f, err)
	}
}

// Zero-length datagrams are delivered as datagrams (recv returns 0 with
// the sender's address, not EWOULDBLOCK).
func TestDgramZeroLength(t *testing.T) {
	e := newEnv(t)
	r := e.bound(socket.SOCK_DGRAM, "/z/r")
	s := e.bound(socket.SOCK_DGRAM, "/z/s")
	for i := 0; i < 2; i++ {
		if n, err := sendto(s, nil, un("/z/r"), nil, 0); err != nil || n != 0 {
			t.Fatalf("send(0) = %d, %v", n, err)
		}
	}
	for i := 0; i < 2; i++ {
		m, err := recvmsg(r, 10, socket.MSG_DONTWAIT)
		if err != nil || m.n != 0 || unPath(t, m.from) != "/z/s" {
			t.Fatalf("zero-length datagram %d: %d bytes from %v, %v", i, m.n, m.from, err)
		}
	}
	expectNothing(t, r)
}

// shutdown_dgram: shutdown on an unconnected datagram socket returns
// ENOTCONN but is done: a receive blocked on it returns 0, later receives
// return 0, and after SHUT_WR sends are EPIPE.
func TestDgramShutdownUnconnected(t *testing.T) {
	e := newEnv(t)
	r := e.bound(socket.SOCK_DGRAM, "/sd")
	res := make(chan error, 1)
	go func() {
		m, err := recvmsg(r, 100, 0)
		if err == nil && m.n != 0 {
			err = errors.New("got data")
		}
		res <- err
	}()
	time.Sleep(10 * time.Millisecond)
	wantErr(t, "shutdown(SHUT_RD)", r.Shutdown(socket.SHUT_RD), syscall.ENOTCONN)
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("blocked receive after shutdown: %v, want 0 bytes", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown(SHUT_RD) did not wake the blocked receive")
	}
	if m, err := recvmsg(r, 100, 0); err != nil || m.n != 0 {
		t.Fatalf("receive after shutdown = %d, %v; want 0", m.n, err)
	}
	// A sender to it is refused (the receiver can receive no more).
	if _, err := sendto(e.socket(socket.SOCK_DGRAM), []byte("x"), un("/sd"), nil, 0); !errors.Is(err, syscall.ENOBUFS) {
		t.Fatalf("send to a receiver shut for reading = %v, want ENOBUFS", err)
	}
	wantErr(t, "shutdown(SHUT_WR)", r.Shutdown(socket.SHUT_WR), syscall.ENOTCONN)
	if _, err := sendto(r, []byte("x"), un("/sd"), nil, 0); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("send after SHUT_WR = %v, want EPIPE", err)
	}
}

// The connected target closing: unp_drop sets so_error = ECONNRESET, which
// the next send returns (and consumes); the socket is then unconnected
// (EDESTADDRREQ) but neither shut for sending nor for receiving
// (unp_disconnect only clears SS_ISCONNECTED for datagram sockets).
func TestDgramTargetClosed(t *testing.T) {
	e := newEnv(t)
	r := e.bound(socket.SOCK_DGRAM, "/tc/r")
	s := e.bound(socket.SOCK_DGRAM, "/tc/s")
	wantErr(t, "connect", s.Connect(un("/tc/r")), nil)
	r.Close()
	if _, err := send(s, []byte("x"), 0); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("send after the target closed = %v, want ECONNRESET", err)
	}
	if _, err := send(s, []byte("x"), 0); !errors.Is(err, syscall.EDESTADDRREQ) {
		t.Fatalf("second send = %v, want EDESTADDRREQ (no longer connected)", err)
	}
	if s.State()&socket.SS_ISCONNECTED != 0 {
		t.Fatalf("still SS_ISCONNECTED")
	}
	// Still usable both ways.
	r2 := e.bound(socket.SOCK_DGRAM, "/tc/r2")
	if _, err := sendto(s, []byte("on"), un("/tc/r2"), nil, 0); err != nil {
		t.Fatalf("sendto after the drop: %v", err)
	}
	if d, _, err := recv(r2, 10, socket.MSG_DONTWAIT); err != nil || string(d) != "on" {
		t.Fatalf("recv = %q, %v", d, err)
	}
	sendto(r2, []byte("in"), un("/tc/s"), nil, 0)
	if d, _, err := recv(s, 10, socket.MSG_DONTWAIT); err != nil || string(d) != "in" {
		t.Fatalf("dropped socket receiving = %q, %v", d, err)
	}
	wantErr(t, "reconnect", s.Connect(un("/tc/r2")), nil)
	if _, err := send(s, []byte("re"), 0); err != nil {
		t.Fatalf("send after reconnect: %v", err)
	}
}

// A socketpair end closing is the same: ECONNRESET once.
func TestDgramPairPeerClosed(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_DGRAM)
	b.Close()
	if _, err := send(a, []byte("x"), 0); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("send to a closed pair end = %v, want ECONNRESET", err)
	}
	if v := a.Error(); v != 0 {
		t.Fatalf("so_error not consumed: %v", v)
	}
}

// A datagram socket may connect to itself: what it sends it receives, and
// getpeername is its own name.
func TestDgramSelfConnect(t *testing.T) {
	e := newEnv(t)
	s := e.bound(socket.SOCK_DGRAM, "/self")
	wantErr(t, "connect to self", s.Connect(un("/self")), nil)
	if got := peerName(t, s); got != "/self" {
		t.Fatalf("getpeername = %q, want /self", got)
	}
	if _, err := send(s, []byte("me"), 0); err != nil {
		t.Fatal(err)
	}
	m, err := recvmsg(s, 10, socket.MSG_DONTWAIT)
	if err != nil || string(m.data) != "me" || unPath(t, m.from) != "/self" {
		t.Fatalf("recv = %q from %v, %v", m.data, m.from, err)
	}
	s.Close()
	if got := e.counts(); got.vnet != 0 || got.local != 0 {
		t.Fatalf("self-connected socket leaked: %+v", got)
	}
}

// Receive side of datagram sockets: EWOULDBLOCK when empty and
// non-blocking; MSG_PEEK returns the same datagram twice.
func TestDgramReceive(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_DGRAM)
	expectNothing(t, b)
	send(a, []byte("p"), 0)
	for i := 0; i < 2; i++ {
		if d, _, err := recv(b, 10, socket.MSG_PEEK); err != nil || string(d) != "p" {
			t.Fatalf("peek %d = %q, %v", i, d, err)
		}
	}
	if d, _, err := recv(b, 10, 0); err != nil || string(d) != "p" {
		t.Fatalf("recv = %q, %v", d, err)
	}
	expectNothing(t, b)
	if _, _, err := recv(b, 10, socket.MSG_OOB); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("recv(MSG_OOB) = %v, want EOPNOTSUPP", err)
	}
	if _, err := send(a, []byte("x"), socket.MSG_OOB); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("send(MSG_OOB) = %v, want EOPNOTSUPP", err)
	}
}

// Concurrent senders to one receiver (run under -race): every datagram
// arrives exactly once and each sender's datagrams keep their order. A full
// receiver is ENOBUFS; the senders retry.
func TestDgramConcurrentSenders(t *testing.T) {
	e := newEnv(t)
	r := e.bound(socket.SOCK_DGRAM, "/many")
	const senders, each = 8, 300
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			s := e.bound(socket.SOCK_DGRAM, fmt.Sprintf("/many/%d", id))
			defer s.Close()
			if id%2 == 1 {
				if err := s.Connect(un("/many")); err != nil {
					errs <- err
					return
				}
			}
			for seq := 0; seq < each; seq++ {
				b := []byte(fmt.Sprintf("%d:%d", id, seq))
				for {
					var err error
					if id%2 == 1 {
						_, err = send(s, b, 0)
					} else {
						_, err = sendto(s, b, un("/many"), nil, 0)
					}
					if err == nil {
						break
					}
					if !errors.Is(err, syscall.ENOBUFS) {
						errs <- err
						return
					}
					runtime.Gosched()
				}
			}
		}(i)
	}
	next := make([]int, senders)
	for got := 0; got < senders*each; got++ {
		m, err := recvmsg(r, 64, 0)
		if err != nil {
			t.Fatal(err)
		}
		var id, seq int
		if _, err := fmt.Sscanf(string(m.data), "%d:%d", &id, &seq); err != nil {
			t.Fatalf("garbled datagram %q", m.data)
		}
		if want := fmt.Sprintf("/many/%d", id); unPath(t, m.from) != want {
			t.Fatalf("datagram %q from %q, want %q", m.data, unPath(t, m.from), want)
		}
		if seq != next[id] {
			t.Fatalf("sender %d: got seq %d, want %d", id, seq, next[id])
		}
		next[id]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	expectNothing(t, r)
}
